"""Tensor methods: indexing (PyTorch's rules, read and write) and gathering along a dim.

Reads and writes follow indexing.py's plan: basic indices give views, index arrays become
inputs of the op (so a captured step reads each new batch's indices), and a write goes
through the in-place machinery (dispatch.apply_inplace) with PyTorch's dtype rules.
"""

from __future__ import annotations

import numpy as np

from . import dispatch, indexing, ops
from .dispatch import TENSOR_TYPES, apply, apply_inplace, cast, leaf, operand, to_tensor
from .tensor_shape import stack


class IndexMethods:
    __slots__ = ()

    def __getitem__(self, index):
        """PyTorch indexing: ints, slices, None, Ellipsis, lists, integer and boolean tensors."""
        if type(index) is int:  # the common case (a time step), kept fast
            if self.ndim == 0:
                raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()`")
            return apply(ops.GetItem, self, index=(index, Ellipsis))
        prefix, rest = indexing.plan(index, self.ndim, _tensor_class())
        view = self if prefix is None else apply(ops.GetItem, self, index=prefix)
        if ops.is_basic_index(rest):
            basic = rest if Ellipsis in rest or len(rest) < view.ndim else rest + (Ellipsis,)
            return apply(ops.GetItem, view, index=basic)
        template, arrays = _template(rest, self)
        return apply(ops.GetItem, view, *arrays, index=template)

    def __setitem__(self, index, value) -> None:
        """self[index] = value (a number or a tensor broadcast to the region), in place."""
        if isinstance(value, (list, tuple)):
            raise TypeError(f"can't assign a {type(value).__name__} to a {self.type()}")
        value = operand(value, self)
        prefix, rest = indexing.plan(index, self.ndim, _tensor_class())
        template, arrays = _template(rest, self)
        if arrays and hasattr(value, "dtype") and value.dtype != self.dtype:
            masked = all(a.dtype.kind == "b" for a in arrays)  # a masked fill casts a 0-d value
            if not (masked and value.ndim == 0):
                raise RuntimeError(
                    "Index put requires the source and destination dtypes match, got "
                    f"{self.dtype.name} for the destination and {value.dtype.name} for the "
                    "source."
                )
        value = cast(value, self.dtype)
        try:
            apply_inplace(
                self, ops.SetItem, (self, value, *arrays), {"prefix": prefix, "index": template}
            )
        except ValueError as error:  # NumPy could not broadcast the value into the region
            raise RuntimeError(f"setting a region of {list(self.shape)}: {error}") from None

    def index_select(self, dim: int, index):
        """The slices at `index` (a 1-D integer tensor) along `dim`."""
        index = operand(index, self)
        if index.ndim > 1 or index.dtype.kind not in "iu":
            raise IndexError("index_select(): Index is supposed to be a vector of integers")
        axis = self._dim(dim)
        return self[(slice(None),) * axis + (index.reshape(-1),)]

    def nonzero(self, *, as_tuple: bool = False):
        """The indices of the nonzero elements: (n, ndim) int64, or one 1-D tensor per dim."""
        found = self.array.nonzero()
        columns = [leaf(c.astype(np.int64), self.device) for c in found]
        if as_tuple:
            return tuple(columns)
        return stack(columns, 1) if columns else _tensor_class()(0, 0).long()

    def masked_select(self, mask):
        mask = operand(mask, self)
        shape = np.broadcast_shapes(self.shape, mask.shape)
        return self.expand(shape)[mask.expand(shape)]

    def gather(self, dim: int, index):
        """out[i][j] = self[i][index[i][j]] along `dim` (dim=1 shown), as torch.gather."""
        index = operand(index, self)
        axis = _check_scatter_index(self, dim, index, "gather")
        return apply(ops.Gather, self, index, axis=axis)

    def take_along_dim(self, indices, dim: int):
        return self.gather(dim, indices)

    def scatter(self, dim: int, index, src=None, *, value=None, reduce=None):
        """A copy with `src` (or `value`) written at `index` along `dim`."""
        return self._scatter(dim, index, src if src is not None else value, add=reduce == "add")

    def scatter_add(self, dim: int, index, src):
        """A copy with `src` added at `index` along `dim` (repeated indices add up)."""
        return self._scatter(dim, index, src, add=True)

    def _scatter(self, dim, index, src, add: bool):
        index = operand(index, self)
        axis = _check_scatter_index(self, dim, index, "scatter")
        src = operand(src, self)
        if hasattr(src, "dtype") and src.dtype != self.dtype:
            raise RuntimeError(
                f"scatter(): Expected self.dtype to be equal to src.dtype ({self.dtype.name} vs "
                f"{src.dtype.name})"
            )
        return apply(ops.Scatter, self, index, src, axis=axis, add=add)


def _tensor_class():
    return dispatch.TENSOR


def _template(rest: tuple, like) -> tuple[tuple, list]:
    """The index with its arrays replaced by IndexInput places, and those arrays as tensors on
    like's device (so they are inputs of the op, not constants)."""
    template, arrays = [], []
    for item in rest:
        if isinstance(item, np.ndarray) or type(item) in TENSOR_TYPES:
            tensor = item if type(item) in TENSOR_TYPES else to_tensor(item, like.device)
            if tensor.device != like.device:
                raise RuntimeError(
                    f"indices should be either on cpu or on the same device as the indexed "
                    f"tensor ({like.device})"
                )
            template.append(ops.IndexInput(len(arrays)))
            arrays.append(tensor)
        else:
            template.append(item)
    return tuple(template), arrays


def _check_scatter_index(x, dim: int, index, name: str) -> int:
    axis = x._dim(dim)
    if index.dtype != np.int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if index.ndim != x.ndim and not (index.ndim <= 1 and x.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d, (size, own) in enumerate(zip(index.shape, x.shape)):
        if d != axis and size > own:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(index.shape)} to be "
                f"smaller than self {list(x.shape)} apart from dimension {axis}"
            )
    return axis
