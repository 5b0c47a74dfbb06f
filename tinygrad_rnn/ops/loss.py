"""Softmax cross-entropy as one op: the loss in one pass over the logits, the gradient in another.

As log_softmax followed by nll_loss, backward would read the log-probabilities again, take
their exponential a second time and write two (N, C) arrays; for a language model's 10,000
classes that dominates the step. Here forward keeps exp(logits - max) and backward writes
softmax - one_hot, scaled, in a single pass: the loss is the composition's to the last bit
(log_softmax's formula, picked and summed the same way), the gradient equal within rounding.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import get_array_module


class _ClassIndexLoss(Function):
    """What the class-index losses share: the rows, the labels made safe to index with, the
    rows' weights (0 where ignored), and the reduction (the mean over the rows not ignored;
    NaN, with a zero gradient, when every row is)."""

    def _pick_rows(self, labels, ignore, dtype):
        """Mask of the rows not ignored; sets rows, safe labels and weights."""
        xp = get_array_module(labels)
        self.rows = xp.arange(labels.shape[0])
        keep = labels != ignore
        self.safe = xp.where(keep, labels, 0)
        self.weights = keep.astype(dtype)
        return keep

    def _reduce(self, losses, reduction):
        self.reduction = reduction
        if reduction == "none":
            return losses
        if reduction == "sum":
            return losses.sum()
        self.total = self.weights.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            return losses.sum() / self.total

    def _row_scales(self, grad):
        """(N,): what each row's loss weighs in the result, times the incoming gradient."""
        scale = grad * self.weights
        if self.reduction == "mean":  # every row ignored: a NaN loss, a zero gradient
            scale = scale / (self.total + (self.total == 0))
        return scale


class CrossEntropy(_ClassIndexLoss):
    """Cross-entropy of logits (N, C) against class indices (N,) already checked to lie in
    [0, C) or equal `ignore`: per-row losses (reduction "none"), their sum, or their mean over
    the rows not ignored. Only the logits get a gradient."""

    def forward(self, logits, labels, ignore, reduction):
        xp = get_array_module(logits)
        keep = self._pick_rows(labels, ignore, logits.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):  # inf - inf: NaN, as PyTorch's
            shifted = logits - logits.max(axis=1, keepdims=True) if logits.size else logits.copy()
            picked = shifted[self.rows, self.safe]
            exps = xp.exp(shifted, out=shifted)  # shifted is fresh: keep exp in its place
            sums = exps.sum(axis=1, keepdims=True)
            log_probs = picked - xp.log(sums)[:, 0]
        self.exps, self.sums = exps, sums
        losses = xp.where(keep, -log_probs, xp.zeros((), logits.dtype))  # ignored: 0, even at inf
        return self._reduce(losses, reduction)

    def backward(self, grad):
        xp = get_array_module(grad)
        scale = self._row_scales(grad)
        grad_logits = xp.empty_like(self.exps)
        with np.errstate(divide="ignore", invalid="ignore"):
            xp.multiply(self.exps, (scale / self.sums[:, 0])[:, None], out=grad_logits)
        grad_logits[self.rows, self.safe] -= scale
        return grad_logits, None


class NllLoss(_ClassIndexLoss):
    """-log_probs[n, labels[n]] for log-probabilities (N, C) and class indices (N,) already
    checked to lie in [0, C) or equal `ignore`: per-row losses, their sum, or their mean over
    the rows not ignored. One op instead of the dozen a gather-based composition takes: a
    character model calls it once a step."""

    def forward(self, log_probs, labels, ignore, reduction):
        xp = get_array_module(log_probs)
        keep = self._pick_rows(labels, ignore, log_probs.dtype)
        self.shape = log_probs.shape
        picked = log_probs[self.rows, self.safe]
        losses = xp.where(keep, -picked, xp.zeros((), log_probs.dtype))
        return self._reduce(losses, reduction)

    def backward(self, grad):
        xp = get_array_module(grad)
        grad_log_probs = xp.zeros(self.shape, dtype=self.weights.dtype)
        grad_log_probs[self.rows, self.safe] -= self._row_scales(grad)  # ignored: 0 - 0, not -0
        return grad_log_probs, None
