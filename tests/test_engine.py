"""Properties of the engine: accumulation, BPTT-style sharing, depth, memory, graph control."""

import gc
import sys
import tracemalloc
import weakref

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.backend import sum_to


def test_diamond_sums_both_paths():
    a = tg.tensor([1.5, -2.0], requires_grad=True)
    b = a + a
    c = (b * b).sum()
    c.backward()
    np.testing.assert_allclose(a.grad.detach().cpu().numpy(), 8 * a.detach().cpu().numpy())


@given(steps=st.integers(1, 50), w=st.floats(-1.2, 1.2), h0=st.floats(-2, 2))
def test_weight_shared_across_a_loop_gets_the_sum_over_steps(steps, w, h0):
    weight = tg.tensor(w, dtype=tg.float64, requires_grad=True)
    h = tg.tensor(h0, dtype=tg.float64, requires_grad=True)
    start = h
    for _ in range(steps):
        h = h * weight + 1.0
    h.backward()
    # h_T = w^T h0 + sum_{k<T} w^k, so dh_T/dw = T w^(T-1) h0 + sum_{k<T} k w^(k-1)
    expected = steps * w ** (steps - 1) * h0 + sum(k * w ** (k - 1) for k in range(1, steps))
    np.testing.assert_allclose(weight.grad.item(), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(start.grad.item(), w**steps, rtol=1e-9, atol=1e-12)


@given(
    grad_shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
    dtype=st.sampled_from([np.float32, np.float64]),
    data=st.data(),
)
def test_sum_to_reduces_a_broadcast_gradient_back_to_its_shape(grad_shape, dtype, data):
    """Both paths: added leading axes as a matrix-vector product, stretched axes as a sum."""
    lead = data.draw(st.integers(0, len(grad_shape)))
    ones = data.draw(st.lists(st.booleans(), min_size=len(grad_shape), max_size=len(grad_shape)))
    shape = tuple(1 if one else n for n, one in zip(grad_shape, ones))[lead:]
    grad = data.draw(hnp.arrays(dtype, grad_shape, elements=st.floats(-10, 10, width=32)))
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad_shape[lead + i] != 1)
    expected = grad.sum(axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)
    result = sum_to(grad, shape)
    assert result.shape == shape and result.dtype == dtype
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-4)


def test_shared_matrix_gradient_equals_sum_of_per_step_gradients():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3)) * 0.5
    xs = rng.standard_normal((5, 3))
    shared = tg.tensor(w, requires_grad=True)
    h = tg.zeros(3, dtype=tg.float64)
    for x in xs:
        h = (tg.tensor(x) + h @ shared).tanh()
    h.sum().backward()
    copies = [tg.tensor(w, requires_grad=True) for _ in xs]
    h = tg.zeros(3, dtype=tg.float64)
    for x, copy in zip(xs, copies):
        h = (tg.tensor(x) + h @ copy).tanh()
    h.sum().backward()
    per_step = sum(copy.grad.detach().cpu().numpy() for copy in copies)
    np.testing.assert_allclose(shared.grad.detach().cpu().numpy(), per_step, rtol=1e-12)


def test_ten_thousand_step_chain_needs_no_recursion():
    assert sys.getrecursionlimit() <= 10_000
    x = tg.tensor(1.0, dtype=tg.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001**10_000, rtol=1e-9)
    del y  # dropping a 10,000-deep graph must not overflow the stack either


def test_ten_thousand_step_graph_can_be_dropped_without_backward():
    x = tg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y + 1.0
    del y
    gc.collect()


def _training_iteration(w, b, x, labels):
    loss = tg.F.cross_entropy((x @ w + b).tanh(), labels)
    w.grad = b.grad = None
    loss.backward()
    with tg.no_grad():
        w.data -= 0.01 * w.grad.data
        b.data -= 0.01 * b.grad.data
    return loss


def test_graph_nodes_die_after_backward():
    w = tg.randn(4, 3, generator=0, requires_grad=True)
    h = (tg.randn(2, 4, generator=1) @ w).tanh()
    loss = (h * h).sum()
    node, hidden = weakref.ref(h.grad_fn), weakref.ref(h)
    del h
    loss.backward()
    assert node() is None and hidden() is None  # kept alive by nothing once backward is done
    assert loss.grad_fn.released


def test_memory_stays_flat_over_many_training_iterations():
    w = tg.randn(8, 5, generator=0, requires_grad=True)
    b = tg.zeros(5, requires_grad=True)
    x, labels = tg.randn(16, 8, generator=1), np.arange(16) % 5
    tracemalloc.start()
    usage = []
    for _ in range(3):  # the first 1,000 iterations warm caches; the next 2,000 must add nothing
        for _ in range(1_000):
            _training_iteration(w, b, x, labels)
        gc.collect()
        usage.append(tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    growth = max(usage[1:]) - usage[0]  # a leaked graph per iteration would be megabytes
    assert growth < 64_000, f"memory grew by {growth} bytes over 2,000 iterations: {usage}"


def test_no_grad_builds_no_graph_as_context_and_decorator():
    x = tg.ones(3, requires_grad=True)
    with tg.no_grad():
        y = x * 2
    assert y.grad_fn is None and not y.requires_grad
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def double(t):
        return t * 2

    z = double(x)
    assert z.grad_fn is None and not z.requires_grad
    with tg.no_grad(), tg.enable_grad():
        assert (x * 2).requires_grad


def test_detach_cuts_the_graph():
    x = tg.tensor([2.0], requires_grad=True)
    y = x * x
    z = y.detach() * x + y
    z.backward()
    np.testing.assert_allclose(
        x.grad.detach().cpu().numpy(), [4.0 + 4.0]
    )  # y.detach() counts as a constant
    assert not y.detach().requires_grad


def test_leaves_keep_grad_intermediates_only_when_retained():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    kept, dropped = x * 3, x * 4
    kept.retain_grad()
    (kept.sum() + dropped.sum()).backward()
    np.testing.assert_allclose(x.grad.detach().cpu().numpy(), [7.0, 7.0])
    np.testing.assert_allclose(kept.grad.detach().cpu().numpy(), [1.0, 1.0])
    assert dropped.grad is None


def test_second_backward_through_freed_graph_raises_unless_retained():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(
        x.grad.detach().cpu().numpy(), 2 * 2 * x.detach().cpu().numpy()
    )  # accumulated twice
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        y.backward()


def test_backward_through_a_freed_shared_subgraph_raises():
    x = tg.tensor([1.0], requires_grad=True)
    shared = x.exp()
    first, second = shared * 2, shared * 3
    first.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        second.sum().backward()


def test_grads_of_leaves_are_private_arrays():
    a, b = tg.ones(3, requires_grad=True), tg.ones(3, requires_grad=True)
    (a + b).sum().backward()  # Add passes one array to both inputs
    a.grad.data *= 10
    np.testing.assert_allclose(b.grad.detach().cpu().numpy(), np.ones(3))


def test_zero_grad_and_assignment_clear_the_gradient():
    x = tg.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    x.zero_grad()
    assert x.grad is None
    (x * 2).sum().backward()
    x.grad = None
    assert x.grad is None


def test_upstream_gradient_scales_a_non_scalar_backward():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(tg.tensor([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(x.grad.detach().cpu().numpy(), [2.0, 0.0, -6.0])


@pytest.mark.parametrize("scale", [1e4, -1e4, 1e8])
def test_cross_entropy_is_exact_and_finite_for_huge_logits(scale):
    base = np.array([[0.5, -1.0, 2.0, 0.0], [1.0, 1.0, -3.0, 0.25]], dtype=np.float32)
    labels = np.array([2, 0])
    logits = tg.tensor(base + scale, requires_grad=True)
    loss = tg.F.cross_entropy(logits, labels)
    shifted = base - base.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    exact = -log_probs[np.arange(2), labels].mean()
    if scale == 1e8:  # float32 cannot hold base + 1e8: every logit rounds to 1e8
        exact = np.log(4.0)
    np.testing.assert_allclose(loss.item(), exact, rtol=1e-5)
    loss.backward()
    assert np.isfinite(logits.grad.detach().cpu().numpy()).all()


def test_cross_entropy_with_huge_spread_is_finite():
    logits = tg.tensor([[1e8, 0.0, -1e8], [-1e4, 1e4, 0.0]], requires_grad=True)
    loss = tg.F.cross_entropy(logits, [0, 0])
    np.testing.assert_allclose(loss.item(), (0.0 + 2e4) / 2, rtol=1e-6)
    loss.backward()
    np.testing.assert_allclose(
        logits.grad.detach().cpu().numpy(), [[0, 0, 0], [-0.5, 0.5, 0]], atol=1e-7
    )


@pytest.mark.parametrize("weight_term_first", [False, True])
@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
def test_deferred_weight_products_give_the_same_gradients(monkeypatch, jitted, weight_term_first):
    """A weight's per-step matmul gradients wait (ProductGrad) to be summed as one stacked
    product; against products summed one by one (chunks of one) they differ by rounding only:
    products meeting products, arrays arriving before and after them, and a leaf that
    receives products only (v)."""
    rng = np.random.default_rng(0)
    w, v = (tg.tensor(rng.normal(size=(3, 3)), requires_grad=True) for _ in range(2))
    h0 = tg.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    xs = tg.tensor(rng.normal(size=(5, 2, 3)))

    def loss_of(xs):
        h = (h0 + (w * w).sum()).tanh()  # its gradient reaches w after the products
        for t in range(xs.shape[0]):
            h = tg.F.add_tanh(xs[t] @ v, h @ w)
        terms = [(w * w).sum(), (h * h).sum()]  # the first term's gradient arrives first
        loss = sum(terms if weight_term_first else terms[::-1]) + w[0, 1]
        loss.backward()
        return loss

    def loss_and_grads():
        step = tg.jit(loss_of) if jitted else loss_of
        for _ in range(3 if jitted else 1):
            w.grad = v.grad = h0.grad = None
            loss = step(xs)
        return (
            loss.item(),
            w.grad.detach().cpu().numpy(),
            v.grad.detach().cpu().numpy(),
            h0.grad.detach().cpu().numpy(),
        )

    deferred = loss_and_grads()
    monkeypatch.setattr(tg.autograd, "PRODUCT_CHUNK", 1)
    one_by_one = loss_and_grads()
    assert one_by_one[0] == deferred[0]
    for a, b in zip(one_by_one[1:], deferred[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
