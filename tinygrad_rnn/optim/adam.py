"""Adam and its relatives: AdamW (decoupled decay), Adamax (infinity norm), NAdam (Nesterov).

Each update follows PyTorch's single-tensor CPU code operation by operation, so that float64
runs agree with PyTorch's to rounding over many steps.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import get_array_module, kernel
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    check_adam_arguments,
    check_fused,
    count_step,
    lerp_,
    refuse_negative,
    zeros_like,
)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; weight_decay adds an L2 term to the gradient,
    or shrinks the weights first with decoupled_weight_decay=True (AdamW); amsgrad keeps the
    running maximum of the second moment."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ):
        check_adam_arguments(lr, eps, betas, weight_decay)
        if not all(isinstance(b, float) for b in betas) and not all(
            isinstance(b, Tensor) for b in betas
        ):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = dict(
            lr=lr,
            betas=tuple(float(b) for b in betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)

    def update(self, param, grad, group, state):
        lr, (beta1, beta2), decay = float(group["lr"]), group["betas"], group["weight_decay"]
        step = count_step(state)
        exp_avg, exp_avg_sq = (
            zeros_like(state, "exp_avg", param),
            zeros_like(state, "exp_avg_sq", param),
        )
        if group["amsgrad"]:
            zeros_like(state, "max_exp_avg_sq", param)
        if group["maximize"]:
            grad = -grad
        if decay != 0 and group["decoupled_weight_decay"]:
            param *= 1 - lr * decay
        elif decay != 0:
            grad = grad + decay * param
        fused = None if group["amsgrad"] else kernel("adam", param, grad, exp_avg, exp_avg_sq)
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
        lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        second_moment = exp_avg_sq
        if group["amsgrad"]:
            second_moment = state["max_exp_avg_sq"]
            get_array_module(param).maximum(second_moment, exp_avg_sq, out=second_moment)
        denominator = get_array_module(param).sqrt(second_moment)
        denominator /= (1 - beta2**step) ** 0.5
        denominator += group["eps"]
        param += -lr / (1 - beta1**step) * exp_avg / denominator


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )


class Adamax(Optimizer):
    """Adam with the infinity norm: the second moment is a decaying maximum of |g|."""

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ):
        check_adam_arguments(lr, eps, betas, weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def update(self, param, grad, group, state):
        (beta1, beta2), decay = group["betas"], group["weight_decay"]
        step = count_step(state)
        exp_avg, exp_inf = zeros_like(state, "exp_avg", param), zeros_like(state, "exp_inf", param)
        if group["maximize"]:
            grad = -grad
        if decay != 0:
            grad = grad + decay * param
        lerp_(exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        xp = get_array_module(param)
        xp.maximum(exp_inf, xp.abs(grad) + group["eps"], out=exp_inf)
        param += -float(group["lr"]) / (1 - beta1**step) * exp_avg / exp_inf


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat), its momentum warmed up by momentum_decay; the
    decoupled_weight_decay option makes it NAdamW."""

    scalar_state = ("step", "mu_product")
    capturable_operands = "params, mu_products and state_steps"

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ):
        check_adam_arguments(lr, eps, betas, weight_decay)
        refuse_negative(("momentum_decay value", momentum_decay))
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def update(self, param, grad, group, state):
        lr, (beta1, beta2), decay = float(group["lr"]), group["betas"], group["weight_decay"]
        step = count_step(state)
        # PyTorch keeps the product of the momenta as a float32 tensor: it rounds as one
        mu_product = state.setdefault("mu_product", np.float32(1.0))
        exp_avg = zeros_like(state, "exp_avg", param)
        exp_avg_sq = zeros_like(state, "exp_avg_sq", param)
        if group["maximize"]:
            grad = -grad
        if decay != 0 and group["decoupled_weight_decay"]:
            param *= 1 - lr * decay
        elif decay != 0:
            grad = grad + decay * param
        momentum_decay = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        state["mu_product"] = mu_product = mu_product * mu_product.dtype.type(mu)
        lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denominator = get_array_module(param).sqrt(exp_avg_sq / (1 - beta2**step))
        denominator += group["eps"]
        mu_product_next = float(mu_product) * mu_next
        param += -lr * (1.0 - mu) / (1.0 - float(mu_product)) * grad / denominator
        param += -lr * mu_next / (1.0 - mu_product_next) * exp_avg / denominator
