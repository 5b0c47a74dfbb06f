"""Python objects as bytes for broadcast_object_list and all_gather_object.

As in PyTorch the objects are pickled, but what a rank unpickles is restricted to an
allow-list (plain Python values, NumPy arrays and scalars, tensors), like `weights_only`
loading: the bytes come from another process, and loading them never runs code it was not
told to trust. Tensors travel as their values (on the CPU) and come back on their device;
CuPy arrays travel as NumPy arrays.
"""

from __future__ import annotations

import io
import pickle

import numpy as np

from ..backend import to_device
from ..creation import as_tensor
from ..tensor import Tensor

_ALLOWED = {
    ("collections", "OrderedDict"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    *((f"numpy.{core}.numeric", "_frombuffer") for core in ("_core", "core")),
    *((f"numpy.{core}.multiarray", "scalar") for core in ("_core", "core")),
    *((f"numpy.{core}.multiarray", "_reconstruct") for core in ("_core", "core")),
    (__name__, "_rebuild_tensor"),
    ("tinygrad_rnn.tensor", "Size"),
    ("tinygrad_rnn.dtypes", "as_dtype"),
    ("tinygrad_rnn.backend", "device"),
}


def _rebuild_tensor(array: np.ndarray, requires_grad: bool, device: str) -> Tensor:
    return as_tensor(array, device=device).requires_grad_(requires_grad)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return _rebuild_tensor, (to_device(obj.array, "cpu"), obj.requires_grad, obj.device)
        if hasattr(obj, "__cuda_array_interface__") and not isinstance(obj, np.ndarray):
            return to_device(obj, "cpu").__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(
                f"a collective received an object of type {module}.{name}, which is not on the "
                "allow-list (Python values, NumPy arrays, tensors): send its values instead"
            )
        return super().find_class(module, name)


def dumps(obj) -> bytes:
    """`obj` as bytes that `loads` turns back into an equal object on any rank."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def loads(data: bytes):
    """The object `dumps` made, refusing anything outside the allow-list."""
    return _Unpickler(io.BytesIO(data)).load()
