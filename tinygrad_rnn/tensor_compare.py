"""Tensor methods: comparisons, logic, elementwise extremes, and choosing between values
(where, masked_fill). Comparisons promote as arithmetic does and return bool tensors without
gradient; maximum and minimum pass gradients as PyTorch's do (a tie shares it, NaN gives it to
both sides)."""

from __future__ import annotations

from . import ops
from .dispatch import apply, binary, cast, foreign, operand
from .dtypes import is_floating
from .tensor_shape import where


class CompareMethods:
    __slots__ = ()

    def _compare(self, other, op: str):
        if foreign(other):
            return NotImplemented
        return binary(ops.Compare, self, operand(other, self), op=op)

    def __eq__(self, other):
        if other is None:
            return False
        return self._compare(other, "equal")

    def __ne__(self, other):
        if other is None:
            return True
        return self._compare(other, "not_equal")

    def __lt__(self, other):
        return self._compare(other, "less")

    def __le__(self, other):
        return self._compare(other, "less_equal")

    def __gt__(self, other):
        return self._compare(other, "greater")

    def __ge__(self, other):
        return self._compare(other, "greater_equal")

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    greater, greater_equal, less, less_equal = __gt__, __ge__, __lt__, __le__
    not_equal = __ne__

    def equal(self, other) -> bool:
        """True when both have the same shape and the same values."""
        return self.shape == other.shape and bool((self == other).all())

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        other = operand(other, self)
        close = (self - other).abs() <= atol + rtol * other.abs()
        same = self == other  # infinities of one sign, and exact matches
        result = close | same
        if equal_nan:
            result = result | (self.isnan() & other.isnan())
        return result

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    def _logical(self, op: str, *others):
        return apply(ops.Logical, self, *(operand(o, self) for o in others), op=op)

    def __and__(self, other):
        return self._logical("bitwise_and", other)

    def __or__(self, other):
        return self._logical("bitwise_or", other)

    def __xor__(self, other):
        return self._logical("bitwise_xor", other)

    def __invert__(self):
        if is_floating(self.dtype):
            raise TypeError("bitwise_not is only supported for integer and boolean tensors")
        return self._logical("invert")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def logical_not(self):
        return self._logical("logical_not")

    def logical_and(self, other):
        return self._logical("logical_and", other)

    def logical_or(self, other):
        return self._logical("logical_or", other)

    def logical_xor(self, other):
        return self._logical("logical_xor", other)

    def isnan(self):
        return self._logical("isnan")

    def isinf(self):
        return self._logical("isinf")

    def isfinite(self):
        return self._logical("isfinite")

    def maximum(self, other):
        """Elementwise max; a tie shares the gradient, NaN gives it to both."""
        return binary(ops.Maximum, self, operand(other, self))

    def minimum(self, other):
        """Elementwise min; a tie shares the gradient, NaN gives it to both."""
        return binary(ops.Minimum, self, operand(other, self))

    def where(self, condition, other):
        """self where `condition` holds, else `other`."""
        return where(condition, self, other)

    def masked_fill(self, mask, value):
        """`value` where the boolean `mask` (broadcast) holds, else self; keeps self's dtype."""
        mask = operand(mask, self)
        if mask.dtype.kind != "b":
            raise RuntimeError(
                f"masked_fill_ only supports boolean masks, but got mask with dtype "
                f"{mask.dtype.name}"
            )
        value = operand(value, self)
        if hasattr(value, "ndim") and value.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        value = cast(value, self.dtype) if hasattr(value, "shape") else self.dtype.type(value)
        return apply(ops.Where, mask, value, self)
