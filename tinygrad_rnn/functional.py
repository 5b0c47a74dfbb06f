"""Functions built from Tensor ops: activations, softmax family, losses, dropout."""

from __future__ import annotations

import numpy as np

from . import cell_ops, ops
from .autograd import refuse_in_capture
from .backend import to_device, xp_for
from .creation import Generator, make_generator
from .tensor import Tensor, _apply


def relu(x: Tensor) -> Tensor:
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def add_tanh(a: Tensor, b: Tensor) -> Tensor:
    """tanh(a + b) as one op (one fused kernel on a GPU): an RNN cell's update; a, b broadcast."""
    return _apply(ops.AddTanh, a, b)


def lstm_cell(a: Tensor, b: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """(h', c') of an LSTM from the gates' two halves a + b (B, 4H; i, f, g, o) and c (B, H)."""
    both = _apply(cell_ops.LSTMCell, a, b, c)
    return both[0], both[1]


def gru_cell(a: Tensor, b: Tensor, h: Tensor) -> Tensor:
    """h' of a GRU from a = W_ih x + b_ih, b = W_hh h + b_hh (B, 3H; r, z, n) and h (B, H)."""
    return _apply(cell_ops.GRUCell, a, b, h)


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis`, computed without overflow."""
    return _apply(ops.Softmax, x, axis=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along `axis`, stable for logits of any size."""
    return _apply(ops.LogSoftmax, x, axis=axis)


def logsumexp(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) along `axis`, shifted by the (constant) maximum so nothing overflows."""
    shift = x.max(axis, keepdims=True).detach()
    out = (x - shift).exp().sum(axis, keepdims=True).log() + shift
    return out if keepdims else out.squeeze(axis)


def _check_labels(labels, num_classes: int, batch: int, device: str) -> Tensor:
    """Integer labels in [0, num_classes) as a Tensor on `device`; refused otherwise."""
    if not isinstance(labels, Tensor):
        labels = Tensor(labels if hasattr(labels, "dtype") else np.asarray(labels), device=device)
    values = labels.data
    if values.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, not {values.dtype.name}")
    if values.shape != (batch,):
        raise ValueError(f"expected labels of shape ({batch},), got {values.shape}")
    if labels.device != device:
        raise RuntimeError(f"labels on {labels.device} for predictions on {device}")
    return _apply(ops.CheckLabels, labels, classes=num_classes)


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def nll_loss(log_probs: Tensor, labels, reduction: str = "mean") -> Tensor:
    """-log_probs[i, labels[i]] for log-probabilities (N, C) and integer labels (N,)."""
    if log_probs.ndim != 2:
        raise ValueError(f"expected log-probabilities of shape (N, C), got {log_probs.shape}")
    batch, classes = log_probs.shape
    labels = _check_labels(labels, classes, batch, log_probs.device)
    rows = xp_for(log_probs.device).arange(batch)
    return _reduce(-log_probs[rows, labels], reduction)


def cross_entropy(logits: Tensor, labels, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of logits (N, C) against integer labels (N,), mean over N."""
    if logits.ndim != 2:
        raise ValueError(f"expected logits of shape (N, C), got {logits.shape}")
    return nll_loss(log_softmax(logits, axis=1), labels, reduction)


def mse_loss(prediction: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error; shapes must match exactly (no silent broadcasting)."""
    target_shape = getattr(target, "shape", np.shape(target))
    if tuple(target_shape) != prediction.shape:
        raise ValueError(f"mse_loss shape mismatch: {prediction.shape} vs {tuple(target_shape)}")
    difference = prediction - target
    return _reduce(difference * difference, reduction)


def one_hot(labels, num_classes: int) -> Tensor:
    """Float32 one-hot rows (N, num_classes) for integer labels (N,)."""
    device = labels.device if isinstance(labels, Tensor) else "cpu"
    labels = _check_labels(labels, num_classes, len(labels), device)
    return Tensor(xp_for(device).eye(num_classes, dtype=np.float32), device=device)[labels]


def dropout(
    x: Tensor, p: float = 0.5, training: bool = True, generator: int | Generator | None = None
) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p); identity in eval."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability must lie in [0, 1], not {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    refuse_in_capture("dropout (it draws random numbers)")
    keep = make_generator(generator).random(x.shape) >= p
    mask = to_device((keep / (1 - p)).astype(x.dtype), x.device)
    return x * Tensor(mask, device=x.device)
