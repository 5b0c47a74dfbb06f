"""tinygrad_rnn: a small reverse-mode autograd engine on NumPy and CuPy, for recurrent networks."""

import numpy as np

from . import functional, nn, optim
from . import functional as F
from .autograd import enable_grad, is_grad_enabled, no_grad
from .backend import cuda_is_available, get_default_device, set_default_device
from .checkpoint import CheckpointError, load, save
from .creation import arange, full, ones, ones_like, rand, randn, tensor, zeros, zeros_like
from .gradcheck import GradcheckError, gradcheck
from .jit import JitError, jit
from .tensor import Tensor, cat, concatenate, maximum, minimum, stack, where

float16, float32, float64 = np.float16, np.float32, np.float64
int32, int64, uint8, bool_ = np.int32, np.int64, np.uint8, np.bool_

__version__ = "0.1.0"

# fmt: off
__all__ = [
    "CheckpointError",
    "F",
    "GradcheckError",
    "JitError",
    "Tensor",
    "arange",
    "cat",
    "concatenate",
    "cuda_is_available",
    "enable_grad",
    "full",
    "functional",
    "get_default_device",
    "gradcheck",
    "is_grad_enabled",
    "jit",
    "load",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "randn",
    "save",
    "set_default_device",
    "stack",
    "tensor",
    "where",
    "zeros",
    "zeros_like",
]
# fmt: on
