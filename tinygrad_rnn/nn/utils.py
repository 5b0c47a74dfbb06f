"""Gradient clipping and the helpers of truncated BPTT."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..backend import get_array_module
from ..tensor import Tensor


def _with_grads(parameters) -> list[Tensor]:
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters: Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients together so their global norm is at most max_norm.

    Returns the norm before clipping. With error_if_nonfinite=True, a NaN or infinite norm
    raises instead of spreading NaN into every gradient.
    """
    with_grads = _with_grads(parameters)
    if not with_grads:
        return 0.0
    if norm_type == math.inf:
        total = max(float(abs(p.grad.data).max()) for p in with_grads)
    else:
        total = sum(float((abs(p.grad.data) ** norm_type).sum()) for p in with_grads)
        total = total ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"the total norm of order {norm_type} of the gradients is {total}: not finite, "
            "so clip_grad_norm_ refuses to scale them (error_if_nonfinite=True)"
        )
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for p in with_grads:
            p.grad.data *= p.grad.dtype.type(scale)
    return total


def clip_grad_value_(parameters: Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    for p in _with_grads(parameters):
        get_array_module(p.grad.data).clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


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
