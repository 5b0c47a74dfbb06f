"""Normalizations of torch.nn.functional (re-exported by tinygrad_rnn.functional): layer_norm,
batch_norm (with its running statistics) and normalize, composed from Tensor ops so that
their gradients come from the engine."""

from __future__ import annotations

import math

from . import nn_ops
from .dispatch import apply, bump_version
from .grad_mode import no_grad
from .tensor import Tensor


def overwrite_(target: Tensor, value, rows: Tensor | None = None) -> Tensor:
    """target[rows] = value (all of target without rows), in place and without history, in a
    way a jit replay repeats: for state such as running statistics, not for autograd."""
    inputs = (target, value) if rows is None else (target, value, rows)
    with no_grad():
        apply(nn_ops.Overwrite, *inputs)
    bump_version(target)
    return target


def _shape_list(shape) -> list:
    return [int(s) for s in shape]


def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims
    (biased variance), for input (*, *normalized_shape)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
            "one element, but got normalized_shape = []"
        )
    for name, given in (("weight", weight), ("bias", bias)):
        if given is not None and tuple(given.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {_shape_list(given.shape)} and normalized_shape = {_shape_list(shape)}"
            )
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape) :]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={_shape_list(shape)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in shape)}], but got input of size"
            f"{_shape_list(input.shape)}"
        )
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    centered = input - input.mean(dims, keepdim=True)
    variance = (centered * centered).mean(dims, keepdim=True)
    out = centered * (variance + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def _check_features(name: str, tensor, channels: int) -> None:
    if tensor is not None and tensor.numel() != channels:
        raise RuntimeError(f"{name} should contain {channels} elements not {tensor.numel()}")


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of input (N, C, *) by the batch's mean and biased variance
    (training) or by the running statistics (eval), then scale and shift by weight and bias
    (C,). While training, running_mean and running_var (if given) are updated in place:
    (1 - momentum) * running + momentum * batch statistic, the variance unbiased."""
    if training:
        values_per_channel = input.shape[0] * math.prod(input.shape[2:]) if input.ndim else 1
        if values_per_channel == 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input size "
                f"{input.shape}"
            )
        if eps <= 0.0:
            raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    if input.ndim < 2:
        raise ValueError(f"Expected 2 or more dimensions (got {input.ndim})")
    channels = input.shape[1]
    for name, tensor in (
        ("weight", weight),
        ("bias", bias),
        ("running_mean", running_mean),
        ("running_var", running_var),
    ):
        _check_features(name, tensor, channels)
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError(
            f"running_{'mean' if running_mean is None else 'var'} must be defined in "
            "evaluation mode"
        )
    dims = (0, *range(2, input.ndim))
    along = (1, channels) + (1,) * (input.ndim - 2)  # (C,) broadcast along the channel dim
    if training:
        mean = input.mean(dims)
        centered = input - mean.reshape(along)
        variance = (centered * centered).mean(dims)
        _update_running(running_mean, running_var, mean, variance, input, momentum)
    else:
        mean, variance = running_mean, running_var
        centered = input - mean.reshape(along)
    out = centered * (variance + eps).rsqrt().reshape(along)
    if weight is not None:
        out = out * weight.reshape(along)
    return out if bias is None else out + bias.reshape(along)


def _update_running(running_mean, running_var, mean, variance, input, momentum) -> None:
    count = input.numel() // input.shape[1]
    with no_grad():
        if running_mean is not None:
            overwrite_(running_mean, momentum * mean + (1 - momentum) * running_mean)
        if running_var is not None:
            unbiased = variance * (count / (count - 1))
            overwrite_(running_var, momentum * unbiased + (1 - momentum) * running_var)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """input / max(||input||_p along dim, eps)."""
    if out is not None:
        raise TypeError("normalize(out=...) is not supported: assign the result instead")
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
