"""Gradient clipping, the helpers of truncated BPTT, and (in .rnn) variable-length batches."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

from ...autograd import replayable
from ...backend import get_array_module
from ...creation import tensor
from ...dispatch import bump_version
from ...tensor import Tensor
from ...tensor_shape import cat


def _with_grads(parameters) -> list[Tensor]:
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters: Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach=None,
) -> Tensor:
    """Scale all gradients together, in place, so their global norm is at most max_norm.

    Returns the norm before clipping (a 0-d tensor, as PyTorch). With error_if_nonfinite=True,
    a NaN or infinite norm raises instead of spreading NaN into every gradient. Inside a
    tg.jit step it runs at every call (a replayable call); the norm it returns there is the
    first call's, so read it outside a jitted step.
    """
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return _clip_grad_norm(parameters, max_norm, norm_type, error_if_nonfinite)


@replayable
def _clip_grad_norm(parameters: list, max_norm, norm_type, error_if_nonfinite) -> Tensor:
    with_grads = _with_grads(parameters)
    if not with_grads:
        return tensor(0.0)
    norm_type = float(norm_type)
    grads = [p.grad.array for p in with_grads]
    if norm_type == math.inf:
        total = max(float(abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        total = sum(float((abs(g).astype(float) ** norm_type).sum()) for g in grads)
        total = total ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for p, grad in zip(with_grads, grads):
            grad *= grad.dtype.type(scale)
            bump_version(p.grad)
    return tensor(total, dtype=grads[0].dtype, device=with_grads[0].device)


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The old name of clip_grad_norm_, with PyTorch's deprecation warning."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Every parameter flattened and concatenated, in order (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Each parameter's values taken, in order, from consecutive slices of `vec`."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    start = 0
    for p in parameters:
        count = p.numel()
        p.data = vec[start : start + count].reshape(p.shape).data
        start += count


def clip_grad_value_(parameters: Iterable[Tensor], clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place (at every call of a
    tg.jit step too)."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    _clip_grad_value(parameters, clip_value)


@replayable
def _clip_grad_value(parameters: list, clip_value: float) -> None:
    for p in _with_grads(parameters):
        grad = p.grad.array
        get_array_module(grad).clip(grad, -clip_value, clip_value, out=grad)
        bump_version(p.grad)


def detach_state(state):
    """Cut the graph behind a recurrent state (a tensor, a tuple of them, or None).

    The recipe for truncated BPTT over a long sequence, k steps at a time::

        state = None
        for chunk in sequence.split(k, dim=1):       # batch-first (B, T, D)
            output, state = rnn(chunk, state)
            loss = criterion(output, target)
            optimizer.zero_grad(); loss.backward(); optimizer.step()
            state = detach_state(state)              # keep the values, drop the history
    """
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


from . import rnn as rnn  # noqa: E402 - torch.nn.utils.rnn, after what it imports
