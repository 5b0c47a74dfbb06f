"""tinygrad_rnn: a small reverse-mode autograd engine on NumPy and CuPy, for recurrent networks.

Its names and behaviour are PyTorch's, so that `import tinygrad_rnn as torch` reads as usual.
"""

import numpy as np

from . import (
    accelerator,
    amp,
    backends,
    cuda,
    distributions,
    functional,
    nn,
    optim,
    random,
    serialization,
    utils,
)
from . import functional as F
from .amp import autocast
from .autograd import JitError
from .backend import cuda_is_available, device, get_default_device, set_default_device
from .checkpoint import CheckpointError
from .creation import (
    arange,
    as_tensor,
    asarray,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .dtypes import (
    DType,
    as_dtype,
    get_default_dtype,
    promote_types,
    result_type,
    set_default_dtype,
)
from .functions import *  # noqa: F403 - the tensor methods as functions (tg.sum, tg.exp, ...)
from .functions import is_floating_point, is_tensor, max, maximum, min, minimum  # noqa: A004
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .jit import jit
from .printing import set_printoptions
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .runtime import (
    are_deterministic_algorithms_enabled,
    compile,  # noqa: A004 - PyTorch's name
    get_float32_matmul_precision,
    get_num_interop_threads,
    get_num_threads,
    is_deterministic_algorithms_warn_only_enabled,
    set_float32_matmul_precision,
    set_num_interop_threads,
    set_num_threads,
    use_deterministic_algorithms,
)
from .serialization import load, save
from .tensor import Size, Tensor
from .tensor_shape import cat, stack, where
from .tensor_types import CPU_TYPES

globals().update(CPU_TYPES)  # the legacy types: FloatTensor, LongTensor, ...

concatenate = concat = cat

# dtypes, by PyTorch's names (each equals its NumPy dtype: tg.float32 == np.float32)
float16 = half = as_dtype(np.float16)
float32 = float = as_dtype(np.float32)  # noqa: A001 - PyTorch's names
float64 = double = as_dtype(np.float64)
uint8 = as_dtype(np.uint8)
int8 = as_dtype(np.int8)
int16 = short = as_dtype(np.int16)
int32 = int = as_dtype(np.int32)  # noqa: A001
int64 = long = as_dtype(np.int64)
bool = as_dtype(np.bool_)  # noqa: A001
bool_ = bool
dtype = DType

__version__ = "0.1.0"
