"""In-place operations and autograd's bookkeeping, as PyTorch.

A value a backward formula saved and that was then changed in place raises "modified by an
inplace operation", and only then; a leaf that requires grad refuses in-place changes outside
no_grad (and takes them inside); `.grad` accumulates into the same tensor; `.data` is a
history-less tensor sharing storage.
"""

import numpy as np
import pytest
from diff_harness import (
    cases,
    check,
    check_raises,
    tensor,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

X = np.array([[0.5, -1.5, 2.0], [-0.25, 3.0, -2.0]])
OTHER = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 4.0]])
ROW = np.array([1.0, -1.0, 0.5])
MASK = np.array([[True, False, True], [False, False, True]])


def _iadd(y, t):
    y += t
    return y


def _imul(y, t):
    y *= t
    return y


# ---------------------------------------------------------------- the version counter


def saved_then_modified(forward, modify):
    """y = x * 2 (a non-leaf); out = forward(y); modify(y) in place; backward from out."""

    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        y = x * 2
        out = forward(lib, y)
        modify(lib, y)
        out.sum().backward()
        return {"x.grad": x.grad, "y": y}

    return case


MODIFIED_AFTER_SAVE = {  # PyTorch raises "modified by an inplace operation"
    "y*y then y.add_": (lambda lib, y: y * y, lambda lib, y: y.add_(1)),
    "y**2 then y[0]=0": (lambda lib, y: y**2, lambda lib, y: y.__setitem__(0, 0.0)),
    "exp(y) then out.add_": (lambda lib, y: y.exp(), None),
    "sigmoid(y) then out.mul_": (lambda lib, y: y.sigmoid(), None),
    "relu(y) then out.add_": (lambda lib, y: y.relu(), None),
    "tanh(y) then out.zero_": (lambda lib, y: y.tanh(), None),
    "y @ W (W requires grad) then y.zero_": (
        lambda lib, y: y @ lib.ones(3, 2, dtype=y.dtype, requires_grad=True),
        lambda lib, y: y.zero_(),
    ),
    "y.sqrt then y.mul_": (lambda lib, y: y.abs().sqrt() * y, lambda lib, y: y.mul_(2)),
    "y.log then y += 1": (lambda lib, y: y.abs().log() * y, lambda lib, y: _iadd(y, 1)),
    "softmax then out.mul_": (lambda lib, y: y.softmax(-1), None),
    "y*y then y.copy_": (lambda lib, y: y * y, lambda lib, y: y.copy_(lib.ones_like(y))),
    "y*y then y.clamp_": (lambda lib, y: y * y, lambda lib, y: y.clamp_(0, 1)),
    "y*y then y.masked_fill_": (
        lambda lib, y: y * y,
        lambda lib, y: y.masked_fill_(lib.ones_like(y) > 0, 2.0),
    ),
    "y*y then y[0].add_ (a view)": (lambda lib, y: y * y, lambda lib, y: y[0].add_(1)),
}


def out_modified(forward):
    """forward's own output, which its backward needs, is changed in place."""

    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        out = forward(lib, x * 2)
        out.mul_(2)
        out.sum().backward()
        return x.grad

    return case


def inplace_error(case):
    """PyTorch's RuntimeError naming the in-place modification, as a value to compare."""

    def caught(lib):
        try:
            return case(lib)
        except RuntimeError as error:
            if "modified by an inplace operation" in str(error):
                return "RuntimeError: ... modified by an inplace operation ..."
            raise

    return caught


@pytest.mark.parametrize("case", cases(MODIFIED_AFTER_SAVE))
def test_modifying_a_saved_value_raises(case):
    forward, modify = case
    program = out_modified(forward) if modify is None else saved_then_modified(forward, modify)
    check(inplace_error(program))


NOT_SAVED = {  # PyTorch does not raise: nothing the backward needs was changed
    "y+1 then y.add_": (lambda lib, y: y + 1, lambda lib, y: y.add_(1)),
    "y.sum() then y.zero_": (lambda lib, y: y.sum(), lambda lib, y: y.zero_()),
    "tanh(y) then y.mul_ (tanh saves its output)": (
        lambda lib, y: y.tanh(),
        lambda lib, y: y.mul_(3),
    ),
    "exp(y) then y.add_ (exp saves its output)": (
        lambda lib, y: y.exp(),
        lambda lib, y: y.add_(1),
    ),
    "y*3 then y.fill_ (a constant factor)": (lambda lib, y: y * 3, lambda lib, y: y.fill_(0)),
    "y[0] then y[1].zero_": (lambda lib, y: y[0] * 1, lambda lib, y: y[1].zero_()),
    "y.reshape then y.add_": (lambda lib, y: y.reshape(-1) * 2, lambda lib, y: y.add_(1)),
    "-y then y.mul_": (lambda lib, y: -y, lambda lib, y: y.mul_(-1)),
    "y @ W (W constant) then y.zero_": (
        lambda lib, y: y @ lib.ones(3, 2, dtype=y.dtype),
        lambda lib, y: y.zero_(),
    ),
    "1/y then y.fill_ (reciprocal saves its output)": (
        lambda lib, y: 1 / y,
        lambda lib, y: y.fill_(1.0),
    ),
}


@pytest.mark.parametrize("case", cases(NOT_SAVED))
def test_modifying_an_unsaved_value_is_fine(case):
    check(saved_then_modified(*case))


# ---------------------------------------------------------------- leaves


LEAF_REFUSED = {
    "add_": lambda lib, w: w.add_(1),
    "sub_": lambda lib, w: w.sub_(1),
    "mul_": lambda lib, w: w.mul_(2),
    "div_": lambda lib, w: w.div_(2),
    "zero_": lambda lib, w: w.zero_(),
    "fill_": lambda lib, w: w.fill_(1),
    "clamp_": lambda lib, w: w.clamp_(0, 1),
    "copy_": lambda lib, w: w.copy_(lib.ones_like(w)),
    "masked_fill_": lambda lib, w: w.masked_fill_(w > 0, 0.0),
    "uniform_": lambda lib, w: w.uniform_(-1, 1),
    "normal_": lambda lib, w: w.normal_(),
    "w[0] = 1": lambda lib, w: w.__setitem__(0, 1.0),
    "w += 1": lambda lib, w: _iadd(w, 1),
    "w *= 2": lambda lib, w: _imul(w, 2),
    "w[0].add_ (a view of the leaf)": lambda lib, w: w[0].add_(1),
    "Parameter.add_": lambda lib, w: lib.nn.Parameter(lib.zeros(2)).add_(1),
}


@pytest.mark.parametrize("case", cases(LEAF_REFUSED))
def test_in_place_on_a_leaf_that_requires_grad_raises(case):
    check_raises(lambda lib: case(lib, tensor(lib, X, requires_grad=True)))


LEAF_UNDER_NO_GRAD = {
    name: fn for name, fn in LEAF_REFUSED.items() if name not in ("uniform_", "normal_")
}


@pytest.mark.parametrize("case", cases(LEAF_UNDER_NO_GRAD))
def test_in_place_on_a_leaf_under_no_grad(case):
    def run(lib):
        w = tensor(lib, X, requires_grad=True)
        with lib.no_grad():
            case(lib, w)
        (w * 3).sum().backward()
        return {
            "w": w,
            "requires_grad": w.requires_grad,
            "is_leaf": w.is_leaf,
            "grad_fn": w.grad_fn is None,
            "grad": w.grad,
        }

    check(run)


def test_random_fills_under_no_grad_keep_shape_dtype_and_range():
    def case(lib):
        w = lib.zeros(200, 3, requires_grad=True)
        with lib.no_grad():
            same = w.uniform_(-0.5, 0.5) is w
            inside = bool(((w >= -0.5) & (w <= 0.5)).all())
            spread = bool(w.abs().amax() > 0.3)
            normal_same = w.normal_(0.0, 2.0) is w
        return [same, inside, spread, normal_same, w.shape, w.dtype, w.requires_grad]

    check(case)


def test_sgd_step_written_by_hand():
    def case(lib):
        w = tensor(lib, X, requires_grad=True)
        alias = w
        for _ in range(2):
            loss = (w * w).sum()
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
            w.grad = None
        return {"same w": w is alias, "w": w, "grad": w.grad, "is_leaf": w.is_leaf}

    check(case)


# ---------------------------------------------------------------- .grad and .data


def test_grad_accumulates_into_the_same_tensor():
    def case(lib):
        w = tensor(lib, X, requires_grad=True)
        (w * 2).sum().backward()
        first = w.grad
        snapshot = first * 1
        (w * w).sum().backward()
        return {"same object": w.grad is first, "first now": first, "snapshot": snapshot}

    check(case)


def test_grad_of_a_leaf_is_not_shared_with_another():
    def case(lib):
        a = tensor(lib, ROW, requires_grad=True)
        b = tensor(lib, ROW, requires_grad=True)
        (a + b).sum().backward()
        a.grad.add_(1)
        return [a.grad, b.grad]

    check(case)


def test_zero_grad_keeps_or_drops_the_grad_tensor():
    def case(lib):
        layer = lib.nn.Linear(3, 2)
        layer(lib.ones(1, 3)).sum().backward()
        grad = layer.weight.grad
        layer.zero_grad(set_to_none=False)
        kept = [layer.weight.grad is grad, grad]
        layer.zero_grad()
        return kept + [layer.weight.grad]

    check(case)


def test_data_is_a_tensor_without_history_sharing_storage():
    def case(lib):
        p = tensor(lib, X, requires_grad=True)
        data = p.data
        data.add_(1)
        (p * p).sum().backward()
        p.data.add_(p.grad, alpha=-0.1)
        p.data.mul_(2)
        return {
            "is a tensor": isinstance(data, lib.Tensor),
            "requires_grad": data.requires_grad,
            "is_leaf": data.is_leaf,
            "p": p,
            "p still a leaf": p.is_leaf,
            "p.requires_grad": p.requires_grad,
        }

    check(case)


def test_data_assignment_replaces_the_values():
    def case(lib):
        p = lib.nn.Parameter(lib.zeros(2, 3))
        p.data = lib.ones(2, 3) * 3
        p.data -= 1
        q = lib.nn.Parameter(lib.zeros(2))
        with lib.no_grad():
            q.data.fill_(5)
        return [p, p.requires_grad, q]

    check(case)


def test_detach_shares_storage():
    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        d = x.detach()
        d[0, 0] = 100.0
        d.add_(1)
        return [x, d.requires_grad]

    check(case)


def test_detach_then_in_place_after_use_is_caught():
    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        y = x.sigmoid()
        y.detach().zero_()
        y.sum().backward()
        return x.grad

    check(inplace_error(case))
