"""The only place that knows devices: NumPy for "cpu", CuPy for "cuda" (imported when first needed).

The engine asks this module for what differs by device: the array module, products (`matmul`),
stacking (`stack`) and fused kernels (`kernel`). What serves CuPy arrays beyond CuPy itself
(fused kernels, cuBLAS called directly, CUDA graph capture) lives in `backend.cuda` and is
imported only for CuPy arrays.
"""

from __future__ import annotations

import ctypes
import importlib
import math
import os
import sys
from typing import Any

import numpy as np

DEVICES = ("cpu", "cuda")

_cupy: Any = None


def keep_freed_memory(trim_threshold: int = 256 << 20, mmap_threshold: int = 32 << 20) -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the OS at once.

    By default glibc gives back heap memory as soon as 128 KB lie free at its top, and serves
    arrays over 128 KB with fresh mmaps. An unrolled graph frees and reallocates megabytes every
    training step, so each step faulted all those pages back in (the 28-step RNN benchmark ran
    at 2.1x the hand-written NumPy time instead of 1.3x). Called once at import (process-wide,
    like any allocator setting); set TINYGRAD_RNN_KEEP_MEMORY=0 to leave malloc alone.
    Returns whether the setting was applied.
    """
    if not sys.platform.startswith("linux") or os.environ.get("TINYGRAD_RNN_KEEP_MEMORY") == "0":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...): nothing to tune
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(
        libc.mallopt(m_trim_threshold, trim_threshold)
        and libc.mallopt(m_mmap_threshold, mmap_threshold)
    )


keep_freed_memory()


def _import_cupy():
    global _cupy
    if _cupy is None:
        try:
            _cupy = importlib.import_module("cupy")
        except ImportError as error:
            raise RuntimeError(
                'device "cuda" needs CuPy: pip install "tinygrad_rnn[gpu]" (and a CUDA GPU)'
            ) from error
    return _cupy


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        return _import_cupy().cuda.runtime.getDeviceCount() > 0
    except Exception:  # no CuPy, no driver, no device: all mean "not available"
        return False


class device(str):  # noqa: N801 - PyTorch's name
    """A device, as torch.device: device("cpu"), device("cuda"), device("cuda:1"),
    device("cuda", 1). It is also the string "cpu" or "cuda", so tensors compare and key their
    devices as strings; `.type` and `.index` are PyTorch's. One process drives one GPU:
    naming "cuda:N" makes GPU N this process's CUDA device (where PyTorch could hold tensors
    on several GPUs in one process)."""

    index = None

    def __new__(cls, type_or_name, index: int | None = None):
        if isinstance(type_or_name, device) and index is None:
            return type_or_name
        text = str(type_or_name) if index is None else f"{type_or_name}:{index}"
        name, _, number = text.partition(":")
        if name not in DEVICES or (number and not number.isdigit()):
            raise RuntimeError(
                f"unknown device {text!r}: expected 'cpu', 'cuda' or 'cuda:N' "
                "(lower case, as PyTorch writes them)"
            )
        if not number:
            return _DEVICE[name]
        if name == "cuda":
            _select_gpu(int(number))
        made = str.__new__(cls, name)
        made.index = int(number)
        return made

    @property
    def type(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __reduce__(self):
        return device, (self.type, self.index)


_DEVICE = {name: str.__new__(device, name) for name in DEVICES}
_default_device = _DEVICE["cpu"]


def check_device(name) -> device:
    """The device a name (or a device) means, or the default device for None. As PyTorch, an
    unknown name ("gpu", "CPU") and a GPU that is not there raise RuntimeError."""
    if name is None:
        return _default_device
    if name.__class__ is device:
        return _DEVICE[str.__str__(name)]
    return _DEVICE[str.__str__(device(name))]


def _select_gpu(index: int) -> None:
    cupy = _import_cupy()
    count = cupy.cuda.runtime.getDeviceCount()
    if index >= count:
        raise RuntimeError(f"CUDA device {index} requested, but this machine has {count}")
    if cupy.cuda.Device().id != index:
        cupy.cuda.Device(index).use()


def set_default_device(device: str) -> None:
    """Make `device` the device of tensors created without an explicit one."""
    global _default_device
    device = check_device(device)
    if device == "cuda":
        _import_cupy()
    _default_device = device


def get_default_device() -> str:
    return _default_device


def xp_for(device: str):
    """The array module of a device: numpy for "cpu", cupy for "cuda"."""
    return np if device == "cpu" else _import_cupy()


def device_of(array) -> str:
    """The device an array lives on."""
    return _DEVICE["cpu" if isinstance(array, (np.ndarray, np.generic)) else "cuda"]


def get_array_module(array):
    """numpy or cupy, whichever owns `array` (Chainer's get_array_module)."""
    return np if isinstance(array, (np.ndarray, np.generic)) else _import_cupy()


def to_device(array, device: str):
    """`array` on `device`, copied only when it has to move."""
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    return _import_cupy().asarray(array)


def matmul(a, b):
    """a @ b; CuPy float arrays go straight to cuBLAS, where a CUDA graph can capture them."""
    if isinstance(a, np.ndarray):
        return a @ b
    from .cuda import cublas

    out = cublas.matmul(a, b)
    return a @ b if out is None else out


def kernel(name: str, *arrays):
    """The fused GPU kernel `name` for these arrays (see backend/cuda/fused.py), or None: always
    None for NumPy arrays, so the caller runs its array code, the kernels' reference."""
    if type(arrays[0]) is np.ndarray:
        return None
    from .cuda import fused

    return fused.kernel(name, *arrays)


def stack(arrays):
    """`arrays` (one shape and dtype, C-contiguous) stacked on a new first axis, or None where
    they do not stack so. On CuPy one launch per 64 of them, a stack a CUDA graph can hold
    (CuPy's own reads their addresses on the host); on NumPy np.stack."""
    first = arrays[0]
    if type(first) is not np.ndarray:
        from .cuda import fused

        return fused.stack(arrays)
    for array in arrays:
        if (
            type(array) is not np.ndarray
            or array.shape != first.shape
            or array.dtype != first.dtype
            or not array.flags.c_contiguous
        ):
            return None
    return np.stack(arrays)


def sum_to(grad, shape: tuple[int, ...]):
    """Sum `grad` over the axes that broadcasting added or stretched, so it takes `shape`."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead and grad.dtype in (np.float32, np.float64) and grad.flags.c_contiguous:
        # the added axes (a bias used by every row) as a matrix-vector product: BLAS sums
        # 4200 rows of 150 four times faster than a ufunc reduction over axis 0
        rows, rest = math.prod(grad.shape[:lead]), grad.shape[lead:]
        ones = get_array_module(grad).ones(rows, dtype=grad.dtype)
        grad = matmul(ones, grad.reshape(rows, math.prod(rest))).reshape(rest)
        lead = 0
    stretched = tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and grad.shape[lead + i] != 1
    )
    return grad.sum(axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)
