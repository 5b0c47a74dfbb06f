"""PyTorch's default_collate and default_convert: samples to batches, NumPy to tensors.

The same rules as torch.utils.data's: tensors stack along a new first axis, NumPy arrays and
scalars become tensors of their dtype, Python floats float64 and ints int64 (bools bool),
strings stay lists, and mappings, namedtuples and sequences are collated field by field (a
tuple of fields comes back as a list, as in PyTorch).
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable

import numpy as np

from ...creation import as_tensor, tensor
from ...tensor import Tensor
from ...tensor_shape import stack

_STRING_OR_OBJECT = re.compile(r"[SaUO]")  # NumPy dtypes that cannot become tensors

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def default_convert(data):
    """NumPy arrays and scalars inside `data` as tensors (collate for batch_size=None)."""
    data_type = type(data)
    if isinstance(data, Tensor):
        return data
    if data_type.__module__ == "numpy" and data_type.__name__ not in ("str_", "string_"):
        if isinstance(data, np.ndarray) and _STRING_OR_OBJECT.search(data.dtype.str):
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return data_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(original, values: dict):
    """`values` in the mapping type of `original` where it can be built, else a dict."""
    try:
        if isinstance(original, collections.abc.MutableMapping):
            clone = copy.copy(original)
            clone.update(values)
            return clone
        return type(original)(values)
    except TypeError:
        return values


def _rebuild_sequence(original, values: list):
    """`values` in the sequence type of `original` where it can be built, else a list."""
    try:
        if isinstance(original, collections.abc.MutableSequence):
            clone = copy.copy(original)
            for i, value in enumerate(values):
                clone[i] = value
            return clone
        return type(original)(values)
    except TypeError:
        return values


def collate(batch, *, collate_fn_map: dict | None = None):
    """Collate a list of samples, using `collate_fn_map` (type -> function) for the leaves."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        values = {
            key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem
        }
        return _rebuild_mapping(elem, values)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(sample) == size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        return fields if isinstance(elem, tuple) else _rebuild_sequence(elem, fields)
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map=None) -> Tensor:
    """Tensors of one shape S -> one tensor (B, *S)."""
    return stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None) -> Tensor:
    """NumPy arrays of one shape S -> one tensor (B, *S) of their dtype."""
    if _STRING_OR_OBJECT.search(batch[0].dtype.str):
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None) -> Tensor:
    """NumPy scalars -> a tensor (B,) of their dtype."""
    return as_tensor(batch)


def collate_float_fn(batch, *, collate_fn_map=None) -> Tensor:
    """Python floats -> a float64 tensor (B,), as PyTorch."""
    return tensor(batch, dtype=np.float64)


def collate_int_fn(batch, *, collate_fn_map=None) -> Tensor:
    """Python ints -> an int64 tensor (B,) (bools -> bool)."""
    return tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None) -> list:
    """Strings and bytes stay a list."""
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """PyTorch's default collate: a list of B samples -> one batch of the same structure."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
