"""Finite-difference gradient checking in float64, for the engine's ops and users' own code."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .backend import to_device
from .creation import as_tensor
from .grad_mode import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree."""


def _float64_inputs(inputs: Sequence) -> list:
    """Inputs that require grad as float64 leaves with no gradient yet.

    Float64 leaves are used as they are (so `fn` may also reach them through a closure, as with
    a module's parameters); others are replaced by float64 copies.
    """
    prepared = []
    for x in inputs:
        if isinstance(x, Tensor) and x.requires_grad:
            if x.dtype != np.float64 or not x.is_leaf:
                x = as_tensor(x.array.astype(np.float64), device=x.device).requires_grad_()
            x.grad = None
        prepared.append(x)
    return prepared


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    *,
    seed: int = 0,
    directional: bool = False,
) -> bool:
    """Compare backward's gradient of fn(*inputs) with central differences, in float64.

    Every Tensor input with requires_grad=True is checked. The output (any shape) is contracted
    with a random upstream gradient, so every output element matters. `directional=True`
    checks one random direction per input instead of every element (cheap for large inputs).
    Returns True, or raises GradcheckError naming the worst element and both values.
    """
    inputs = _float64_inputs(inputs)
    checked = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck needs at least one input tensor with requires_grad=True")
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    upstream = rng.standard_normal(out.shape)
    out.backward(to_device(upstream, out.device))

    def objective() -> float:
        with no_grad():
            return float((to_device(fn(*inputs).array, "cpu") * upstream).sum())

    for position, x in enumerate(checked):
        analytic = np.zeros(x.shape) if x.grad is None else to_device(x.grad.array, "cpu")
        values, host = x.array, to_device(x.array, "cpu").copy()
        if directional:
            direction = rng.standard_normal(x.shape)
            expected = np.array([(analytic * direction).sum()])
            numeric = np.array([_central_difference(objective, x, host, direction, eps)])
        else:
            expected = analytic.reshape(-1)
            numeric = np.array(
                [
                    _central_difference(objective, x, host, _unit(host, i), eps)
                    for i in range(host.size)
                ]
            )
        x.array = values
        excess = np.abs(expected - numeric) - (atol + rtol * np.abs(numeric))
        worst = int(np.argmax(excess)) if excess.size else 0
        if excess.size and excess[worst] > 0:
            where = (
                "along a random direction"
                if directional
                else f"at index {tuple(int(i) for i in np.unravel_index(worst, x.shape))}"
            )
            raise GradcheckError(
                f"gradient of input {position} (shape {tuple(x.shape)}) {where}: backward gives "
                f"{float(expected[worst])!r}, finite differences give {float(numeric[worst])!r}"
            )
    return True


def _unit(like: np.ndarray, flat_index: int) -> np.ndarray:
    unit = np.zeros_like(like)
    unit.flat[flat_index] = 1.0
    return unit


def _central_difference(objective, x: Tensor, host: np.ndarray, direction, eps) -> float:
    """(f(x + eps d) - f(x - eps d)) / 2 eps, moving `x` itself and leaving it shifted."""
    results = []
    for sign in (1.0, -1.0):
        x.array = to_device(host + sign * eps * direction, x.device)
        results.append(objective())
    return (results[0] - results[1]) / (2 * eps)
