"""torch.cuda's path: whether a GPU is there, which one, and the calls programs make about it.

There is no separate CUDA random generator: tensors on "cuda" draw from the default generator
(on the CPU), which `tg.manual_seed` seeds, so `manual_seed` and `manual_seed_all` here have
nothing left to seed and change nothing (PyTorch's `torch.manual_seed` seeds CUDA too).
"""

from __future__ import annotations

from . import backend
from .tensor_types import CUDA_TYPES

__all__ = [
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "is_available",
    "is_initialized",
    "manual_seed",
    "manual_seed_all",
    "memory_allocated",
    "seed",
    "seed_all",
    "set_device",
    "synchronize",
    *CUDA_TYPES,
]
globals().update(CUDA_TYPES)  # the legacy types: torch.cuda.FloatTensor, ...


def is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return backend.cuda_is_available()


def is_initialized() -> bool:
    return is_available()


def device_count() -> int:
    """How many CUDA devices CuPy sees (0 without CuPy or a GPU)."""
    return backend.xp_for("cuda").cuda.runtime.getDeviceCount() if is_available() else 0


def _cupy():
    if not is_available():
        raise RuntimeError("no CUDA device is available (CuPy and an NVIDIA GPU are needed)")
    return backend.xp_for("cuda")


def _index(device) -> int:
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    index = backend.device(device).index
    return current_device() if index is None else index


def current_device() -> int:
    """The index of the GPU this process uses."""
    return _cupy().cuda.Device().id


def set_device(device) -> None:
    """Use GPU `device` (an index, "cuda:N" or a device) from now on."""
    backend.device("cuda", _index(device))


def get_device_name(device=None) -> str:
    properties = _cupy().cuda.runtime.getDeviceProperties(_index(device))
    return properties["name"].decode()


def synchronize(device=None) -> None:
    """Wait until the GPU has finished the work queued so far (nothing to wait for on CPU)."""
    if is_available():
        _cupy().cuda.Device(_index(device)).synchronize()


def empty_cache() -> None:
    """Give the GPU memory CuPy holds for reuse back to the driver."""
    if is_available():
        _cupy().get_default_memory_pool().free_all_blocks()


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by live arrays (0 without a GPU)."""
    return _cupy().get_default_memory_pool().used_bytes() if is_available() else 0


def manual_seed(seed: int) -> None:
    """Nothing to seed: "cuda" tensors draw from the default generator (see the module)."""


def manual_seed_all(seed: int) -> None:
    """Nothing to seed: "cuda" tensors draw from the default generator (see the module)."""


def seed() -> None:
    """Nothing to seed: "cuda" tensors draw from the default generator (see the module)."""


def seed_all() -> None:
    """Nothing to seed: "cuda" tensors draw from the default generator (see the module)."""
