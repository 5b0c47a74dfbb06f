"""F.cross_entropy's one-op path (ops.CrossEntropy) against the composition it replaces."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import F


def composed(logits, labels, ignore_index, reduction):
    """log_softmax then nll_loss: the path the fused op stands in for."""
    return F.nll_loss(
        F.log_softmax(logits, 1), labels, ignore_index=ignore_index, reduction=reduction
    )


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 6),
    classes=st.integers(1, 7),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    ignore_some=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_loss_is_the_compositions_and_gradients_agree(
    rows, classes, reduction, dtype, ignore_some, seed
):
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal((rows, classes)) * 4).astype(dtype)
    labels = rng.integers(0, classes, rows)
    if ignore_some:
        labels[rng.random(rows) < 0.4] = -100
    results = []
    for loss_of in (F.cross_entropy, composed):
        logits = tg.tensor(values, requires_grad=True)
        loss = loss_of(logits, tg.tensor(labels), ignore_index=-100, reduction=reduction)
        loss.sum().backward()
        results.append((loss.detach().numpy(), logits.grad.numpy()))
    (loss, grad), (expected_loss, expected_grad) = results
    np.testing.assert_array_equal(loss, expected_loss)  # the same operations, in the same order
    tolerance = 1e-6 if dtype == np.float32 else 1e-14  # softmax as exp / sum, not exp(log_probs)
    np.testing.assert_allclose(grad, expected_grad, rtol=tolerance, atol=tolerance)


def test_the_common_case_is_one_op_and_other_cases_compose():
    logits = tg.zeros(3, 4, requires_grad=True)
    labels = tg.tensor([0, 1, 3])
    assert type(F.cross_entropy(logits, labels).grad_fn).__name__ == "CrossEntropy"
    weighted = F.cross_entropy(logits, labels, weight=tg.ones(4))
    smoothed = F.cross_entropy(logits, labels, label_smoothing=0.1)
    assert type(weighted.grad_fn).__name__ != "CrossEntropy"
    assert type(smoothed.grad_fn).__name__ != "CrossEntropy"


def test_bad_labels_are_refused_before_any_work():
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(tg.zeros(2, 4), tg.tensor([0, 4]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_special_values_and_ignored_rows_as_pytorch(reduction):
    """Rows with -inf, +inf or NaN logits and a batch whose targets are all ignored give
    PyTorch's values and gradients (the mean of nothing is NaN, its gradient zero)."""
    logits = np.array([[-np.inf, 1.0], [np.inf, 1.0], [np.nan, 0.0], [0.5, -0.5]], np.float32)
    for labels in ([0, 1, 1, 0], [-100, -100, -100, -100], [1, -100, 0, -100]):
        ours, theirs = _loss_and_gradient("cross_entropy", logits, labels, reduction)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)  # NaN where it is NaN


def _loss_and_gradient(name, values, target, reduction):
    """(loss, gradient) of F.<name> on ours and on PyTorch's."""
    torch = pytest.importorskip("torch")
    results = []
    for lib in (tg, torch):
        x = lib.tensor(values, requires_grad=True)
        loss = getattr(lib.nn.functional, name)(x, lib.tensor(target), reduction=reduction)
        loss.sum().backward()
        results.append((loss.detach().numpy(), x.grad.numpy()))
    return results


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("labels", [[0, 1, 1, 0], [-100, -100, -100, -100], [1, -100, 0, 2], [2]])
def test_nll_loss_as_one_op_gives_pytorchs_values_and_gradients(reduction, labels):
    """The (N, C) and (C,) nll_loss without class weights is one op: PyTorch's values and
    gradients, also at -inf and NaN log-probabilities and with ignored rows."""
    rows = np.array(
        [[-np.inf, -0.5, -1.0], [-0.2, -np.inf, -2.0], [np.nan, -0.1, -3.0], [-0.7, -0.4, -0.9]],
        np.float64,
    )
    values = rows[0] if len(labels) == 1 else rows
    target = labels[0] if len(labels) == 1 else labels
    ours, theirs = _loss_and_gradient("nll_loss", values, target, reduction)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
