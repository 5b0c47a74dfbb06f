"""Parameter (torch.nn.parameter's path): a tensor that a Module registers as a weight."""

from __future__ import annotations

import numpy as np

from ..creation import as_tensor
from ..dtypes import get_default_dtype, is_floating
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module registers as one of its weights (requires grad by default).

    As in PyTorch, `Parameter(tensor)` shares the tensor's memory."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = as_tensor(np.zeros(0, dtype=get_default_dtype()))
        elif not isinstance(data, Tensor):
            data = as_tensor(data)
        if requires_grad and not is_floating(data.dtype):
            raise RuntimeError("Only Tensors of floating point dtype can require gradients")
        self._set(data.array, data.device, bool(requires_grad))

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
