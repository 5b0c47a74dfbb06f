"""Stochastic gradient descent, with momentum (heavy-ball or Nesterov), dampening and L2 decay."""

from __future__ import annotations

from ..backend import get_array_module, kernel
from .optimizer import Optimizer, check_fused


class SGD(Optimizer):
    """p -= lr * g, with optional momentum (and Nesterov), dampening and L2 weight decay."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        if lr < 0.0:  # SGD's own checks, which let NaN through (as PyTorch's)
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)

    def update(self, param, grad, group, state):
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        momentum, lr = group["momentum"], float(group["lr"])
        if momentum != 0:
            if "momentum_buffer" not in state:
                # an array even for a 0-d parameter (where grad may be a NumPy scalar)
                state["momentum_buffer"] = get_array_module(param).array(grad, dtype=param.dtype)
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
        param += -lr * grad
