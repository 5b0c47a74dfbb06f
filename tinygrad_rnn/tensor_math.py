"""Tensor methods: arithmetic operators, comparisons and elementwise functions.

Binary operators promote their operands as PyTorch does (dtypes.result_type); functions that
only make sense on real numbers (exp, log, tanh, ...) compute integer inputs in the default
float dtype, as PyTorch does.
"""

from __future__ import annotations

import warnings

from . import ops
from .dispatch import (
    TENSOR_TYPES,
    apply,
    binary,
    cast,
    foreign,
    operand,
    promote,
    to_tensor,
    true_divide,
)
from .dtypes import get_default_dtype, is_floating, result_type


def _floating(x):
    """x, cast to the default float dtype if it holds integers or bools."""
    return x if is_floating(x.dtype) else cast(x, get_default_dtype())


def _scaled(other, alpha):
    return other if alpha == 1 else other * alpha


def deprecated_alpha(name: str, other, rest: tuple, alpha):
    """(other, alpha) from add/sub's deprecated form `add(Number alpha, Tensor other)`, which
    PyTorch still takes with a warning (old programs update weights with
    `p.data.add_(-lr, p.grad)`)."""
    if not rest:
        return other, alpha
    if len(rest) > 1 or type(rest[0]) not in TENSOR_TYPES or type(other) in TENSOR_TYPES:
        raise TypeError(f"{name}() takes one tensor or number and a keyword alpha")
    warnings.warn(
        f"This overload of {name} is deprecated:\n\t{name}(Number alpha, Tensor other)\n"
        f"Consider using one of the following signatures instead:\n\t"
        f"{name}(Tensor other, *, Number alpha = 1)",
        UserWarning,
        stacklevel=3,
    )
    return rest[0], other


class MathMethods:
    __slots__ = ()

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other):
        if foreign(other):
            return NotImplemented
        return binary(ops.Add, self, operand(other, self))

    def __radd__(self, other):
        if foreign(other):
            return NotImplemented
        return binary(ops.Add, operand(other, self), self)

    def __sub__(self, other):
        if foreign(other):
            return NotImplemented
        other = operand(other, self)
        _refuse_bool_subtraction(self, other)
        return binary(ops.Sub, self, other)

    def __rsub__(self, other):
        if foreign(other):
            return NotImplemented
        other = operand(other, self)
        _refuse_bool_subtraction(other, self)
        return binary(ops.Sub, other, self)

    def __mul__(self, other):
        if foreign(other):
            return NotImplemented
        return binary(ops.Mul, self, operand(other, self))

    def __rmul__(self, other):
        if foreign(other):
            return NotImplemented
        return binary(ops.Mul, operand(other, self), self)

    def __truediv__(self, other):
        if foreign(other):
            return NotImplemented
        return true_divide(self, operand(other, self))

    def __rtruediv__(self, other):
        if foreign(other):
            return NotImplemented
        other = operand(other, self)
        if type(other) in TENSOR_TYPES:
            return true_divide(other, self)
        return self.reciprocal() * other  # PyTorch's number / tensor

    def __floordiv__(self, other):
        if foreign(other):
            return NotImplemented
        return self.div(other, rounding_mode="floor")

    def __rfloordiv__(self, other):
        if foreign(other):
            return NotImplemented
        return operand(other, self).div(self, rounding_mode="floor")

    def __mod__(self, other):
        if foreign(other):
            return NotImplemented
        return binary(ops.Remainder, self, operand(other, self))

    def __rmod__(self, other):
        if foreign(other):
            return NotImplemented
        return binary(ops.Remainder, operand(other, self), self)

    def __pow__(self, exponent):
        if foreign(exponent):
            return NotImplemented
        exponent = operand(exponent, self)
        if self.dtype.kind == "b" and isinstance(exponent, bool):
            return self.clone() if exponent else self.new_ones(self.shape)  # x**True, x**False
        _refuse_negative_integer_powers(self, exponent)
        if getattr(getattr(exponent, "dtype", None), "kind", "") == "b" and is_floating(self.dtype):
            return apply(ops.Pow, self, exponent)  # as PyTorch: fine forward, refused backward
        return binary(ops.Pow, self, exponent)

    def __rpow__(self, base):
        if foreign(base):
            return NotImplemented
        base = operand(base, self)
        _refuse_negative_integer_powers(base, self)
        return binary(ops.Pow, base, self)

    def __neg__(self):
        if self.dtype.kind == "b":
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return apply(ops.Neg, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __matmul__(self, other):
        if not hasattr(other, "shape") or type(other).__module__ == "builtins":
            return NotImplemented
        return _matmul(self, operand(other, self))

    def __rmatmul__(self, other):
        if not hasattr(other, "shape"):
            return NotImplemented
        return _matmul(operand(other, self), self)

    def add(self, other, *rest, alpha=1):
        """self + alpha * other."""
        other, alpha = deprecated_alpha("add", other, rest, alpha)
        return self + _scaled(operand(other, self), alpha)

    def sub(self, other, *rest, alpha=1):
        """self - alpha * other."""
        other, alpha = deprecated_alpha("sub", other, rest, alpha)
        return self - _scaled(operand(other, self), alpha)

    def mul(self, other):
        return self * other

    def div(self, other, *, rounding_mode=None):
        """self / other; rounding_mode "trunc" or "floor" rounds the quotient (no gradient)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(
                f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                f"'{rounding_mode}'"
            )
        a, b = promote(self, operand(other, self))
        if result_type(a, b).kind in "iub":
            if rounding_mode == "floor":
                return apply(ops.Logical, *_tensors(a, b, self), op="floor_divide")
            quotient = apply(ops.Logical, *_tensors(a, b, self), op="divide")
            return apply(ops.Logical, quotient, op="trunc").to(result_type(a, b))
        rounded = "floor" if rounding_mode == "floor" else "trunc"
        return apply(ops.Logical, true_divide(a, b), op=rounded)

    def true_divide(self, other):
        return self / other

    def remainder(self, other):
        return self % other

    def pow(self, exponent):
        return self**exponent

    def matmul(self, other):
        return _matmul(self, other)

    def mm(self, other):
        """(n, m) @ (m, p): both must be 2-D."""
        _check_tensor(other, "mm")
        if self.ndim != 2 or getattr(other, "ndim", 0) != 2:
            raise RuntimeError("mm: both arguments must be 2-D matrices")
        return _matmul(self, other)

    def bmm(self, other):
        """(b, n, m) @ (b, m, p): batched products of 3-D tensors with one batch size."""
        _check_tensor(other, "bmm")
        if self.ndim != 3 or getattr(other, "ndim", 0) != 3:
            raise RuntimeError(
                f"batch1 must be a 3D tensor and batch2 must be a 3D tensor, got "
                f"{self.ndim}-D and {getattr(other, 'ndim', 0)}-D"
            )
        if self.shape[0] != other.shape[0] or self.shape[2] != other.shape[1]:
            raise RuntimeError(
                f"Expected size for first two dimensions of batch2 tensor to be: "
                f"[{self.shape[0]}, {self.shape[2]}] but got: [{other.shape[0]}, "
                f"{other.shape[1]}]."
            )
        return _matmul(self, other)

    def mv(self, vector):
        _check_tensor(vector, "mv")
        if self.ndim != 2 or getattr(vector, "ndim", 0) != 1:
            raise RuntimeError("vector + matrix @ vector expected, got other shapes")
        return _matmul(self, vector)

    def dot(self, other):
        _check_tensor(other, "dot")
        if self.ndim != 1 or getattr(other, "ndim", 0) != 1:
            raise RuntimeError(
                f"1D tensors expected, but got {self.ndim}D and {getattr(other, 'ndim', 0)}D "
                "tensors"
            )
        return _matmul(self, other)

    def neg(self):
        return -self

    negative = neg

    def abs(self):
        """Elementwise |x|; the gradient at 0 (and NaN) is 0."""
        _refuse_bool(self, NotImplementedError("\"abs_cpu\" not implemented for 'Bool'"))
        return apply(ops.Abs, self)

    absolute = abs

    def square(self):
        return self * self

    def reciprocal(self):
        """1 / x (computed in the default float dtype for integers)."""
        return apply(ops.Reciprocal, _floating(self))

    def sign(self):
        """-1, 0 or 1 by sign (0 for NaN in float tensors is NaN, as PyTorch); no gradient."""
        return apply(ops.ZeroGrad, self, op="sign")

    def floor(self):
        return self if self.dtype.kind in "iub" else apply(ops.ZeroGrad, self, op="floor")

    def ceil(self):
        return self if self.dtype.kind in "iub" else apply(ops.ZeroGrad, self, op="ceil")

    def trunc(self):
        return self if self.dtype.kind in "iub" else apply(ops.ZeroGrad, self, op="trunc")

    def round(self, *, decimals: int = 0):
        if self.dtype.kind in "iub":
            return self
        return apply(ops.ZeroGrad, self, op="round", decimals=decimals)

    # ------------------------------------------------------------ elementwise functions

    def exp(self):
        """Elementwise e**x."""
        return apply(ops.Exp, _floating(self))

    def log(self):
        """Elementwise natural logarithm."""
        return apply(ops.Log, _floating(self))

    def log1p(self):
        """log(1 + x), accurate near 0."""
        return apply(ops.Log1p, _floating(self))

    def log2(self):
        return self.log() / 0.6931471805599453

    def log10(self):
        return self.log() / 2.302585092994046

    def sqrt(self):
        """Elementwise square root."""
        return apply(ops.Sqrt, _floating(self))

    def rsqrt(self):
        return self.sqrt().reciprocal()

    def sin(self):
        return apply(ops.Sin, _floating(self))

    def cos(self):
        return apply(ops.Cos, _floating(self))

    def tanh(self):
        """Elementwise hyperbolic tangent."""
        return apply(ops.Tanh, _floating(self))

    def sigmoid(self):
        """Elementwise 1 / (1 + e**-x)."""
        return apply(ops.Sigmoid, _floating(self))

    def relu(self):
        """Elementwise max(x, 0); the gradient passes where the result is not <= 0."""
        _refuse_bool(self, RuntimeError("Boolean inputs not supported for relu"))
        return apply(ops.Relu, self)

    def clamp(self, min=None, max=None):
        """Limit values to [min, max] (either may be None, a number or a tensor); gradient 0
        outside."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        bounds = [None if b is None else operand(b, self) for b in (min, max)]
        dtype = result_type(self, *(b for b in bounds if b is not None))
        low, high = (None if b is None else cast(b, dtype) for b in bounds)
        return apply(ops.Clip, cast(self, dtype), low, high)

    clip = clamp

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)


def _check_tensor(x, name: str) -> None:
    if type(x) not in TENSOR_TYPES:
        raise TypeError(f"{name}(): argument 'other' must be Tensor, not {type(x).__name__}")


def _refuse_bool(x, error: Exception) -> None:
    if x.dtype.kind == "b":
        raise error


def _tensors(a, b, like):
    """Operands for an op that takes arrays: numbers made into 0-d tensors on like's device."""
    return [x if hasattr(x, "shape") else to_tensor(x, like.device) for x in (a, b)]


def _matmul(a, b):
    """a @ b with PyTorch's checks: at least 1-D operands, one dtype, matching inner sizes."""
    for position, x in enumerate((a, b)):
        if type(x) not in TENSOR_TYPES:
            raise TypeError(
                f"matmul(): argument '{('input', 'other')[position]}' (position {position + 1}) "
                f"must be Tensor, not {type(x).__name__}"
            )
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    if a.dtype.kind == "b":
        raise NotImplementedError("\"dot\" not implemented for 'Bool'")
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.dtype.name} != {b.dtype.name}"
        )
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        rows = a.shape[-2] if a.ndim > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{inner_a} and "
            f"{inner_b}x{b.shape[-1] if b.ndim > 1 else 1})"
        )
    try:
        return apply(ops.MatMul, a, b)
    except ValueError as error:  # batch dimensions that do not broadcast
        raise RuntimeError(str(error)) from None


def _is_bool(x) -> bool:
    return isinstance(x, bool) or getattr(getattr(x, "dtype", None), "kind", "") == "b"


def _refuse_bool_subtraction(a, b) -> None:
    """PyTorch refuses `-` with a bool operand (a tensor or a Python bool)."""
    if _is_bool(a) and _is_bool(b):
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
            "`^` or `logical_xor()` operator instead."
        )
    if _is_bool(a) or _is_bool(b):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )


def _refuse_negative_integer_powers(base, exponent) -> None:
    kind = result_type(base, exponent).kind
    if kind == "b":
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    if kind not in "iu":
        return
    negative = exponent < 0 if isinstance(exponent, (int, float)) else bool((exponent < 0).any())
    if negative:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
