"""torch.accelerator's path: the one kind of accelerator here is CUDA (through CuPy)."""

from __future__ import annotations

from . import cuda
from .backend import device


def is_available() -> bool:
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """device("cuda") when CuPy drives a GPU here, else None."""
    return device("cuda") if is_available() else None


def device_count() -> int:
    return cuda.device_count()


def current_device_index() -> int:
    return cuda.current_device()


def set_device_index(index) -> None:
    cuda.set_device(index)


def synchronize(index=None) -> None:
    cuda.synchronize(index)
