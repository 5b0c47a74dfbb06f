"""Primitives behind layers and losses, on raw arrays with the array module of their inputs
(as ops/): those whose gradient PyTorch defines by its own formula rather than by the chain
rule through their parts (embedding lookup, binary cross-entropy, log-sigmoid), and those
with an effect a jit replay must repeat (checking indices, writing running statistics).

Composites would give other gradients at the edges: PyTorch's binary cross-entropy divides by
max(p (1 - p), 1e-12) where the clamped logs would give zero, and its embedding gradient skips
the padding row and can be scaled by how often each row was looked up.
"""

from __future__ import annotations

import numpy as np

from .autograd import Function, PartialGrad
from .backend import get_array_module
from .ops import sigmoid


class CheckIndices(Function):
    """Integer indices, passed through once every one lies in [0, rows) (IndexError
    otherwise, as PyTorch's embedding). An op, not a Python check, so that a jit replay
    checks every new batch too."""

    differentiable = False
    pure = False

    def forward(self, indices, rows: int):
        if indices.size:
            low, high = indices.min(), indices.max()  # both queued before one wait on a GPU
            if int(low) < 0 or int(high) >= rows:
                raise IndexError("index out of range in self")
        return indices


class Embedding(Function):
    """weight[indices]: rows of weight (V, D) for integer indices (...) -> (..., D).

    Backward adds each position's gradient into its row (PyTorch's embedding_backward): not
    into `padding_idx` (-1: none), and divided by how often the row occurs in `indices` when
    `scale_grad_by_freq`."""

    saved_inputs = (1,)

    def forward(self, weight, indices, padding_idx: int, scale_grad_by_freq: bool):
        self.indices, self.shape = indices, weight.shape
        self.padding_idx, self.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return weight[indices]

    def backward(self, grad):
        xp = get_array_module(grad)
        flat = self.indices.reshape(-1)
        rows = grad.reshape(flat.shape[0], self.shape[1])
        if self.scale_grad_by_freq:
            counts = xp.bincount(flat, minlength=self.shape[0])
            rows = rows / counts[flat][:, None].astype(rows.dtype)
        if self.padding_idx >= 0:
            rows = xp.where((flat != self.padding_idx)[:, None], rows, 0)
        return PartialGrad((flat,), rows, self.shape, False), None


_EPSILON = float(np.float32(1e-12))  # PyTorch's bound, as the float32 it passes through


class BinaryCrossEntropy(Function):
    """-(y log p + (1 - y) log(1 - p)) elementwise, each log clamped at -100; p and y must lie
    in [0, 1] (RuntimeError otherwise, NaN included). Gradients as PyTorch's:
    (p - y) / max(p (1 - p), 1e-12) for p and -logit(p) for y."""

    pure = False
    saved_inputs = (0, 1)

    def forward(self, p, y):
        xp = get_array_module(p)
        if not bool(((p >= 0) & (p <= 1)).all()):
            raise RuntimeError("all elements of input should be between 0 and 1")
        if not bool(((y >= 0) & (y <= 1)).all()):
            raise RuntimeError("all elements of target should be between 0 and 1")
        self.p, self.y = p, y
        with np.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100)
            log_not_p = xp.maximum(xp.log1p(-p), -100)
        return (y - 1) * log_not_p - y * log_p

    def backward(self, grad):
        need_p, need_y = self.needs_input_grad
        p, y = self.p, self.y
        xp = get_array_module(grad)
        grad_p = grad_y = None
        if need_p:
            grad_p = grad * (p - y) / xp.maximum((1 - p) * p, _EPSILON)
        if need_y:
            with np.errstate(divide="ignore"):
                grad_y = -grad * xp.log(p / (1 - p))
        return grad_p, grad_y


class LogSigmoid(Function):
    """log(sigmoid(a)) = min(a, 0) - log1p(exp(-|a|)), without overflow; gradient sigmoid(-a)."""

    saved_inputs = (0,)

    def forward(self, a):
        xp = get_array_module(a)
        self.a = a
        return xp.minimum(a, 0) - xp.log1p(xp.exp(-xp.abs(a)))

    def backward(self, grad):
        return (grad * sigmoid(-self.a),)


class Overwrite(Function):
    """target[rows] = value (all of target when no rows are given), written in place, with no
    gradient: the running statistics of batch norm, its batch count, the rows max_norm
    renormalises. An op rather than an in-place tensor method, which a jit capture refuses,
    so that every replay writes them again; `pure = False` keeps it in the record."""

    differentiable = False
    pure = False

    def forward(self, target, value, rows=None):
        if rows is None:
            target[...] = value
        else:
            target[rows] = value
        return target
