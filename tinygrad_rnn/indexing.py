"""PyTorch's indexing rules, as NumPy indexing steps.

The two libraries agree on everything but one case: where integers and index arrays appear
together. NumPy counts an integer as one more advanced index (so `x[0, :, [0, 1]]` on a
(2, 3, 4) array puts the advanced dimension first: (2, 3)); PyTorch first applies integers,
slices and None as a plain view, then the index arrays to what remains ((3, 2)). `plan` turns a
PyTorch index into those two steps: a basic `prefix` (a view, or None when not needed) and the
`rest`, whose index arrays NumPy then places exactly as PyTorch does.
"""

from __future__ import annotations

import numpy as np

_NOT_AN_INDEX = (
    "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
    "indices (got {})"
)


def plan(index, ndim: int, tensor_type) -> tuple[tuple | None, tuple]:
    """(prefix, rest) for `x[index]` on a tensor of `ndim` dimensions: `x[prefix][rest]` in
    NumPy's rules (prefix None: just `x[rest]`). Index arrays in `rest` are NumPy int64 or
    bool arrays, or tensors of `tensor_type` (passed through for the caller to place)."""
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(_item(item, tensor_type) for item in items)
    _check_dims(items, ndim)
    arrays = [i for i, item in enumerate(items) if _is_array(item, tensor_type)]
    if not arrays:
        return None, items
    if not any(type(item) in (int, bool) for item in items):
        return None, items
    prefix, rest = [], []
    for item in items:
        if _is_array(item, tensor_type):
            prefix += [slice(None)] * _dims_of(item)
            rest.append(item)
        elif type(item) is int:
            prefix.append(item)
        elif type(item) is bool:  # True adds an axis of 1, False one of 0
            prefix.append(None)
            rest.append(slice(None) if item else slice(0, 0))
        elif item is Ellipsis:
            prefix.append(item)
            rest.append(item)
        else:  # a slice (applied in the prefix) or None (its new axis is there now)
            prefix.append(item)
            rest.append(slice(None))
    return tuple(prefix), tuple(rest)


def _item(item, tensor_type):
    """One index item as int, bool, slice, None, Ellipsis, or an int64/bool array or tensor."""
    if item is None or item is Ellipsis or type(item) in (int, bool):
        return item
    if isinstance(item, slice):
        return _slice(item, tensor_type)
    if isinstance(item, (np.integer, np.bool_)):
        return item.item()
    if isinstance(item, tensor_type):
        kind = item.dtype.kind
        if kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if item.ndim == 0 and kind in "i":
            return int(item.item())  # as PyTorch: a 0-d integer tensor selects, like an int
        return item if kind != "u" else item.to(bool)
    if isinstance(item, (list, tuple, np.ndarray)):
        array = np.asarray(item) if len(item) or isinstance(item, np.ndarray) else np.zeros(0, int)
        if array.dtype == object:
            raise IndexError(_NOT_AN_INDEX.format("a ragged list"))
        if array.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return array.astype(np.int64) if array.dtype.kind in "iu" else array
    if isinstance(item, str):
        raise TypeError(f"new(): invalid data type '{type(item).__name__}'")
    raise IndexError(_NOT_AN_INDEX.format(type(item).__name__))


def _slice(item: slice, tensor_type) -> slice:
    bounds = [
        int(b.item()) if isinstance(b, tensor_type) else b
        for b in (item.start, item.stop, item.step)
    ]
    if bounds[2] is not None and bounds[2] <= 0:
        raise ValueError("step must be greater than zero")
    return slice(*bounds)


def _is_array(item, tensor_type) -> bool:
    return isinstance(item, (np.ndarray, tensor_type))


def _dims_of(item) -> int:
    """How many of the indexed tensor's dimensions an item consumes."""
    if item is None or type(item) is bool:
        return 0
    if hasattr(item, "dtype") and item.dtype.kind == "b":
        return item.ndim  # a mask covers as many dimensions as it has
    return 1


def _check_dims(items: tuple, ndim: int) -> None:
    ellipses = sum(item is Ellipsis for item in items)
    if ellipses > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_dims_of(item) for item in items if item is not Ellipsis)
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
