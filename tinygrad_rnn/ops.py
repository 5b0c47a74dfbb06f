"""The primitives: one Function per op, forward and backward side by side, on raw arrays.

Each op uses the array module of its inputs (numpy or cupy), so one code path serves both
devices. Backward returns gradients shaped like the broadcast output; the engine reduces them.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .autograd import Function, PartialGrad, ProductGrad
from .backend import batches_products, device_of, get_array_module, matmul, to_device
from .fused import kernel
from .fused import stack as fused_stack

# ---------------------------------------------------------------- elementwise, two inputs


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad if self.needs_input_grad[1] else None


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        return grad * self.b if need_a else None, grad * self.a if need_b else None


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        grad_a = grad / self.b
        return grad_a if need_a else None, -grad_a * self.a / self.b if need_b else None


class Pow(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, grad):
        xp = get_array_module(grad)
        need_a, need_b = self.needs_input_grad
        grad_a = grad * self.b * self.a ** (self.b - 1) if need_a else None
        grad_b = None
        if need_b:
            if hasattr(self.a, "shape"):
                safe_log = xp.log(xp.where(self.a > 0, self.a, 1)).astype(grad.dtype)
            else:  # a Python number (2.0 ** x): CuPy's where takes no scalar condition
                safe_log = math.log(self.a) if self.a > 0 else 0.0
            grad_b = grad * self.out * safe_log
        return grad_a, grad_b


def _share(grad, a_wins, tie):
    """Route grad to a where it won, to b where b won, half to each at a tie (as PyTorch)."""
    weight_a = a_wins.astype(grad.dtype) + tie * grad.dtype.type(0.5)
    return grad * weight_a, grad * (1 - weight_a)


class Maximum(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).maximum(a, b)

    def backward(self, grad):
        return _share(grad, get_array_module(grad).asarray(self.a > self.b), self.a == self.b)


class Minimum(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).minimum(a, b)

    def backward(self, grad):
        return _share(grad, get_array_module(grad).asarray(self.a < self.b), self.a == self.b)


class MatMul(Function):
    """`a @ b` with NumPy's rules: 1-D operands and broadcast batch dimensions."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return matmul(a, b)

    def backward(self, grad):
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, kept lean
            grad_a = matmul(grad, b.T) if need_a else None
            if not need_b:
                return grad_a, None
            return grad_a, ProductGrad(a.T, grad) if batches_products(grad) else matmul(a.T, grad)
        xp = get_array_module(grad)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        grad = xp.expand_dims(grad, -1) if b.ndim == 1 else grad
        grad = xp.expand_dims(grad, -2) if a.ndim == 1 else grad
        grad_a = grad_b = None
        if need_a:
            grad_a = matmul(grad, xp.swapaxes(b2, -1, -2))
            grad_a = grad_a.reshape((*grad_a.shape[:-2], -1)) if a.ndim == 1 else grad_a
        if need_b:
            grad_b = matmul(xp.swapaxes(a2, -1, -2), grad)
            grad_b = grad_b.reshape((*grad_b.shape[:-2], -1)) if b.ndim == 1 else grad_b
        return grad_a, grad_b


class Where(Function):
    def forward(self, condition, a, b):
        self.condition = condition
        return get_array_module(a).where(condition, a, b)

    def backward(self, grad):
        zero = grad.dtype.type(0)
        xp = get_array_module(grad)
        return None, xp.where(self.condition, grad, zero), xp.where(self.condition, zero, grad)


# ---------------------------------------------------------------- elementwise, one input


class Compare(Function):
    """a == b, a < b, ...: a boolean result that carries no gradient."""

    differentiable = False

    def forward(self, a, b, op):
        return getattr(get_array_module(a if hasattr(a, "shape") else b), op)(a, b)


class ArgMax(Function):
    differentiable = False

    def forward(self, a, axis=None, keepdims=False):
        return get_array_module(a).asarray(a.argmax(axis=axis, keepdims=keepdims))


class CheckLabels(Function):
    """Integer class labels, passed through once every one lies in [0, classes).

    An op rather than a Python check so that a replayed capture checks every new batch too
    (CuPy, and NumPy for negative labels, would silently wrap instead).
    """

    differentiable = False
    pure = False

    def forward(self, labels, classes):
        if labels.size:
            low, high = labels.min(), labels.max()  # both queued before one wait on a GPU
            low, high = int(low), int(high)
            if low < 0 or high >= classes:
                raise ValueError(
                    f"labels must lie in [0, {classes}), found values in [{low}, {high}]"
                )
        return labels


class Detach(Function):
    """The same array, cut from the graph."""

    differentiable = False

    def forward(self, a):
        return a


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, grad):
        return (-grad,)


class Exp(Function):
    def forward(self, a):
        self.out = get_array_module(a).exp(a)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Function):
    def forward(self, a):
        self.a = a
        return get_array_module(a).log(a)

    def backward(self, grad):
        return (grad / self.a,)


class Sqrt(Function):
    def forward(self, a):
        self.out = get_array_module(a).sqrt(a)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)


def _tanh_slope(out, grad):
    """grad * (1 - out**2): the gradient through out = tanh(x)."""
    fused = kernel("tanh_backward", out, grad)
    if fused is not None:
        return fused(out, grad)
    slope = 1 - out * out
    slope *= grad  # in place: one array fewer to allocate and fill at every time step
    return slope


class Tanh(Function):
    def forward(self, a):
        self.out = get_array_module(a).tanh(a)
        return self.out

    def backward(self, grad):
        return (_tanh_slope(self.out, grad),)


class AddTanh(Function):
    """tanh(a + b): an RNN cell's update as one op (and one fused kernel on a GPU)."""

    def forward(self, a, b):
        fused = kernel("add_tanh", a, b)
        if fused is not None:
            self.out = fused(a, b)
        else:
            z, xp = a + b, get_array_module(a)  # z is fresh: tanh may overwrite it
            self.out = xp.tanh(z, out=z) if getattr(z, "ndim", 0) else xp.tanh(z)
        return self.out

    def backward(self, grad):
        slope = _tanh_slope(self.out, grad)
        return slope, slope


def sigmoid(a):
    """1 / (1 + exp(-a)) on an array."""
    # exp is vectorised where tanh is not (twice as fast on float32); exp(-a) overflowing
    # to inf for a very negative a gives the right limit, 0, so the warning is noise
    with np.errstate(over="ignore"):
        return 1 / (1 + get_array_module(a).exp(-a))


class Sigmoid(Function):
    def forward(self, a):
        self.out = sigmoid(a)
        return self.out

    def backward(self, grad):
        out = self.out
        return (grad * out * (1 - out),)


class Relu(Function):
    def forward(self, a):
        self.positive = a > 0
        return a * self.positive

    def backward(self, grad):
        return (grad * self.positive,)


class Abs(Function):
    def forward(self, a):
        self.sign = get_array_module(a).sign(a)
        return abs(a)

    def backward(self, grad):
        return (grad * self.sign,)


class Clip(Function):
    def forward(self, a, low=None, high=None):
        xp = get_array_module(a)
        self.inside = xp.ones(a.shape, dtype=bool)
        if low is not None:
            self.inside &= a >= low
        if high is not None:
            self.inside &= a <= high
        return xp.clip(a, low, high)

    def backward(self, grad):
        return (grad * self.inside,)


class Cast(Function):
    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, grad):
        return (grad.astype(self.dtype),)


class ToDevice(Function):
    capturable = False

    def forward(self, a, device):
        self.device = device_of(a)
        return to_device(a, device)

    def backward(self, grad):
        return (to_device(grad, self.device),)


# ---------------------------------------------------------------- reductions


def _expand_reduced(grad, shape, axis, keepdims):
    """Put back the axes a reduction removed so `grad` broadcasts against the input's shape."""
    if axis is None or keepdims:
        return grad.reshape([1] * len(shape)) if axis is None and not keepdims else grad
    axes = (axis,) if isinstance(axis, int) else axis
    return get_array_module(grad).expand_dims(grad, tuple(a % len(shape) for a in axes))


class Sum(Function):
    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    def backward(self, grad):
        grad = _expand_reduced(grad, self.shape, self.axis, self.keepdims)
        return (get_array_module(grad).broadcast_to(grad, self.shape),)


class Max(Function):
    """Max over axes; tied maxima share the gradient evenly (like PyTorch's amax)."""

    def forward(self, a, axis=None, keepdims=False):
        self.a, self.axis, self.keepdims = a, axis, keepdims
        self.out = a.max(axis=axis, keepdims=keepdims)
        return self.out

    def backward(self, grad):
        out = _expand_reduced(self.out, self.a.shape, self.axis, self.keepdims)
        grad = _expand_reduced(grad, self.a.shape, self.axis, self.keepdims)
        winners = self.a == out
        counts = winners.sum(axis=self.axis, keepdims=True, dtype=grad.dtype)
        return (grad * winners / counts,)


class Min(Max):
    def forward(self, a, axis=None, keepdims=False):
        self.a, self.axis, self.keepdims = a, axis, keepdims
        self.out = a.min(axis=axis, keepdims=keepdims)
        return self.out


class LogSoftmax(Function):
    def forward(self, a, axis=-1):
        xp = get_array_module(a)
        shifted = a - a.max(axis=axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        self.axis = axis
        return self.out

    def backward(self, grad):
        xp = get_array_module(grad)
        return (grad - xp.exp(self.out) * grad.sum(axis=self.axis, keepdims=True),)


class Softmax(Function):
    def forward(self, a, axis=-1):
        xp = get_array_module(a)
        exps = xp.exp(a - a.max(axis=axis, keepdims=True))
        self.out = exps / exps.sum(axis=axis, keepdims=True)
        self.axis = axis
        return self.out

    def backward(self, grad):
        out = self.out
        return (out * (grad - (grad * out).sum(axis=self.axis, keepdims=True)),)


# ---------------------------------------------------------------- shape and indexing


class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, grad):
        return (grad.reshape(self.shape),)


class Transpose(Function):
    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, grad):
        inverse = [0] * len(self.axes)
        for position, axis in enumerate(self.axes):
            inverse[axis] = position
        return (grad.transpose(inverse),)


class Expand(Function):
    def forward(self, a, shape):
        return get_array_module(a).broadcast_to(a, shape)

    def backward(self, grad):
        return (grad,)  # the engine sums it back to the input's shape


BASIC_INDEX_TYPES = frozenset((int, slice, type(None), type(Ellipsis)))


def is_basic_index(index) -> bool:
    """Only ints, slices, None and Ellipsis: the result is a view and no element repeats."""
    if type(index) is not tuple:
        return type(index) in BASIC_INDEX_TYPES
    for item in index:  # noqa: SIM110 - a plain loop beats all() on a generator here
        if type(item) not in BASIC_INDEX_TYPES:
            return False
    return True


class IndexInput(int):
    """In a GetItem index, the place of the k-th index array (an input of the op)."""


def _fill_index(index, arrays):
    if isinstance(index, IndexInput):
        return arrays[index]
    if isinstance(index, tuple):
        return tuple(arrays[i] if isinstance(i, IndexInput) else i for i in index)
    return index


class GetItem(Function):
    """a[index]; arrays in the index (integer or boolean) arrive as further inputs."""

    def forward(self, a, *index_arrays, index):
        self.shape, self.index = a.shape, _fill_index(index, index_arrays)
        return a[self.index]

    def backward(self, grad):
        partial = PartialGrad(self.index, grad, self.shape, is_basic_index(self.index))
        return (partial,) + (None,) * (len(self.needs_input_grad) - 1)


class Concatenate(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.bounds = list(itertools.accumulate(a.shape[axis] for a in arrays))[:-1]
        return get_array_module(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, grad):
        return tuple(get_array_module(grad).split(grad, self.bounds, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis=0):
        self.axis, self.count = axis, len(arrays)
        xp = get_array_module(arrays[0])
        stacked = fused_stack(arrays)  # one launch, and one a CUDA graph can hold
        if stacked is None:
            return xp.stack(arrays, axis=axis)
        return xp.moveaxis(stacked, 0, axis % stacked.ndim)

    def backward(self, grad):
        return tuple(get_array_module(grad).moveaxis(grad, self.axis, 0))


class Pad(Function):
    def forward(self, a, pad_width, value=0.0):
        self.slices = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, a.shape))
        return get_array_module(a).pad(a, pad_width, constant_values=value)

    def backward(self, grad):
        return (grad[self.slices],)
