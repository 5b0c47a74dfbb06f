"""Elementwise primitives: arithmetic, comparisons, activations, casts and device moves."""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, ProductGrad
from ..backend import device_of, get_array_module, matmul, to_device

# ---------------------------------------------------------------- two inputs


def _other_needs(needs) -> tuple:
    """Mul's and MatMul's saved inputs: each is read only for the *other* input's gradient."""
    return tuple(i for i in (0, 1) if needs[1 - i])


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
    saved = staticmethod(_other_needs)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        return grad * self.b if need_a else None, grad * self.a if need_b else None


class Div(Function):
    @staticmethod
    def saved(needs):
        return (0, 1) if needs[1] else (1,)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        grad_a = grad / self.b
        return grad_a if need_a else None, -grad_a * self.a / self.b if need_b else None


def power(a, b):
    """a ** b, with PyTorch's special cases for a number b (0.5 is sqrt, -0.5 rsqrt, 2 a
    square...), which differ from pow at -0.0 and -inf."""
    if type(b) is not float and type(b) is not int:
        return a**b
    xp = get_array_module(a)
    if b == 0.5:
        return xp.sqrt(a)
    if b == -0.5:
        return 1 / xp.sqrt(a)
    if b == 2:
        return a * a
    if b == 3:
        return a * a * a
    if b == -1:
        return 1 / a
    if b == -2:
        return 1 / (a * a)
    return a**b


class Pow(Function):
    """a ** b. As PyTorch: d/da is 0 where b == 0 (also at a == 0), and d/db is 0 where
    a == 0 and b >= 0, else grad * a**b * log(a) (NaN for a < 0, -inf for 0 ** negative)."""

    saves_output = True
    saved_inputs = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        with np.errstate(divide="ignore", invalid="ignore"):
            self.out = power(a, b)
        return self.out

    def backward(self, grad):
        xp = get_array_module(grad)
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        if getattr(getattr(b, "dtype", None), "kind", "") == "b":  # PyTorch's formula takes b - 1
            raise RuntimeError(
                "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_a:
                grad_a = xp.where(xp.asarray(b == 0), 0, grad * b * power(a, b - 1))
            if need_b:
                log_a = xp.log(a) if hasattr(a, "shape") else _scalar_log(a)
                grad_b = xp.where(xp.asarray((a == 0) & (b >= 0)), 0, grad * self.out * log_a)
        return grad_a, grad_b


def _scalar_log(a: float) -> float:
    """log of a Python number with NumPy's answers at 0 (-inf) and below (NaN)."""
    return math.log(a) if a > 0 else -math.inf if a == 0 else math.nan


class Maximum(Function):
    """Elementwise max; as PyTorch, a tie gives each side half, and NaN (where no comparison
    holds) gives both sides the whole gradient."""

    saved_inputs = (0, 1)
    pick = "maximum"

    def forward(self, a, b):
        self.a, self.b = a, b
        return getattr(get_array_module(a), self.pick)(a, b)

    def backward(self, grad):
        a, b = self.a, self.b
        a_loses, b_loses = (a < b, a > b) if self.pick == "maximum" else (a > b, a < b)
        xp = get_array_module(grad)
        share = xp.where(xp.asarray(a == b), 0.5, 1.0).astype(grad.dtype)
        return grad * share * ~a_loses, grad * share * ~b_loses


class Minimum(Maximum):
    pick = "minimum"


def rows(x):
    """x (..., k) as the matrix (N, k) of its rows (a view where NumPy can make one)."""
    return x if x.ndim == 2 else x.reshape(math.prod(x.shape[:-1]), x.shape[-1])


class MatMul(Function):
    """`a @ b` with NumPy's rules: 1-D operands and broadcast batch dimensions. Rows times a
    matrix, (..., k) @ (k, n) (a linear layer over a sequence), is one 2-D product, as PyTorch
    computes it, not one per leading index."""

    saved = staticmethod(_other_needs)

    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim > 2 and b.ndim == 2:
            return matmul(rows(a), b).reshape(*a.shape[:-1], b.shape[1])
        return matmul(a, b)

    def backward(self, grad):
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        if a.ndim >= 2 and b.ndim == 2:  # the common case, kept lean
            grad_rows = rows(grad)
            grad_a = matmul(grad_rows, b.T) if need_a else None
            if grad_a is not None and a.ndim > 2:
                grad_a = grad_a.reshape(a.shape)
            if not need_b:
                return grad_a, None
            return grad_a, ProductGrad(rows(a).T, grad_rows)  # summed over time steps at once
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
    saved_inputs = (0,)

    def forward(self, condition, a, b):
        self.condition = condition
        return get_array_module(condition).where(condition, a, b)

    def backward(self, grad):
        zero = grad.dtype.type(0)
        xp = get_array_module(grad)
        return None, xp.where(self.condition, grad, zero), xp.where(self.condition, zero, grad)


class Remainder(Function):
    """a - floor(a / b) * b, the sign of b (Python's %); d/da = 1, d/db = -floor(a / b)."""

    saved_inputs = (0, 1)

    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a if hasattr(a, "shape") else b).remainder(a, b)

    def backward(self, grad):
        xp = get_array_module(grad)
        need_b = self.needs_input_grad[1]
        return grad, -grad * xp.floor(self.a / self.b) if need_b else None


# ---------------------------------------------------------------- no gradient


class Compare(Function):
    """a == b, a < b, ...: a boolean result that carries no gradient."""

    differentiable = False

    def forward(self, a, b, op):
        return getattr(get_array_module(a if hasattr(a, "shape") else b), op)(a, b)


class Logical(Function):
    """and, or, xor, not, floor, isnan, floor division...: results that carry no gradient."""

    differentiable = False

    def forward(self, *arrays, op, **kwargs):
        return getattr(get_array_module(arrays[0]), op)(*arrays, **kwargs)


class CheckLabels(Function):
    """Integer class labels, passed through once every one lies in [0, classes).

    An op rather than a Python check so that a replayed capture checks every new batch too
    (CuPy, and NumPy for negative labels, would silently wrap instead). Labels equal to
    `ignore` (cross-entropy's ignore_index) are let through.
    """

    differentiable = False
    pure = False

    def forward(self, labels, classes, ignore=None):
        checked = labels if ignore is None else labels[labels != ignore]
        if checked.size:
            low, high = checked.min(), checked.max()  # both queued before one wait on a GPU
            low, high = int(low), int(high)
            if low < 0 or high >= classes:
                raise IndexError(f"Target {high if high >= classes else low} is out of bounds.")
        return labels


class ZeroGrad(Function):
    """sign, floor, ceil, round, trunc: piecewise constant, so the gradient is zero (PyTorch
    still lets it flow, as zeros)."""

    def forward(self, a, op, **kwargs):
        return getattr(get_array_module(a), op)(a, **kwargs)

    def backward(self, grad):
        return (get_array_module(grad).zeros_like(grad),)


class Detach(Function):
    """The same array, cut from the graph."""

    differentiable = False
    view = True

    def forward(self, a):
        return a


# ---------------------------------------------------------------- one input


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, grad):
        return (-grad,)


class Reciprocal(Function):
    saves_output = True

    def forward(self, a):
        with np.errstate(divide="ignore"):
            self.out = 1 / a
        return self.out

    def backward(self, grad):
        return (-grad * self.out * self.out,)


class Exp(Function):
    saves_output = True

    def forward(self, a):
        self.out = get_array_module(a).exp(a)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return get_array_module(a).log(a)

    def backward(self, grad):
        return (grad / self.a,)


class Log1p(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return get_array_module(a).log1p(a)

    def backward(self, grad):
        return (grad / (1 + self.a),)


class Sqrt(Function):
    saves_output = True

    def forward(self, a):
        self.out = get_array_module(a).sqrt(a)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)


class Sin(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return get_array_module(a).sin(a)

    def backward(self, grad):
        return (grad * get_array_module(grad).cos(self.a),)


class Cos(Function):
    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return get_array_module(a).cos(a)

    def backward(self, grad):
        return (-grad * get_array_module(grad).sin(self.a),)


class Abs(Function):
    """|x|; the gradient is grad * sign(x), with sign 0 at 0 and at NaN (as PyTorch)."""

    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        return abs(a)

    def backward(self, grad):
        a = self.a
        return (grad * ((a > 0).astype(grad.dtype) - (a < 0)),)


class Clip(Function):
    """Clamp to [low, high] (either may be None, a number or an array); the gradient passes
    only where low <= x <= high (not at NaN), as PyTorch's clamp. The bounds get none."""

    saved_inputs = (0, 1, 2)

    def forward(self, a, low=None, high=None):
        self.a, self.low, self.high = a, low, high
        return get_array_module(a).clip(a, low, high)  # NaN stays NaN

    def backward(self, grad):
        a, low, high = self.a, self.low, self.high
        inside = True
        if low is not None:
            inside = a >= low
        if high is not None:
            inside = inside & (a <= high)
        _, need_low, need_high = self.needs_input_grad
        grad_low = grad_high = None
        if need_low:  # low wins where a is below it (and it is not above high)
            below = a < low if high is None else (a < low) & (low < high)
            grad_low = grad * below
        if need_high:  # high wins where a is above it, or where it lies below low
            grad_high = grad * (a > high if low is None else (a > high) | (high < low))
        return grad * inside, grad_low, grad_high


class Cast(Function):
    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, grad):
        return (grad.astype(self.dtype),)


class Clone(Function):
    """A copy that shares no memory with its input."""

    def forward(self, a):
        return a.copy()

    def backward(self, grad):
        return (grad,)


class ToDevice(Function):
    capturable = False

    def forward(self, a, device):
        self.device = device_of(a)
        return to_device(a, device)

    def backward(self, grad):
        return (to_device(grad, self.device),)
