"""Tensor methods that change a tensor in place: add_, mul_, x[i] = v (in tensor_shape), +=,
zero_, fill_, copy_, clamp_, masked_fill_, and the random fills of initialisation.

Each computes like its out-of-place twin, then writes into the tensor's own array
(dispatch.apply_inplace): views see the change, the version counter goes up, and with autograd
the tensor takes the op as its history. As PyTorch, a leaf that requires grad may only be
changed under no_grad, and a result of a higher category than the tensor (float into int)
is refused.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .autograd import JitError
from .dispatch import (
    Capture,
    apply_inplace,
    broadcast_error,
    cast,
    operand,
    refuse_leaf,
    version_counter,
)
from .dtypes import get_default_dtype, is_floating
from .grad_mode import GradMode
from .random import numpy_generator
from .tensor_math import deprecated_alpha


def _in_dtype(value, dtype):
    """A tensor cast to `dtype`, or a number as a NumPy scalar of it (2.7 into int64 is 2)."""
    return cast(value, dtype) if hasattr(value, "shape") else dtype.type(value)


class InplaceMethods:
    __slots__ = ()

    def _inplace_binary(self, fn_cls, other, **kwargs):
        return apply_inplace(self, fn_cls, (self, operand(other, self)), kwargs)

    def add_(self, other, *rest, alpha=1):
        """self += alpha * other."""
        other, alpha = deprecated_alpha("add_", other, rest, alpha)
        other = operand(other, self)
        return self._inplace_binary(ops.Add, other if alpha == 1 else other * alpha)

    def sub_(self, other, *rest, alpha=1):
        """self -= alpha * other."""
        other, alpha = deprecated_alpha("sub_", other, rest, alpha)
        other = operand(other, self)
        return self._inplace_binary(ops.Sub, other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return self._inplace_binary(ops.Mul, other)

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            return self.copy_(self.div(other, rounding_mode=rounding_mode))
        other = operand(other, self)
        if not is_floating(self.dtype):
            raise RuntimeError(
                f"result type {get_default_dtype().name} can't be cast to the desired output "
                f"type {self.dtype.name}"
            )
        return self._inplace_binary(ops.Div, other)

    def pow_(self, exponent):
        return self._inplace_binary(ops.Pow, exponent)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def clamp_(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        low, high = (None if b is None else operand(b, self) for b in (min, max))
        return apply_inplace(self, ops.Clip, (self, low, high))

    clip_ = clamp_

    def _inplace_unary(self, fn_cls):
        return apply_inplace(self, fn_cls, (self,))

    def relu_(self):
        return self._inplace_unary(ops.Relu)

    def tanh_(self):
        return self._inplace_unary(ops.Tanh)

    def sigmoid_(self):
        return self._inplace_unary(ops.Sigmoid)

    def exp_(self):
        return self._inplace_unary(ops.Exp)

    def log_(self):
        return self._inplace_unary(ops.Log)

    def sqrt_(self):
        return self._inplace_unary(ops.Sqrt)

    def abs_(self):
        return self._inplace_unary(ops.Abs)

    def neg_(self):
        return self._inplace_unary(ops.Neg)

    def zero_(self):
        """Set every element to 0."""
        return self.fill_(0)

    def fill_(self, value):
        """Set every element to `value` (a number or a 0-d tensor)."""
        if hasattr(value, "ndim") and value.ndim != 0:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
        self[...] = value
        return self

    def copy_(self, src, non_blocking: bool = False):
        """Copy `src` (broadcast, cast to this dtype, moved to this device) into self."""
        src = operand(src, self)
        if hasattr(src, "device") and src.device != self.device:
            src = src.to(self.device)
        shape = tuple(getattr(src, "shape", ()))
        message = broadcast_error(self.shape, shape)
        if message or np.broadcast_shapes(self.shape, shape) != tuple(self.shape):
            raise RuntimeError(
                message
                or f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(np.broadcast_shapes(self.shape, shape))}"
            )
        self[...] = src
        return self

    def masked_fill_(self, mask, value):
        """Set the elements where the boolean `mask` (broadcast) holds to `value`."""
        mask = operand(mask, self)
        if mask.dtype.kind != "b":
            raise RuntimeError(
                f"masked_fill_ only supports boolean masks, but got mask with dtype "
                f"{mask.dtype.name}"
            )
        value = _in_dtype(operand(value, self), self.dtype)
        if hasattr(value, "ndim") and value.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        return apply_inplace(self, ops.Where, (mask, value, self))

    def scatter_(self, dim: int, index, src=None, *, value=None, reduce=None):
        return self.copy_(self.scatter(dim, index, src, value=value, reduce=reduce))

    def scatter_add_(self, dim: int, index, src):
        return self.copy_(self.scatter_add(dim, index, src))

    def index_fill_(self, dim: int, index, value):
        axis = self._dim(dim)
        self[(slice(None),) * axis + (operand(index, self),)] = value
        return self

    def _fill_random(self, sample, generator):
        values = sample(numpy_generator(generator), self.shape)
        self[...] = values.astype(self.dtype) if hasattr(values, "astype") else values
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
        """Fill with samples from U(a, b) (the default generator unless one is given)."""
        return self._fill_random(lambda rng, shape: rng.uniform(a, b, shape), generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
        """Fill with samples from N(mean, std**2)."""
        return self._fill_random(lambda rng, shape: rng.normal(mean, std, shape), generator)

    def bernoulli_(self, p: float = 0.5, *, generator=None):
        return self._fill_random(lambda rng, shape: rng.random(shape) < p, generator)

    def exponential_(self, lambd: float = 1.0, *, generator=None):
        return self._fill_random(lambda rng, shape: rng.exponential(1 / lambd, shape), generator)

    def random_(self, low: int = 0, high: int | None = None, *, generator=None):
        if high is None:  # random_(to) draws from [0, to); random_() from [0, 2**24)
            low, high = 0, low or 2**24
        return self._fill_random(lambda rng, shape: rng.integers(low, high, shape), generator)

    # ------------------------------------------------------------ shape, in place

    def _reshape_in_place(self, view):
        """This tensor becomes view(itself as it was): a view of its former self, which keeps
        the former self's own link to a base, so writes through it still reach the base's
        history. (A view taken of this tensor before stops tracing writes back to it.)"""
        if Capture.recorder is not None:
            raise JitError(
                "in-place shape changes (unsqueeze_, t_, ...) inside a function that "
                "tinygrad_rnn.jit captures are not replayed: write them out of place"
            )
        if GradMode.enabled:
            refuse_leaf(self)
        former = type(self)._make(self.array, self.device, self.requires_grad, self._node)
        former._counter, former._view_of = version_counter(self), self._view_of
        result = view(former)
        self.array, self._node, self._view_of = result.array, result._node, result._view_of
        return self

    def unsqueeze_(self, dim: int):
        """unsqueeze, in place."""
        return self._reshape_in_place(lambda t: t.unsqueeze(dim))

    def squeeze_(self, dim=None):
        """squeeze, in place."""
        return self._reshape_in_place(lambda t: t.squeeze() if dim is None else t.squeeze(dim))

    def t_(self):
        """t, in place."""
        return self._reshape_in_place(lambda t: t.t())

    def transpose_(self, dim0: int, dim1: int):
        """transpose, in place."""
        return self._reshape_in_place(lambda t: t.transpose(dim0, dim1))

    swapdims_ = swapaxes_ = transpose_
