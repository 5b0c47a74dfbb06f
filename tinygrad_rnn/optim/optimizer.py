"""Optimizers with PyTorch's names, hyper-parameters and update formulas, updating in place."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

from ..autograd import replayable
from ..backend import get_array_module, kernel, to_device
from ..dispatch import bump_version
from ..grad_mode import enable_grad
from ..tensor import Tensor


def check_hyperparameters(
    lr=None, eps=None, momentum=None, weight_decay=None, betas=None, alpha=None
) -> None:
    """PyTorch's checks of an optimizer's arguments (ValueError, its messages; NaN fails)."""
    named = (
        ("learning rate", lr),
        ("epsilon value", eps),
        ("momentum value", momentum),
        ("weight_decay value", weight_decay),
        ("alpha value", alpha),
    )
    for name, value in named:
        if value is not None and not float(value) >= 0.0:
            raise ValueError(f"Invalid {name}: {value}")
    for index, beta in enumerate(betas or ()):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")


class Optimizer:
    """Holds parameter groups (each a dict of hyper-parameters) and per-parameter state."""

    def __init__(self, params: Iterable, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {params.type()}"
            )
        self.defaults = defaults
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters, each with the defaults unless the group overrides them."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error",
                UserWarning,
                stacklevel=3,
            )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if seen & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append({**self.defaults, **param_group, "params": params})

    @replayable
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (or zero it in place with set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.array[...] = 0

    @replayable
    def step(self, closure=None):
        """Update every parameter that has a gradient; `closure` (re-evaluating the loss, with
        grad enabled) runs first and its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p.array, p.grad.array, group, self.state.setdefault(p, {}))
                    bump_version(p)
        return loss

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
    value = value.array if isinstance(value, Tensor) else value
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
        for name, value in (
            ("learning rate", lr),
            ("momentum value", momentum),
            ("weight_decay value", weight_decay),
        ):
            if value < 0.0:  # SGD's own check, which lets NaN through (as PyTorch's)
                raise ValueError(f"Invalid {name}: {value}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
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
        momentum, lr = group["momentum"], float(group["lr"])
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
        check_hyperparameters(lr=lr, eps=eps, weight_decay=weight_decay, betas=betas)
        super().__init__(
            params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        )

    def update(self, param, grad, group, state):
        lr, (beta1, beta2), decay = float(group["lr"]), group["betas"], group["weight_decay"]
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
        check_hyperparameters(
            lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha
        )
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
                *map(scalar, (alpha, 1 - alpha, group["eps"], float(group["lr"]))),
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
            param -= float(group["lr"]) * buffer
        else:
            param -= float(group["lr"]) * grad / average
