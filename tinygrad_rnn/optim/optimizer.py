"""Optimizers with PyTorch's names, hyper-parameters and update formulas, updating in place."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..autograd import replayable
from ..backend import get_array_module, to_device
from ..fused import kernel
from ..tensor import Tensor


class Optimizer:
    """Holds parameter groups (each a dict of hyper-parameters) and per-parameter state."""

    def __init__(self, params: Iterable, defaults: dict):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = [
            {**defaults, **group, "params": list(group["params"])} for group in groups
        ]
        for group in self.param_groups:
            self._check(group)
        self.state: dict[Tensor, dict] = {}

    def _check(self, group: dict) -> None:
        for name in ("lr", "weight_decay", "eps", "momentum"):
            if name in group and group[name] < 0:
                raise ValueError(f"invalid {name}: {group[name]} (must be >= 0)")
        for beta in group.get("betas", ()):
            if not 0 <= beta < 1:
                raise ValueError(f"invalid beta {beta}: must lie in [0, 1)")

    @replayable
    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    @replayable
    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p.data, p.grad.data, group, self.state.setdefault(p, {}))

    def update(self, param, grad, group: dict, state: dict) -> None:
        """Change the array `param` in place, given its gradient `grad`."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and state saved by `state_dict` (for an exact resume)."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
            len(g["params"]) != len(own["params"]) for g, own in zip(groups, self.param_groups)
        ):
            raise ValueError("the saved optimizer state has a different number of parameters")
        by_index = {}
        for saved, own in zip(groups, self.param_groups):
            by_index.update(zip(saved["params"], own["params"]))
            own.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {
            by_index[int(index)]: {
                k: _restored(v, by_index[int(index)].device) for k, v in saved.items()
            }
            for index, saved in state_dict["state"].items()
        }

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in group.items() if k != "params"]
        return "\n".join(lines) + "\n)"


def _restored(value, device: str):
    """A saved state entry as the optimizer keeps it: arrays (copied) on `device`, else numbers."""
    value = value.data if isinstance(value, Tensor) else value
    if getattr(value, "ndim", 0) == 0:
        return value.item() if hasattr(value, "item") else value
    return get_array_module(value).array(to_device(value, device), copy=True)


def _buffer(state: dict, name: str, like):
    if name not in state:
        state[name] = get_array_module(like).zeros_like(like)
    return state[name]


class SGD(Optimizer):
    """p -= lr * g, with optional momentum (and Nesterov), dampening and L2 weight decay."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
            ),
        )

    def update(self, param, grad, group, state):
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        momentum, lr = group["momentum"], group["lr"]
        if momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.copy()
            else:
                buffer = state["momentum_buffer"]
                fused = kernel("sgd_momentum", param, grad, buffer)
                if fused is not None:
                    scalar = param.dtype.type
                    rest = scalar(1 - group["dampening"])
                    fused(
                        grad, scalar(momentum), rest, scalar(lr), group["nesterov"], param, buffer
                    )
                    return
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            buffer = state["momentum_buffer"]
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param -= lr * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; weight_decay adds an L2 term to the gradient."""

    decoupled = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(
            params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        )

    def update(self, param, grad, group, state):
        lr, (beta1, beta2), decay = group["lr"], group["betas"], group["weight_decay"]
        if decay and self.decoupled:
            param *= 1 - lr * decay
        elif decay:
            grad = grad + decay * param
        state["step"] = step = state.get("step", 0) + 1
        exp_avg, exp_avg_sq = _buffer(state, "exp_avg", param), _buffer(state, "exp_avg_sq", param)
        fused = kernel("adam", param, grad, exp_avg, exp_avg_sq)
        if fused is not None:  # one launch instead of eleven on a GPU
            scalar = param.dtype.type
            fused(
                grad,
                *map(scalar, (beta1, beta2, 1 - beta1, 1 - beta2)),
                scalar(1 / math.sqrt(1 - beta2**step)),
                scalar(group["eps"]),
                scalar(lr / (1 - beta1**step)),
                param,
                exp_avg,
                exp_avg_sq,
            )
            return
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denominator = get_array_module(param).sqrt(exp_avg_sq)
        denominator *= 1 / math.sqrt(1 - beta2**step)
        denominator += group["eps"]
        update = exp_avg / denominator
        update *= lr / (1 - beta1**step)
        param -= update


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step."""

    decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ):
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSprop(Optimizer):
    """p -= lr * g / (sqrt(E[g^2]) + eps), optionally centered and with momentum."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
            ),
        )

    def update(self, param, grad, group, state):
        alpha = group["alpha"]
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        square_avg = _buffer(state, "square_avg", param)
        centered, momentum = group["centered"], group["momentum"]
        fused = kernel(
            "rmsprop" + "_centered" * centered + "_momentum" * bool(momentum), param, grad
        )
        if fused is not None:
            scalar = param.dtype.type
            fused(
                grad,
                *map(scalar, (alpha, 1 - alpha, group["eps"], group["lr"])),
                *([scalar(momentum)] if momentum else []),
                param,
                square_avg,
                *([_buffer(state, "grad_avg", param)] if centered else []),
                *([_buffer(state, "momentum_buffer", param)] if momentum else []),
            )
            return
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = _buffer(state, "grad_avg", param)
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            average = get_array_module(param).sqrt(square_avg - grad_avg * grad_avg)
        else:
            average = get_array_module(param).sqrt(square_avg)
        average += group["eps"]
        if group["momentum"]:
            buffer = _buffer(state, "momentum_buffer", param)
            buffer *= group["momentum"]
            buffer += grad / average
            param -= group["lr"] * buffer
        else:
            param -= group["lr"] * grad / average
