"""Dtypes as PyTorch names and promotes them, on NumPy dtype objects.

A dtype here is a NumPy dtype (`tg.float32 == np.float32`), so arrays and tensors share one
vocabulary. What differs from NumPy is the promotion rule, which follows PyTorch's
`torch.result_type`: operands fall into three groups (tensors with dimensions, 0-d tensors,
Python numbers), and a later group only decides the result when it brings a higher category
(bool < integer < floating). So `float32 tensor + 0-d float64 tensor` stays float32, `int tensor
* 2.5` is the default float dtype (float32), and `int / int` divides in the default float dtype.
"""

from __future__ import annotations

import numpy as np


class DType:
    """A dtype as PyTorch users see it (`tg.float32.is_floating_point`, `tg.float64.itemsize`),
    over a NumPy dtype: NumPy takes it wherever it takes a dtype (`np.zeros(2, dtype=tg.int64)`),
    and it equals its NumPy dtype and type (`tg.float32 == np.float32`). One object per dtype,
    so `x.dtype is tg.float32` holds as in PyTorch."""

    __slots__ = (
        "dtype",
        "is_complex",
        "is_floating_point",
        "is_signed",
        "itemsize",
        "kind",
        "name",
        "type",
    )

    def __init__(self, dtype: np.dtype):
        self.dtype, self.name, self.kind = dtype, dtype.name, dtype.kind
        self.itemsize, self.type = dtype.itemsize, dtype.type
        self.is_floating_point, self.is_complex = dtype.kind == "f", False
        self.is_signed = dtype.kind in "if"

    def __eq__(self, other) -> bool:
        if other.__class__ is DType:
            return self is other
        if isinstance(other, str):
            return False
        try:
            return self.dtype == np.dtype(other)
        except TypeError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash(self.dtype)

    def __repr__(self) -> str:
        return f"tinygrad_rnn.{self.name}"

    def __reduce__(self):
        return as_dtype, (self.name,)


SUPPORTED = tuple(
    np.dtype(name)
    for name in (
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "float16",
        "float32",
        "float64",
    )
)
FLOATING = tuple(d for d in SUPPORTED if d.kind == "f")
# PyTorch's scalar-type names, as its messages and legacy types (LongTensor) spell them
SCALAR_NAMES = {
    "float32": "Float",
    "float64": "Double",
    "float16": "Half",
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}
DTYPES = {d: DType(d) for d in SUPPORTED}  # NumPy dtype -> its DType


def as_dtype(dtype) -> DType:
    """The DType of a NumPy dtype, a DType, or a name."""
    return DTYPES[np.dtype(dtype)]


BOOL, INT64 = np.dtype(bool), np.dtype(np.int64)

_default_float = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    """The dtype of floats made from Python numbers and of float results of integer math."""
    return _default_float


def set_default_dtype(dtype) -> None:
    """Make float32 or float64 the default floating dtype, as torch.set_default_dtype."""
    global _default_float
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"only float32 and float64 can be the default dtype, not {dtype.name}")
    _default_float = dtype


def check_dtype(dtype) -> np.dtype:
    """`dtype` as a NumPy dtype, refused with a TypeError naming it if the engine lacks it
    (or if it is a string: PyTorch takes dtype objects only)."""
    if isinstance(dtype, str):
        raise TypeError(
            f"dtype must be a dtype such as tinygrad_rnn.float32, not the string {dtype!r}"
        )
    if dtype.__class__ is DType:
        return dtype.dtype
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"unsupported dtype {dtype!r}") from error
    if dtype not in SUPPORTED:
        names = ", ".join(d.name for d in SUPPORTED)
        raise TypeError(f"unsupported dtype {dtype.name}; supported: {names}")
    return dtype


def category(dtype: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating point."""
    return 0 if dtype.kind == "b" else 2 if dtype.kind == "f" else 1


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def promote_types(a: np.dtype | None, b: np.dtype | None) -> np.dtype | None:
    """The smallest dtype both convert to, by PyTorch's table (int64 with float16 is float16)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    ka, kb = category(a), category(b)
    if ka != kb:
        return a if ka > kb else b
    if ka == 1 and (a.kind == "u") != (b.kind == "u"):  # uint8 with a signed integer
        signed = b if a.kind == "u" else a
        return signed if signed.itemsize > 1 else np.dtype(np.int16)
    return a if a.itemsize >= b.itemsize else b


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """A group's result, overridden by a later group only when that brings a higher category."""
    if higher is None:
        return lower
    if lower is None or category(higher) >= category(lower):
        return higher
    return promote_types(higher, lower)


def scalar_dtype(value) -> np.dtype:
    """The dtype a Python (or NumPy) scalar takes part in promotion as."""
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, (int, np.integer)):
        return INT64
    return _default_float


def result_type(*operands) -> np.dtype:
    """PyTorch's result dtype of an elementwise op on tensors (anything with dtype and ndim)
    and Python numbers."""
    dimensioned = zero_dim = scalars = None
    for x in operands:
        dtype = getattr(x, "dtype", None)
        if dtype is None or isinstance(x, np.generic):
            scalars = promote_types(scalars, scalar_dtype(x))
        elif x.ndim:
            dimensioned = promote_types(dimensioned, dtype)
        else:
            zero_dim = promote_types(zero_dim, dtype)
    return _combine(dimensioned, _combine(zero_dim, scalars))


def can_cast(source: np.dtype, target: np.dtype) -> bool:
    """Whether an in-place op may write a `source` result into a `target` tensor (PyTorch
    refuses only a move to a lower category: float into int, int into bool)."""
    return category(source) <= category(target)


def data_dtype(array: np.ndarray, dtype=None) -> np.dtype:
    """The dtype `tensor(data)` gets for Python data (already as the NumPy array `array`):
    `dtype` if given, else int64, bool or the default float dtype, as torch.tensor infers."""
    if dtype is not None:
        return check_dtype(dtype)
    if array.dtype.kind == "f":
        return _default_float
    if array.dtype.kind in "iu":
        return INT64
    return check_dtype(array.dtype)
