"""Factories: tensors filled with constants, ranges or random numbers."""

from __future__ import annotations

import numpy as np

from .autograd import refuse_in_capture
from .backend import check_device, check_dtype, xp_for
from .tensor import Tensor, _shape_args

Generator = np.random.Generator


def make_generator(seed: int | Generator | None) -> Generator:
    """A NumPy Generator from a seed (or the generator itself); None gives a fresh random one."""
    return seed if isinstance(seed, Generator) else np.random.default_rng(seed)


def tensor(data, dtype=None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor holding `data` (a list, number, NumPy or CuPy array), as torch.tensor."""
    return Tensor(data, requires_grad=requires_grad, device=device, dtype=dtype)


def _filled(fill, shape, dtype, device, requires_grad) -> Tensor:
    device = check_device(device)
    dtype = check_dtype(np.float32 if dtype is None else dtype)
    data = xp_for(device).full(_shape_args(shape), fill, dtype=dtype)
    return Tensor(data, requires_grad=requires_grad, device=device)


def zeros(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros, float32 unless `dtype` says otherwise."""
    return _filled(0, shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(1, shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(fill_value, (shape,), dtype, device, requires_grad)


def zeros_like(other: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = dtype or other.dtype, device or other.device
    return _filled(0, (other.shape,), dtype, device, requires_grad)


def ones_like(other: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = dtype or other.dtype, device or other.device
    return _filled(1, (other.shape,), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Evenly spaced values in [start, end), int64 for integer arguments, as in PyTorch."""
    if end is None:
        start, end = 0, start
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dtype = dtype or (np.int64 if integral else np.float32)
    data = np.arange(start, end, step, dtype=check_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, device=device)


def _random(sample, shape, generator, dtype, device, requires_grad) -> Tensor:
    refuse_in_capture("drawing random numbers")
    dtype = check_dtype(np.float32 if dtype is None else dtype)
    data = sample(make_generator(generator), _shape_args(shape)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad, device=device)


def randn(*shape, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples; `generator` is a seed or a numpy.random.Generator."""
    return _random(
        lambda rng, s: rng.standard_normal(s), shape, generator, dtype, device, requires_grad
    )


def rand(*shape, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1); `generator` is a seed or a numpy.random.Generator."""
    return _random(lambda rng, s: rng.random(s), shape, generator, dtype, device, requires_grad)
