"""Views and in-place changes, as PyTorch: a view read after its base (or a sibling view) was
changed in place takes the base's new history; writes through a view, also one reshaped in
place (unsqueeze_, t_), reach the base's history; a base reshaped in place after a view was
taken refuses writes through that view instead of tracing them wrongly."""

import pytest

import tinygrad_rnn as tg

torch = pytest.importorskip("torch")


def _weights(lib, n=6):
    w = lib.arange(float(n), dtype=lib.float64).requires_grad_()
    return w, w * 1


def sibling_views(lib):
    w, a = _weights(lib)
    v1, v2 = a[0:3], a[2:5]
    v1.mul_(2)
    (v2 * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
    return w.grad.tolist()


def base_gains_a_history(lib):
    w = lib.tensor([2.0], dtype=lib.float64, requires_grad=True)
    a = lib.ones(4, dtype=lib.float64)
    v = a[1:3]
    a.mul_(w)
    (v * 5).sum().backward()
    return w.grad.tolist(), v.requires_grad


def view_of_a_view(lib):
    w, a = _weights(lib, 8)
    u = a.view(2, 4)[1]
    a.add_(w)
    (u**2).sum().backward()
    return w.grad.tolist()


def changed_under_no_grad(lib):
    w, a = _weights(lib, 4)
    v = a[1:3]
    with lib.no_grad():
        a.mul_(10)
    (v * 1).sum().backward()
    return w.grad.tolist(), v.tolist()


def write_through_a_view(lib):
    w = lib.arange(4.0, dtype=lib.float64).requires_grad_()
    a = w * 2
    v = a[:2]
    v.add_(w[:2] * 3)
    (a.sum() + (v * v).sum()).backward()
    return w.grad.tolist()


def base_changed_twice(lib):
    w, a = _weights(lib, 4)
    v = a[1:]
    a.mul_(2)
    first = v.sum()
    a.mul_(3)
    ((v * v).sum() + first).backward()
    return w.grad.tolist()


def unsqueezed_view_written(lib):
    w, a = _weights(lib)
    v = a[1:4]
    v.unsqueeze_(0)
    v.mul_(2)
    a.sum().backward()
    return w.grad.tolist()


def transposed_view_written(lib):
    w, a = _weights(lib)
    v = a.view(2, 3)
    v.t_()
    v.mul_(2)
    (a * lib.arange(6.0, dtype=lib.float64)).sum().backward()
    return w.grad.tolist()


def unsqueezed_view_read_after_base_change(lib):
    w, a = _weights(lib)
    v = a[1:4]
    v.unsqueeze_(0)
    a.mul_(3)
    (v * lib.tensor([[1.0, 2.0, 3.0]], dtype=lib.float64)).sum().backward()
    return w.grad.tolist()


def view_of_a_leaf_reshaped(lib):
    v = lib.arange(6.0, requires_grad=True)[1:3]
    v.unsqueeze_(0)


@pytest.mark.parametrize(
    "program",
    [
        sibling_views,
        base_gains_a_history,
        view_of_a_view,
        changed_under_no_grad,
        write_through_a_view,
        base_changed_twice,
        unsqueezed_view_written,
        transposed_view_written,
        unsqueezed_view_read_after_base_change,
    ],
)
def test_view_histories_as_pytorch(program):
    assert program(tg) == program(torch)


def test_in_place_reshapes_refuse_what_they_cannot_trace():
    for lib in (tg, torch):
        with pytest.raises(RuntimeError, match="view of a leaf Variable"):
            view_of_a_leaf_reshaped(lib)
    _, a = _weights(tg)
    v = a[1:4]
    a.unsqueeze_(0)  # PyTorch traces the write below through its strides; we refuse it
    with pytest.raises(RuntimeError, match="changed its shape in place"):
        v.mul_(2)


def backward_from_a_stale_view(lib):
    w, a = _weights(lib, 4)
    v = a[1:3]
    a.mul_(3)
    assert v.grad_fn is not None
    v.backward(lib.ones(2, dtype=lib.float64))
    return w.grad.tolist()


def test_backward_from_a_view_whose_base_changed_as_pytorch():
    assert backward_from_a_stale_view(tg) == backward_from_a_stale_view(torch)
