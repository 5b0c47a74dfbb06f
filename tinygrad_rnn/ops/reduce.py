"""Reductions, scans and the softmax family. Axes arrive normalised: None or a tuple of
non-negative ints (the tensor methods check and wrap them as PyTorch does)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import get_array_module


def _expand_reduced(grad, ndim: int, axis, keepdims: bool):
    """Put back the axes a reduction removed so `grad` broadcasts against the input."""
    if keepdims:
        return grad
    if axis is None:
        return grad.reshape((1,) * ndim)
    return get_array_module(grad).expand_dims(grad, axis)


def _kept_shape(shape: tuple, axis) -> tuple:
    """The shape of a reduction over `axis` with keepdims."""
    return tuple(1 if axis is None or i in axis else size for i, size in enumerate(shape))


class Sum(Function):
    def forward(self, a, axis=None, keepdims=False, dtype=None):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims, dtype=dtype)

    def backward(self, grad):
        grad = _expand_reduced(grad, len(self.shape), self.axis, self.keepdims)
        return (get_array_module(grad).broadcast_to(grad, self.shape),)


class Prod(Function):
    """The product over `axis`; its gradient is the product of all the other elements,
    computed from exclusive running products so that zeros need no division."""

    saved_inputs = (0,)

    def forward(self, a, axis=None, keepdims=False, dtype=None):
        self.a, self.axis, self.keepdims = a, axis, keepdims
        return a.prod(axis=axis, keepdims=keepdims, dtype=dtype)

    def backward(self, grad):
        xp = get_array_module(grad)
        a = self.a
        flat = a.reshape(-1) if self.axis is None else a
        axes = (0,) if self.axis is None else self.axis
        moved = xp.moveaxis(flat, axes, tuple(range(-len(axes), 0)))
        rows = moved.reshape(*moved.shape[: moved.ndim - len(axes)], -1)
        ones = xp.ones(rows.shape[:-1] + (1,), dtype=rows.dtype)
        before = xp.cumprod(xp.concatenate([ones, rows[..., :-1]], axis=-1), axis=-1)
        after = xp.flip(
            xp.cumprod(xp.concatenate([ones, xp.flip(rows, -1)[..., :-1]], axis=-1), axis=-1), -1
        )
        others = xp.moveaxis(
            (before * after).reshape(moved.shape), tuple(range(-len(axes), 0)), axes
        ).reshape(a.shape)
        grad = _expand_reduced(grad, a.ndim, self.axis, self.keepdims)
        return (grad * others,)


class Var(Function):
    """The variance over `axis`, sum((a - mean)**2) / (n - correction), or its square root
    (`root`). Backward is PyTorch's closed form, 2 (a - mean) / (n - correction), which does
    not differentiate through the mean (so infinities give -inf and inf, not NaN); a zero
    standard deviation passes no gradient."""

    saved_inputs = (0,)
    saves_output = True

    def forward(self, a, axis, keepdims, correction, root=False):
        self.a, self.axis, self.keepdims, self.root = a, axis, keepdims, root
        count = a.size // max(int(np.prod(_kept_shape(a.shape, axis))), 1) if a.size else 0
        self.divisor = max(count - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.mean = (
                a.mean(axis=axis, keepdims=True) if a.size else a.sum(axis, keepdims=True) * np.nan
            )
            centered = a - self.mean
            out = (centered * centered).sum(axis=axis, keepdims=keepdims) / a.dtype.type(
                self.divisor
            )
            self.out = get_array_module(a).sqrt(out) if root else out
        return self.out

    def backward(self, grad):
        xp = get_array_module(grad)
        grad = _expand_reduced(grad, self.a.ndim, self.axis, self.keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.root:
                out = _expand_reduced(self.out, self.a.ndim, self.axis, self.keepdims)
                grad = xp.where(out == 0, 0, grad / (2 * out))
            scale = grad.dtype.type(2) / grad.dtype.type(self.divisor)
            return (scale * grad * (self.a - self.mean),)


class Amax(Function):
    """The largest values over `axis`; tied maxima share the gradient evenly (torch.amax)."""

    saved_inputs = (0,)
    saves_output = True
    pick = "max"

    def forward(self, a, axis=None, keepdims=False):
        self.a, self.axis, self.keepdims = a, axis, keepdims
        self.out = getattr(a, self.pick)(axis=axis, keepdims=keepdims)
        return self.out

    def backward(self, grad):
        ndim = self.a.ndim
        out = _expand_reduced(self.out, ndim, self.axis, self.keepdims)
        grad = _expand_reduced(grad, ndim, self.axis, self.keepdims)
        winners = self.a == out
        counts = winners.sum(axis=self.axis, keepdims=True, dtype=grad.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (grad / counts * winners,)


class Amin(Amax):
    pick = "min"


class Extreme(Function):
    """max() or min() over everything: the gradient is shared evenly by the elements equal
    to the result, or by the NaNs when the result is NaN (as PyTorch's max())."""

    saved_inputs = (0,)
    saves_output = True

    def forward(self, a, pick):
        self.a = a
        self.out = getattr(a, pick)()
        return self.out

    def backward(self, grad):
        xp = get_array_module(grad)
        winners = xp.isnan(self.a) if xp.isnan(self.out) else self.a == self.out
        return (winners * (grad / winners.sum(dtype=grad.dtype)),)


class ArgExtreme(Function):
    """Indices (int64) of the largest or smallest values; NaN counts as the largest."""

    differentiable = False

    def forward(self, a, pick, axis=None, keepdims=False):
        indices = getattr(a, pick)(axis=axis, keepdims=keepdims)
        return get_array_module(a).asarray(indices).astype(np.int64)


class SortIndices(Function):
    """The permutation that sorts `a` along `axis` (stable; NaN last ascending and first
    descending, as PyTorch)."""

    differentiable = False

    def forward(self, a, axis, descending=False):
        xp = get_array_module(a)
        if not descending:
            return xp.argsort(a, axis=axis, kind="stable").astype(np.int64)
        # a stable descending sort: sort the reversed array ascending, then reverse back
        reversed_order = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
        return (a.shape[axis] - 1 - xp.flip(reversed_order, axis)).astype(np.int64)


class Cumsum(Function):
    def forward(self, a, axis, dtype=None):
        self.axis = axis
        return get_array_module(a).cumsum(a, axis=axis, dtype=dtype)

    def backward(self, grad):
        xp = get_array_module(grad)
        return (xp.flip(xp.cumsum(xp.flip(grad, self.axis), axis=self.axis), self.axis),)


class Norm(Function):
    """The p-norm over `axis` (p = 2, 1, inf, -inf, 0 or any other number). As PyTorch, the
    gradient at a zero norm is 0, not NaN."""

    saved_inputs = (0,)
    saves_output = True

    def forward(self, a, p, axis=None, keepdims=False):
        xp = get_array_module(a)
        self.a, self.p, self.axis, self.keepdims = a, p, axis, keepdims
        magnitude = abs(a)
        if p == 2:
            out = xp.sqrt((magnitude * magnitude).sum(axis=axis, keepdims=keepdims))
        elif p == np.inf:
            out = magnitude.max(axis=axis, keepdims=keepdims, initial=0)
        elif p == -np.inf:
            out = magnitude.min(axis=axis, keepdims=keepdims)
        elif p == 0:
            out = (magnitude != 0).sum(axis=axis, keepdims=keepdims, dtype=a.dtype)
        else:
            out = (magnitude**p).sum(axis=axis, keepdims=keepdims) ** (1.0 / p)
        self.out = xp.asarray(out)
        return self.out

    def backward(self, grad):
        xp = get_array_module(grad)
        a, p = self.a, self.p
        norm = _expand_reduced(self.out, a.ndim, self.axis, self.keepdims)
        grad = _expand_reduced(grad, a.ndim, self.axis, self.keepdims)
        sign = (a > 0).astype(grad.dtype) - (a < 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 0:
                return (xp.zeros_like(a, dtype=grad.dtype),)
            if p in (np.inf, -np.inf):
                winners = abs(a) == norm
                share = winners / winners.sum(axis=self.axis, keepdims=True, dtype=grad.dtype)
                return (grad * sign * share,)
            if p == 1:
                return (grad * sign,)
            scaled = a / norm if p == 2 else sign * abs(a) ** (p - 1) / norm ** (p - 1)
            return (grad * xp.where(norm == 0, 0, scaled),)


class LogSoftmax(Function):
    saves_output = True

    def forward(self, a, axis=-1):
        xp = get_array_module(a)
        self.axis = axis
        if a.size == 0:
            self.out = a.copy()
            return self.out
        shifted = a - a.max(axis=axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        return self.out

    def backward(self, grad):
        xp = get_array_module(grad)
        return (grad - xp.exp(self.out) * grad.sum(axis=self.axis, keepdims=True),)


class Softmax(Function):
    saves_output = True

    def forward(self, a, axis=-1):
        xp = get_array_module(a)
        self.axis = axis
        if a.size == 0:
            self.out = a.copy()
            return self.out
        with np.errstate(invalid="ignore"):  # a row of -inf: NaN, as PyTorch's (no warning)
            exps = xp.exp(a - a.max(axis=axis, keepdims=True))
            self.out = exps / exps.sum(axis=axis, keepdims=True)
        return self.out

    def backward(self, grad):
        out = self.out
        return (out * (grad - (grad * out).sum(axis=self.axis, keepdims=True)),)


class LogSumExp(Function):
    """log(sum(exp(a))) over `axis`, shifted by the maximum unless that is infinite (so rows
    of -inf give -inf and rows holding +inf give +inf, as PyTorch)."""

    saved_inputs = (0,)
    saves_output = True

    def forward(self, a, axis=None, keepdims=False):
        xp = get_array_module(a)
        self.a, self.axis, self.keepdims = a, axis, keepdims
        if a.size == 0:
            shift = xp.zeros(_kept_shape(a.shape, axis), dtype=a.dtype)
        else:
            shift = a.max(axis=axis, keepdims=True)
            shift = xp.where(xp.isinf(shift), 0, shift).astype(a.dtype)
        with np.errstate(divide="ignore"):
            out = xp.log(xp.exp(a - shift).sum(axis=axis, keepdims=True)) + shift
        self.out = out if keepdims else out.squeeze(axis)
        return self.out

    def backward(self, grad):
        xp = get_array_module(grad)
        out = _expand_reduced(self.out, self.a.ndim, self.axis, self.keepdims)
        grad = _expand_reduced(grad, self.a.ndim, self.axis, self.keepdims)
        with np.errstate(invalid="ignore"):
            return (grad * xp.exp(self.a - out),)
