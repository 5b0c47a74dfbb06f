"""Tensor methods: shapes, views, indexing (read and write), gathering, and joining.

View methods (reshape/view, permute/transpose/t, expand, squeeze/unsqueeze, narrow, basic
indexing) share memory with their input as in PyTorch, so an in-place write through a view
changes the base (and, with autograd, the base's history). Indexing follows PyTorch's rules
(indexing.py), which differ from NumPy's where integers and index arrays meet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import ops
from .dispatch import (
    TENSOR_TYPES,
    apply,
    broadcast_error,
    cast,
    operand,
    promote,
)
from .dtypes import result_type


def _shape_args(shape) -> tuple:
    """`f(2, 3)`, `f((2, 3))` and `f([2, 3])` all mean the shape (2, 3); sizes must be ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for size in shape:
        if not isinstance(size, (int, np.integer)) and not hasattr(size, "__index__"):
            raise TypeError(f"size must be a tuple of ints, not {type(size).__name__}")
    return tuple(int(s) for s in shape)


def _keyword_shape(positional: tuple, keyword: dict, name: str) -> tuple:
    """A shape given positionally (f(2, 3), f((2, 3))) or by PyTorch's keyword (f(dims=...))."""
    if keyword:
        if positional or set(keyword) != {name}:
            raise TypeError(f"expected the {name} positionally or as {name}=, got {keyword}")
        value = keyword[name]
        return (value,) if isinstance(value, int) else (tuple(value),)
    return positional


class ShapeMethods:
    __slots__ = ()

    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    mT = property(lambda self: self.transpose(-2, -1))  # noqa: N815 - PyTorch's name

    # ------------------------------------------------------------ views

    def reshape(self, *shape, **keyword):
        """The same values in a new shape (one size may be -1); a view when memory allows."""
        shape = _keyword_shape(shape, keyword, "shape")
        return apply(ops.Reshape, self, shape=_resolve_shape(_shape_args(shape), self.numel()))

    def view(self, *shape, **keyword):
        """reshape that must not copy (RuntimeError where the memory layout forbids a view)."""
        shape = _keyword_shape(shape, keyword, "size")
        out = self.reshape(*shape)
        if out._counter is None or out._counter is not self._counter:  # NumPy had to copy
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            )
        return out

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """Merge dims start_dim..end_dim into one."""
        if self.ndim == 0:
            self._dim(start_dim), self._dim(end_dim)
            return self.reshape(1)
        start, end = self._dim(start_dim), self._dim(end_dim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shape = self.shape
        merged = math.prod(shape[start : end + 1])
        return self.reshape(shape[:start] + (merged,) + shape[end + 1 :])

    def unflatten(self, dim: int, sizes):
        axis = self._dim(dim)
        shape = self.shape
        sizes = _resolve_shape(tuple(sizes), shape[axis])
        return self.reshape(shape[:axis] + sizes + shape[axis + 1 :])

    def permute(self, *dims, **keyword):
        """Reorder the dims: output dim i is input dim dims[i]."""
        dims = _keyword_shape(dims, keyword, "dims")
        dims = _shape_args(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(
                f"permute(sparse_coo): number of dimensions in the tensor input does not match "
                f"the length of the desired ordering of dimensions i.e. input.dim() = "
                f"{self.ndim} is not equal to len(dims) = {len(dims)}"
            )
        axes = tuple(self._dim(d) for d in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return apply(ops.Transpose, self, axes=axes)

    def transpose(self, dim0: int, dim1: int):
        """Swap two dims."""
        if self.ndim == 0:
            self._dim(dim0), self._dim(dim1)
            return apply(ops.Reshape, self, shape=())
        axes = list(range(self.ndim))
        a, b = self._dim(dim0), self._dim(dim1)
        axes[a], axes[b] = axes[b], axes[a]
        return apply(ops.Transpose, self, axes=tuple(axes))

    swapaxes = swapdims = transpose

    def movedim(self, source, destination):
        """Move dim(s) `source` to position(s) `destination`, keeping the others' order."""
        sources = [source] if isinstance(source, int) else list(source)
        targets = [destination] if isinstance(destination, int) else list(destination)
        if len(sources) != len(targets):
            raise RuntimeError(
                f"movedim: Invalid source or destination dims: source ({sources} dims) should "
                f"contain the same number of dims as destination ({targets} dims)"
            )
        sources = [self._dim(d) for d in sources]
        targets = [self._dim(d) for d in targets]
        order = [d for d in range(self.ndim) if d not in sources]
        for target, source_dim in sorted(zip(targets, sources)):
            order.insert(target, source_dim)
        return self.permute(*order)

    moveaxis = movedim

    def t(self):
        """The transpose of a matrix (a tensor of at most 2 dims is returned as it is)."""
        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D"
            )
        return (
            self.transpose(0, 1) if self.ndim == 2 else apply(ops.Reshape, self, shape=self.shape)
        )

    def expand(self, *sizes, **keyword):
        """Broadcast to `sizes` (-1 keeps a size) without copying; gradients are summed back."""
        sizes = _keyword_shape(sizes, keyword, "size")
        sizes = _shape_args(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
                f"to the number of dimensions in the tensor ({self.ndim})"
            )
        shape = []
        for i, size in enumerate(sizes):
            own = self.shape[i - lead] if i >= lead else None
            if size == -1:
                if own is None:
                    raise RuntimeError(
                        "expand: -1 is not allowed in a leading, non-existing dimension"
                    )
                size = own
            elif own is not None and own != size and own != 1:
                raise RuntimeError(
                    f"The expanded size of the tensor ({size}) must match the existing size "
                    f"({own}) at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  "
                    f"Tensor sizes: {list(self.shape)}"
                )
            shape.append(size)
        return apply(ops.Expand, self, shape=tuple(shape))

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, *shape):
        return self.expand(*shape)

    def squeeze(self, dim=None):
        """Drop dims of size 1 (all of them, or those in `dim`)."""
        if dim is None:
            axes = set(range(self.ndim))
        else:
            axes = {self._dim(d) for d in ((dim,) if isinstance(dim, int) else dim)}
        shape = tuple(s for i, s in enumerate(self.shape) if i not in axes or s != 1)
        return apply(ops.Reshape, self, shape=shape)

    def unsqueeze(self, dim: int):
        """Insert a dim of size 1 at position `dim` (in [-ndim - 1, ndim])."""
        rank = self.ndim + 1
        if not -rank <= dim < rank:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
                f"but got {dim})"
            )
        axis = dim % rank
        shape = self.shape
        return apply(ops.Reshape, self, shape=shape[:axis] + (1,) + shape[axis:])

    def narrow(self, dim: int, start: int, length: int):
        """The slice [start, start + length) along `dim`, a view."""
        axis = self._dim(dim)
        size = self.shape[axis]
        start = int(start)
        if not -size <= start <= size:
            raise IndexError(
                f"start out of range (expected to be in range of [{-size}, {size}], but got "
                f"{start})"
            )
        start %= size if size else 1
        if length < 0 or start + length > size:
            raise RuntimeError(
                f"start ({start}) + length ({length}) exceeds dimension size ({size})."
            )
        return self[(slice(None),) * axis + (slice(start, start + length),)]

    def unbind(self, dim: int = 0) -> tuple:
        """The slices along `dim`, each without that dim."""
        axis = self._dim(dim)
        return tuple(self.select(axis, i) for i in range(self.shape[axis]))

    def select(self, dim: int, index: int):
        axis = self._dim(dim)
        size = self.shape[axis]
        if not -size <= index < size:
            raise IndexError(
                f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                f"dimension {axis}"
            )
        return self[(slice(None),) * axis + (index,)]

    def split(self, split_size_or_sections, dim: int = 0) -> tuple:
        """Pieces of `split_size` along `dim` (the last may be smaller), or of the listed sizes."""
        if self.ndim == 0:
            raise RuntimeError("split expects at least a 1-dimensional tensor")
        axis = self._dim(dim)
        length = self.shape[axis]
        if isinstance(split_size_or_sections, (int, np.integer)):
            step = int(split_size_or_sections)
            if step < 0:
                raise RuntimeError(
                    f"split expects split_size be non-negative, but got split_size={step}"
                )
            if step == 0 and length:
                raise RuntimeError(
                    "split_size can only be 0 if dimension size is 0, but got dimension size of "
                    f"{length}"
                )
            starts = range(0, length, step) if step else ()
            sizes = [min(step, length - start) for start in starts] or [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != length or any(s < 0 for s in sizes):
                raise RuntimeError(
                    f"split_with_sizes expects split_sizes to sum exactly to {length} (input "
                    f"tensor's size at dimension {axis}), but got split_sizes={sizes}"
                )
        pieces, start = [], 0
        lead = (slice(None),) * axis
        for size in sizes:
            pieces.append(self[lead + (slice(start, start + size),)])
            start += size
        return tuple(pieces)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """At most `chunks` pieces along `dim`, each ceil(size / chunks) long but the last."""
        if self.ndim == 0:
            raise RuntimeError("chunk expects at least a 1-dimensional tensor")
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        length = self.shape[self._dim(dim)]
        if length == 0:  # as PyTorch: `chunks` empty pieces
            return self.split([0] * chunks, dim)
        return self.split(-(-length // chunks), dim)

    # ------------------------------------------------------------ copies

    def flip(self, *dims, **keyword):
        """The values in reverse order along `dims` (a copy, as torch.flip)."""
        dims = _keyword_shape(dims, keyword, "dims")
        axes = tuple(self._dim(d) for d in _shape_args(dims))
        if len(set(axes)) != len(axes):
            raise RuntimeError("dims has duplicates")
        return apply(ops.Flip, self, axes=axes) if self.ndim else self.clone()

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1):
        """The diagonal at `offset` of the planes (dim1, dim2), as the last dimension (a copy;
        PyTorch's is a view, so writing into it does not reach this tensor here)."""
        axis1, axis2 = self._dim(dim1), self._dim(dim2)
        if axis1 == axis2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return apply(ops.Diagonal, self, offset=int(offset), axis1=axis1, axis2=axis2)

    def diag(self, diagonal: int = 0):
        """A 1-D tensor as the diagonal of a square matrix, or a matrix's diagonal."""
        if self.ndim == 1:
            return apply(ops.DiagMatrix, self, offset=int(diagonal))
        if self.ndim == 2:
            return self.diagonal(diagonal)
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")

    def repeat(self, *sizes, **keyword):
        """The tensor tiled `sizes` times per dim (sizes may add leading dims)."""
        sizes = _keyword_shape(sizes, keyword, "repeats")
        sizes = _shape_args(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of "
                "dimensions of tensor"
            )
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
        return apply(ops.Tile, self, reps=sizes)

    def repeat_interleave(self, repeats: int, dim: int | None = None):
        source = self.flatten() if dim is None else self
        axis = 0 if dim is None else self._dim(dim)
        expanded = source.unsqueeze(axis + 1)
        shape = list(expanded.shape)
        shape[axis + 1] = repeats
        merged = list(source.shape)
        merged[axis] *= repeats
        return expanded.expand(shape).reshape(merged)


def _resolve_shape(shape: tuple, count: int) -> tuple:
    """`shape` with its -1 filled in; RuntimeError (PyTorch's message) if it cannot hold
    `count` elements."""
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if unknown:
        if known == 0 or count % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {count}")
        shape = shape[: unknown[0]] + (count // known,) + shape[unknown[0] + 1 :]
    elif known != count:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {count}")
    return shape


# ---------------------------------------------------------------- functions of several tensors


def _tensors(tensors: Sequence, name: str) -> list:
    if type(tensors) in TENSOR_TYPES:
        raise TypeError(f"{name}(): argument 'tensors' must be a tuple or list of Tensors")
    tensors = list(tensors)
    if not tensors:
        if name == "cat":
            raise ValueError("torch.cat(): expected a non-empty list of Tensors")
        raise RuntimeError("stack expects a non-empty TensorList")
    for position, t in enumerate(tensors):
        if type(t) not in TENSOR_TYPES:
            raise TypeError(
                f"expected Tensor as element {position} in argument 0, but got {type(t).__name__}"
            )
    dtype = result_type(*tensors)
    return [cast(t, dtype) for t in tensors]


def cat(tensors: Sequence, dim: int = 0, *, axis: int | None = None):
    """Join tensors along an existing dim (1-D empty tensors are skipped, as PyTorch)."""
    dim = dim if axis is None else axis
    tensors = _tensors(tensors, "cat")
    kept = [t for t in tensors if not _skipped_in_cat(t)] or tensors[:1]
    first = kept[0]
    if first.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    axis_ = first._dim(dim)
    for position, t in enumerate(kept):
        if t.ndim != first.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {first.ndim} and {t.ndim}"
            )
        for d in range(t.ndim):
            if d != axis_ and t.shape[d] != first.shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {axis_}. Expected size "
                    f"{first.shape[d]} but got size {t.shape[d]} for tensor number {position} in "
                    "the list."
                )
    return apply(ops.Concatenate, *tensors, axis=axis_)


def _skipped_in_cat(t) -> bool:
    """PyTorch's cat passes over 1-D empty tensors (a legacy allowance)."""
    return t.ndim == 1 and t.shape[0] == 0


def stack(tensors: Sequence, dim: int = 0):
    """Join tensors of one shape along a new dim."""
    tensors = _tensors(tensors, "stack")
    first = tensors[0]
    for position, t in enumerate(tensors):
        if t.shape != first.shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(first.shape)} at "
                f"entry 0 and {list(t.shape)} at entry {position}"
            )
    rank = first.ndim + 1
    if not -rank <= dim < rank:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], but got "
            f"{dim})"
        )
    return apply(ops.Stack, *tensors, axis=dim % rank)


def where(condition, input=None, other=None):
    """`input` where `condition` holds, else `other` (gradients flow to both, not to the
    condition); numbers and tensors promote as in arithmetic."""
    if input is None and other is None:
        return operand(condition, None).nonzero(as_tuple=True)
    like = next((x for x in (input, other, condition) if type(x) in TENSOR_TYPES), None)
    condition = operand(condition, like)
    if condition.dtype.kind not in "bu":
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{condition.dtype.name}"
        )
    a, b = promote(operand(input, like), operand(other, like))
    if type(a) not in TENSOR_TYPES and type(b) not in TENSOR_TYPES:
        dtype = result_type(a, b)
        a = cast(operand(np.asarray(a, dtype=dtype), like), dtype)
    try:
        return apply(ops.Where, condition.to(bool), a, b)
    except ValueError:
        shapes = [getattr(x, "shape", ()) for x in (condition, a, b)]
        raise RuntimeError(broadcast_error(*shapes) or "where: shapes do not broadcast") from None
