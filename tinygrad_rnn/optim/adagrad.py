"""Per-coordinate step sizes from accumulated squared gradients: Adagrad, which sums them, and
its descendants that forget, RMSprop and Adadelta (both with a decaying average)."""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module, kernel
from .optimizer import (
    Optimizer,
    check_fused,
    check_lr,
    count_step,
    lerp_,
    refuse_negative,
    zeros_like,
)


class Adagrad(Optimizer):
    """p -= clr * g / (sqrt(sum of g^2) + eps), clr = lr / (1 + (step - 1) * lr_decay)."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        check_lr(lr)
        refuse_negative(
            ("lr_decay value", lr_decay),
            ("weight_decay value", weight_decay),
            ("initial_accumulator_value value", initial_accumulator_value),
            ("epsilon value", eps),
        )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)
        for group in self.param_groups:  # PyTorch fills the state at construction
            for p in group["params"]:
                self.state[p]["step"] = np.float32(0)
                self.state[p]["sum"] = get_array_module(p.array).full_like(
                    p.array, initial_accumulator_value
                )

    def update(self, param, grad, group, state):
        step = count_step(state)
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = float(group["lr"]) / (1 + (step - 1) * group["lr_decay"])
        accumulated = state["sum"]
        accumulated += grad * grad
        std = get_array_module(param).sqrt(accumulated)
        std += group["eps"]
        param += -clr * grad / std


class RMSprop(Optimizer):
    """p -= lr * g / (sqrt(E[g^2]) + eps), optionally centered and with momentum."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        check_lr(lr)
        refuse_negative(
            ("epsilon value", eps),
            ("momentum value", momentum),
            ("weight_decay value", weight_decay),
            ("alpha value", alpha),
        )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def update(self, param, grad, group, state):
        alpha, lr, eps = group["alpha"], float(group["lr"]), group["eps"]
        centered, momentum = group["centered"], group["momentum"]
        count_step(state)
        square_avg = zeros_like(state, "square_avg", param)
        buffer = zeros_like(state, "momentum_buffer", param) if momentum > 0 else None
        grad_avg = zeros_like(state, "grad_avg", param) if centered else None
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        fused = kernel(
            "rmsprop" + "_centered" * centered + "_momentum" * (momentum > 0), param, grad
        )
        if fused is not None:
            scalar = param.dtype.type
            fused(
                grad,
                *map(scalar, (alpha, 1 - alpha, eps, lr)),
                *([scalar(momentum)] if momentum > 0 else []),
                param,
                square_avg,
                *([grad_avg] if centered else []),
                *([buffer] if momentum > 0 else []),
            )
            return
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        xp = get_array_module(param)
        if centered:
            lerp_(grad_avg, grad, 1 - alpha)
            average = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            average = xp.sqrt(square_avg)
        average += eps
        if momentum > 0:
            buffer *= momentum
            buffer += grad / average
            param += -lr * buffer
        else:
            param += -lr * grad / average


class Adadelta(Optimizer):
    """Adadelta (Zeiler): steps of sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g, scaled by lr."""

    capturable_devices = "['cuda', 'xpu', 'hpu', 'privateuseone']"

    def __init__(
        self,
        params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        refuse_negative(("epsilon value", eps), ("weight_decay value", weight_decay))
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            capturable=capturable,
            foreach=foreach,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def update(self, param, grad, group, state):
        rho, eps = group["rho"], group["eps"]
        count_step(state)
        square_avg = zeros_like(state, "square_avg", param)
        acc_delta = zeros_like(state, "acc_delta", param)
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        xp = get_array_module(param)
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        std = xp.sqrt(square_avg + eps)
        delta = xp.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param += -float(group["lr"]) * delta
