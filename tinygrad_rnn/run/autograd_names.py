"""torch.autograd's names for programs the runner runs (tinygrad_rnn.autograd is the engine
itself, with other names)."""

from __future__ import annotations

from contextlib import contextmanager

from ..grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ..gradcheck import gradcheck
from ..tensor import Tensor
from ..unsupported import placeholder

__all__ = [
    "Function",
    "Variable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "inference_mode",
    "is_grad_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
]

Function = placeholder("torch.autograd.Function")
grad = placeholder("torch.autograd.grad")


def Variable(data: Tensor, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802
    """PyTorch's old wrapper, as it behaves today: `data`'s values without its history, a leaf
    that requires grad if asked."""
    return data.detach().requires_grad_(requires_grad)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Call `backward` on each tensor with its gradient (None for a scalar)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors)
    for tensor, gradient in zip(tensors, grad_tensors):
        tensor.backward(gradient, retain_graph, create_graph, inputs)


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> None:
    """Accepted: the engine checks in-place changes to saved tensors always; it does not look
    for NaN in backward."""


@contextmanager
def detect_anomaly(check_nan: bool = True):
    """Accepted, as set_detect_anomaly."""
    yield
