"""Shape, indexing and joining primitives.

Ops marked `view = True` may return a view of their first input (NumPy decides: a reshape of
a transposed array copies); the engine then shares the input's version counter with the
result, and records how to take the view again, so that an in-place write through the view
can rewrite the base's history (as PyTorch's views do).
"""

from __future__ import annotations

import itertools

import numpy as np

from ..autograd import Function, PartialGrad
from ..backend import get_array_module, stack


class Reshape(Function):
    view = True

    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, grad):
        return (grad.reshape(self.shape),)


class Transpose(Function):
    view = True

    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, grad):
        inverse = [0] * len(self.axes)
        for position, axis in enumerate(self.axes):
            inverse[axis] = position
        return (grad.transpose(inverse),)


class Expand(Function):
    view = True

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
    """In an index, the place of the k-th index array (an input of the op)."""


def fill_index(index, arrays):
    """`index` with each IndexInput replaced by the array it stands for."""
    if isinstance(index, IndexInput):
        return arrays[index]
    if isinstance(index, tuple):
        return tuple(arrays[i] if isinstance(i, IndexInput) else i for i in index)
    return index


class GetItem(Function):
    """a[index] by NumPy's rules (the tensor method first turns PyTorch's index into such
    steps); arrays in the index (integer or boolean) arrive as further inputs."""

    view = True

    @staticmethod
    def saved(needs):
        return tuple(range(1, len(needs)))

    def forward(self, a, *index_arrays, index):
        self.shape, self.index = a.shape, fill_index(index, index_arrays)
        return a[self.index]

    def backward(self, grad):
        partial = PartialGrad(self.index, grad, self.shape, is_basic_index(self.index))
        return (partial,) + (None,) * (len(self.needs_input_grad) - 1)


class SetItem(Function):
    """a[prefix][index] = value, written into `a` itself (its forward is in place: the tensor
    method runs it on the target's own array). `prefix` is a basic index taken first, as
    PyTorch applies integers before advanced indices. The old values get no gradient where
    they were overwritten; the value gets the gradient of the region, summed back to its
    shape by the engine."""

    inplace = True

    @staticmethod
    def saved(needs):
        return tuple(range(2, len(needs)))

    def forward(self, a, value, *index_arrays, prefix, index):
        self.prefix, self.index = prefix, fill_index(index, index_arrays)
        region = a[prefix] if prefix is not None else a
        region[self.index] = value
        return a

    def backward(self, grad):
        need_a, need_value = self.needs_input_grad[:2]
        grad_a = grad_value = None
        if need_a:
            grad_a = grad.copy()
            (grad_a[self.prefix] if self.prefix is not None else grad_a)[self.index] = 0
        if need_value:
            grad_value = (grad[self.prefix] if self.prefix is not None else grad)[self.index]
        return (grad_a, grad_value) + (None,) * (len(self.needs_input_grad) - 2)


class ViewScatter(Function):
    """The history of a base after an in-place write through one of its views: the base's
    old values keep the gradient outside the view, the view's new values get the rest.
    `take` re-takes the view (an op and its arguments) from any array of the base's shape."""

    def __init__(self, view_op, view_kwargs):
        self.view_op, self.view_kwargs = view_op, view_kwargs

    def take(self, array):
        return self.view_op().forward(array, **self.view_kwargs)

    def backward(self, grad):
        grad_base = grad.copy()
        self.take(grad_base)[...] = 0
        return grad_base, self.take(grad)


class Concatenate(Function):
    """Join along `axis`; 1-D empty inputs are passed over (PyTorch's legacy allowance) and
    get empty gradients."""

    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.kept = [not (a.ndim == 1 and a.shape[0] == 0) for a in arrays]
        joined = [a for a, keep in zip(arrays, self.kept) if keep] or list(arrays[:1])
        self.bounds = list(itertools.accumulate(a.shape[axis] for a in joined))[:-1]
        return get_array_module(arrays[0]).concatenate(joined, axis=axis)

    def backward(self, grad):
        xp = get_array_module(grad)
        pieces = iter(xp.split(grad, self.bounds, axis=self.axis))
        return tuple(next(pieces) if keep else xp.zeros(0, grad.dtype) for keep in self.kept)


class Stack(Function):
    def forward(self, *arrays, axis=0):
        self.axis, self.count = axis, len(arrays)
        xp = get_array_module(arrays[0])
        if xp is not np:
            stacked = stack(arrays)  # one launch, and one a CUDA graph can hold
            if stacked is not None:
                return xp.moveaxis(stacked, 0, axis % stacked.ndim)
        return xp.stack(arrays, axis=axis)

    def backward(self, grad):
        return tuple(get_array_module(grad).moveaxis(grad, self.axis, 0))


class Pad(Function):
    def forward(self, a, pad_width, value=0.0):
        self.slices = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, a.shape))
        return get_array_module(a).pad(a, pad_width, constant_values=value)

    def backward(self, grad):
        return (grad[self.slices],)


class Flip(Function):
    """The values in reverse order along `axes`, copied (as torch.flip, not a view)."""

    def forward(self, a, axes):
        self.axes = axes
        return get_array_module(a).flip(a, axes).copy()

    def backward(self, grad):
        return (get_array_module(grad).flip(grad, self.axes),)


class Diagonal(Function):
    """The diagonal at `offset` of the planes (axis1, axis2), as the last axis (a copy; torch's
    diagonal is a view)."""

    def forward(self, a, offset, axis1, axis2):
        self.shape, self.args = a.shape, (offset, axis1, axis2)
        return get_array_module(a).diagonal(a, offset, axis1, axis2).copy()

    def backward(self, grad):
        offset, axis1, axis2 = self.args
        xp = get_array_module(grad)
        full = xp.zeros(self.shape, dtype=grad.dtype)
        planes = xp.moveaxis(full, (axis1, axis2), (-2, -1))  # a view: writes reach `full`
        count = grad.shape[-1]
        rows = xp.arange(count) + max(-offset, 0)
        planes[..., rows, rows + offset] = grad
        return (full,)


class DiagMatrix(Function):
    """A vector (n,) placed on the diagonal at `offset` of a square matrix of zeros."""

    def forward(self, a, offset):
        self.offset = offset
        return get_array_module(a).diag(a, offset)

    def backward(self, grad):
        return (get_array_module(grad).diagonal(grad, self.offset).copy(),)


class Tile(Function):
    """Tensor.repeat: the input tiled `reps` times per axis (reps may add leading axes)."""

    def forward(self, a, reps):
        self.shape, self.reps = a.shape, reps
        return get_array_module(a).tile(a, reps)

    def backward(self, grad):
        shape = (1,) * (len(self.reps) - len(self.shape)) + self.shape
        split = [n for pair in zip(self.reps, shape) for n in pair]
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return (summed.reshape(self.shape),)


def _along(index, axis: int):
    """An index tuple that reads `array[..., index[...], ...]` along `axis` elementwise
    (PyTorch's gather/scatter addressing): aranges on the other axes, `index` on `axis`."""
    xp = get_array_module(index)
    grids = xp.ix_(*(xp.arange(n) for n in index.shape)) if index.ndim else ()
    return tuple(index if i == axis else grid for i, grid in enumerate(grids))


def _check_bounds(index, size: int, axis: int) -> None:
    """PyTorch's check of gather/scatter indices (NumPy would wrap negative ones)."""
    if index.size:
        low, high = int(index.min()), int(index.max())
        if low < 0 or high >= size:
            bad = low if low < 0 else high
            raise RuntimeError(
                f"index {bad} is out of bounds for dimension {axis} with size {size}"
            )


class Gather(Function):
    """out[i][j] = a[i][index[i][j]] along `axis` (index may be smaller than a elsewhere)."""

    saved_inputs = (1,)

    def forward(self, a, index, axis):
        _check_bounds(index, a.shape[axis], axis)
        self.shape, self.where = a.shape, _along(index, axis)
        return a[self.where]

    def backward(self, grad):
        return PartialGrad(self.where, grad, self.shape, False), None


class Scatter(Function):
    """A copy of `a` with `src` written at `index` along `axis` (added there if `add`); src's
    gradient is read back at the same places, a's is zero where scatter overwrote."""

    saved_inputs = (1,)

    def forward(self, a, index, src, axis, add=False):
        _check_bounds(index, a.shape[axis], axis)
        xp = get_array_module(a)
        self.where, self.add = _along(index, axis), add
        self.src_shape = getattr(src, "shape", ())
        self.region = tuple(slice(0, n) for n in index.shape)  # src may be larger than index
        out = a.copy()
        values = src[self.region] if self.src_shape else src
        if add:
            xp.add.at(out, self.where, values)
        else:
            out[self.where] = values
        return out

    def backward(self, grad):
        need_a, _, need_src = self.needs_input_grad
        grad_a = grad_src = None
        if need_a:
            grad_a = grad if self.add else grad.copy()
            if not self.add:
                grad_a[self.where] = 0
        if need_src:
            grad_src = PartialGrad(self.region, grad[self.where], self.src_shape, True)
        return grad_a, None, grad_src
