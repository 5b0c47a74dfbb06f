"""PyTorch's legacy tensor types: `torch.FloatTensor`, `torch.LongTensor`, ... and torch.cuda's.

Each is a constructor of its dtype, as in PyTorch: `LongTensor(2, 3)` a (2, 3) tensor (zeros
here; PyTorch leaves the memory uninitialised), `LongTensor([1.7, 2])` the data converted
(tensor([1, 2])), `LongTensor()` an empty one. It is also a class for `isinstance(x,
torch.LongTensor)` (an int64 tensor on the CPU) and for `x.type(torch.LongTensor)`. What it
makes is an ordinary Tensor: `type(torch.LongTensor([1]))` is Tensor, as in PyTorch.
`tensor.new(...)` is the same constructor with the tensor's dtype and device.
"""

from __future__ import annotations

import numpy as np

from .dtypes import as_dtype
from .tensor import Tensor
from .tensor_convert import _TYPE_NAMES, legacy_new


class TensorType(type):
    """The metaclass of the legacy types: calling one constructs, isinstance checks the dtype
    and the device."""

    dtype: np.dtype
    is_cuda: bool

    def __call__(cls, *args, device=None):
        return legacy_new(args, cls.dtype, device or ("cuda" if cls.is_cuda else "cpu"))

    def __instancecheck__(cls, obj) -> bool:
        return (
            isinstance(obj, Tensor)
            and obj.dtype == cls.dtype
            and (obj.device.type == "cuda") == cls.is_cuda
        )


def _types(is_cuda: bool) -> dict[str, TensorType]:
    module = "tinygrad_rnn.cuda" if is_cuda else "tinygrad_rnn"
    return {
        name: TensorType(
            name, (), {"dtype": as_dtype(dtype), "is_cuda": is_cuda, "__module__": module}
        )
        for dtype, name in _TYPE_NAMES.items()
    }


CPU_TYPES = _types(is_cuda=False)  # tinygrad_rnn.FloatTensor, ...
CUDA_TYPES = _types(is_cuda=True)  # tinygrad_rnn.cuda.FloatTensor, ...
