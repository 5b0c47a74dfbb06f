"""Factories: tensors from data, constants, ranges and random draws, with PyTorch's dtypes.

`tensor` copies and infers the dtype as torch.tensor (int64 for Python ints, the default float
dtype for Python floats, an array's own dtype); `as_tensor` and `from_numpy` share memory where
they can. Random draws use the default generator (tinygrad_rnn.random) unless given one.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .autograd import refuse_in_capture
from .backend import check_device, device_of, to_device, xp_for
from .dispatch import array_of, host_array, leaf
from .dtypes import check_dtype, get_default_dtype, is_floating, scalar_dtype
from .random import Generator, numpy_generator
from .tensor import Tensor
from .tensor_shape import _shape_args

__all__ = ["Generator"]


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (a number, nested lists, an array or a tensor)."""
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use sourceTensor.clone()."
            "detach() rather than tinygrad_rnn.tensor(sourceTensor).",
            UserWarning,
            stacklevel=2,
        )
        refuse_in_capture("tensor(tensor) (it takes the value; use tensor.detach())")
    array = array_of(data, dtype)
    device = check_device(device if device is not None else _device_of_data(data))
    return leaf(to_device(array, device).astype(array.dtype, copy=True), device, requires_grad)


def _device_of_data(data):
    if isinstance(data, Tensor):
        return data.device
    return "cuda" if hasattr(data, "__cuda_array_interface__") else None


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """`data` as a tensor, sharing memory when its dtype and device already fit."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    array = host_array(data)
    if array is None:
        return tensor(data, dtype, device)
    device = check_device(device if device is not None else device_of(array))
    dtype = check_dtype(array.dtype if dtype is None else dtype)
    array = to_device(array, device)
    return leaf(array if array.dtype == dtype else array.astype(dtype), device, False)


asarray = as_tensor


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing `array`'s memory: writes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    check_dtype(array.dtype)
    return leaf(array, "cpu", False)


# ---------------------------------------------------------------- constants


def _filled(fill, shape: tuple, dtype, device, requires_grad) -> Tensor:
    if any(s < 0 for s in shape):
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}"
        )
    device = check_device(device)
    dtype = get_default_dtype() if dtype is None else check_dtype(dtype)
    return leaf(xp_for(device).full(shape, fill, dtype=dtype), device, requires_grad)


def _size(sizes: tuple, size) -> tuple:
    """The shape from `f(2, 3)`, `f((2, 3))` or `f(size=(2, 3))`."""
    return _shape_args(sizes if size is None else (size,))


def zeros(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros, of the default float dtype unless `dtype` says otherwise."""
    return _filled(0, _size(sizes, size), dtype, device, requires_grad)


def ones(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(1, _size(sizes, size), dtype, device, requires_grad)


def empty(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor whose values are unspecified (here: zeros)."""
    return _filled(0, _size(sizes, size), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with `fill_value`; its dtype follows the value (int64, bool, float)."""
    if isinstance(fill_value, str) or not hasattr(fill_value, "__float__"):
        raise TypeError(
            f"full(): argument 'fill_value' (position 2) must be Number, not "
            f"{type(fill_value).__name__}"
        )
    if dtype is None:
        dtype = scalar_dtype(fill_value.item() if hasattr(fill_value, "item") else fill_value)
    return _filled(fill_value, _shape_args((size,)), dtype, device, requires_grad)


def _like(other: Tensor, fill, dtype, device, requires_grad) -> Tensor:
    return _filled(
        fill,
        tuple(other.shape),
        other.dtype if dtype is None else dtype,
        other.device if device is None else device,
        requires_grad,
    )


def zeros_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(input, 0, dtype, device, requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(input, 1, dtype, device, requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(input, 0, dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(input, fill_value, dtype, device, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad=False) -> Tensor:
    device = check_device(device)
    dtype = get_default_dtype() if dtype is None else check_dtype(dtype)
    return leaf(xp_for(device).eye(n, m, dtype=dtype), device, requires_grad)


def _number(x):
    return x.item() if hasattr(x, "item") else x


def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values start, start + step, ... below `end`: int64 for integer arguments, else the
    default float dtype, as torch.arange."""
    if end is None:
        start, end = 0, start
    start, end, step = _number(start), _number(end), _number(step)
    if not all(math.isfinite(v) for v in (start, end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dtype = (np.int64 if integral else get_default_dtype()) if dtype is None else dtype
    length = math.ceil((end - start) / step)
    values = np.arange(length, dtype=np.int64 if integral else np.float64) * step + start
    device = check_device(device)
    return leaf(to_device(values.astype(check_dtype(dtype)), device), device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype = get_default_dtype() if dtype is None else check_dtype(dtype)
    values = np.linspace(_number(start), _number(end), steps).astype(dtype)
    device = check_device(device)
    return leaf(to_device(values, device), device, requires_grad)


# ---------------------------------------------------------------- random draws


def _random(sample, size, generator, dtype, device, requires_grad) -> Tensor:
    refuse_in_capture("drawing random numbers")
    shape = _shape_args(size)
    if any(s < 0 for s in shape):
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}"
        )
    dtype = get_default_dtype() if dtype is None else check_dtype(dtype)
    values = np.asarray(sample(numpy_generator(generator), shape)).astype(dtype)
    device = check_device(device)
    return leaf(to_device(values, device), device, requires_grad)


def _float_only(dtype, name: str) -> None:
    if dtype is not None and not is_floating(check_dtype(dtype)):
        raise RuntimeError(f"\"{name}\" not implemented for '{np.dtype(dtype).name}'")


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Samples from U[0, 1)."""
    _float_only(dtype, "check_uniform_bounds")
    return _random(lambda rng, s: rng.random(s), size, generator, dtype, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Samples from N(0, 1)."""
    _float_only(dtype, "normal_kernel_cpu")
    return _random(
        lambda rng, s: rng.standard_normal(s), size, generator, dtype, device, requires_grad
    )


def randint(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from [low, high): randint(high, size) or randint(low, high,
    size); int64 unless `dtype` says otherwise."""
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    low, high = (0, args[0]) if len(args) == 1 else args
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    return _random(
        lambda rng, s: rng.integers(low, high, s),
        size,
        generator,
        np.int64 if dtype is None else dtype,
        device,
        requires_grad,
    )


def randperm(n: int, *, generator=None, dtype=np.int64, device=None, requires_grad=False):
    """A random permutation of 0 .. n - 1."""
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    return _random(lambda rng, s: rng.permutation(n), (n,), generator, dtype, device, requires_grad)


def normal(mean, std, size=None, *, generator=None, dtype=None, device=None) -> Tensor:
    """Samples from N(mean, std**2); mean and std are numbers (with `size`) or tensors."""
    if size is not None:
        return (
            randn(*_shape_args((size,)), generator=generator, dtype=dtype, device=device) * std
            + mean
        )
    like = mean if isinstance(mean, Tensor) else std
    noise = randn(like.shape, generator=generator, dtype=like.dtype, device=like.device)
    return (noise * std + mean).detach()


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """1 with probability `input` (elementwise), else 0, in input's dtype."""
    probabilities = input.array if p is None else p
    draws = rand(input.shape, generator=generator, dtype=np.float64, device=input.device)
    return as_tensor(draws.array < probabilities, dtype=input.dtype, device=input.device)


def multinomial(input, num_samples: int, replacement=False, *, generator=None) -> Tensor:
    """Indices drawn from the categories of each row of `input` (non-negative weights)."""
    refuse_in_capture("drawing random numbers")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if input.dtype.kind != "f":
        raise RuntimeError(
            f"multinomial only supports floating-point dtypes for input, got: {input.dtype.name}"
        )
    weights = to_device(input.array, "cpu").astype(np.float64).reshape(-1, input.shape[-1])
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
    if (weights.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > weights.shape[1]:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    if not replacement and num_samples > int((weights > 0).sum(axis=1).min()):
        raise RuntimeError(
            "invalid multinomial distribution (with replacement=False, not enough non-negative "
            "category to sample)"
        )
    rng = numpy_generator(generator)
    rows = [
        rng.choice(len(row), size=num_samples, replace=replacement, p=row / row.sum())
        for row in weights
    ]
    draws = np.array(rows, dtype=np.int64).reshape(*input.shape[:-1], num_samples)
    return as_tensor(draws, device=input.device)


def rand_like(input, dtype=None, device=None, requires_grad=False, *, generator=None):
    return rand(
        input.shape,
        generator=generator,
        dtype=dtype or input.dtype,
        device=device or input.device,
        requires_grad=requires_grad,
    )


def randn_like(input, dtype=None, device=None, requires_grad=False, *, generator=None):
    return randn(
        input.shape,
        generator=generator,
        dtype=dtype or input.dtype,
        device=device or input.device,
        requires_grad=requires_grad,
    )


def randint_like(input, low=0, high=None, *, dtype=None, device=None, generator=None):
    if high is None:
        low, high = 0, low
    return randint(
        low,
        high,
        input.shape,
        generator=generator,
        dtype=dtype or input.dtype,
        device=device or input.device,
    )
