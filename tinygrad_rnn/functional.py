"""Functions built from Tensor ops, with torch.nn.functional's names and arguments:
activations, the softmax family, losses, dropout, padding, one_hot, linear."""

from __future__ import annotations

import warnings

import numpy as np

from . import cell_ops, ops
from .autograd import refuse_in_capture
from .backend import to_device
from .creation import as_tensor
from .dispatch import apply, cast, operand
from .dtypes import INT64
from .random import numpy_generator
from .tensor import Tensor

# ---------------------------------------------------------------- activations


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu_() if inplace else input.relu()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF (approximate="tanh": PyTorch's tanh form)."""
    if approximate == "tanh":
        inner = (input + 0.044715 * input * input * input) * 0.7978845608028654
        return 0.5 * input * (1 + inner.tanh())
    if approximate != "none":
        raise RuntimeError(f"approximate argument must be either none or tanh, not {approximate}")
    return 0.5 * input * (1 + apply(ops.Erf, input * 0.7071067811865476))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""
    return apply(ops.Softplus, input, beta=beta, threshold=threshold)


def _where(condition, a, b):
    from .tensor_shape import where

    return where(condition, a, b)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    out = _where(input > 0, input, input * negative_slope)
    return input.copy_(out) if inplace else out


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return _where(input > 0, input, alpha * (input.exp() - 1))


def silu(input: Tensor) -> Tensor:
    return input * input.sigmoid()


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return input.clamp(min_val, max_val)


def add_tanh(a: Tensor, b: Tensor) -> Tensor:
    """tanh(a + b) as one op (one fused kernel on a GPU): an RNN cell's update; a, b broadcast."""
    return apply(ops.AddTanh, a, b)


def lstm_cell(a: Tensor, b: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """(h', c') of an LSTM from the gates' two halves a + b (B, 4H; i, f, g, o) and c (B, H)."""
    both = apply(cell_ops.LSTMCell, a, b, c)
    return both[0], both[1]


def gru_cell(a: Tensor, b: Tensor, h: Tensor) -> Tensor:
    """h' of a GRU from a = W_ih x + b_ih, b = W_hh h + b_hh (B, 3H; r, z, n) and h (B, H)."""
    return apply(cell_ops.GRUCell, a, b, h)


# ---------------------------------------------------------------- softmax family


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`, computed without overflow."""
    return input.softmax(dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - logsumexp(x) along `dim`, stable for logits of any size."""
    return input.log_softmax(dim, dtype)


def logsumexp(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) along `dim` (all dims if None), without overflow."""
    return input.logsumexp(dim, keepdim)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias: (..., in) -> (..., out)."""
    out = input @ weight.t()
    return out if bias is None else out + bias


# ---------------------------------------------------------------- losses


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _class_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) as (N * d1 * ..., C); (N, C) and (C,) as they are (2-D)."""
    if x.ndim <= 2:
        return x.reshape(1, -1) if x.ndim == 1 else x
    return x.movedim(1, -1).reshape(-1, x.shape[1])


def _targets(target, input_: Tensor) -> Tensor:
    """Class-index targets as an int64 tensor on input's device, checked against its shape."""
    target = operand(target, input_) if not isinstance(target, Tensor) else target
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.name}")
    expected = (input_.shape[0],) + tuple(input_.shape[2:]) if input_.ndim >= 2 else ()
    if tuple(target.shape) != expected:
        if input_.ndim == 2:
            raise ValueError(
                f"Expected input batch_size ({input_.shape[0]}) to match target batch_size "
                f"({target.shape[0] if target.ndim else 0})."
            )
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    if target.device != input_.device:
        raise RuntimeError(f"target on {target.device} for input on {input_.device}")
    return target if target.dtype == INT64 else target.long()


def nll_loss(
    input: Tensor,
    target,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """-input[n, target[n]] (log-probabilities (N, C) or (N, C, d...), or (C,) unbatched),
    weighted by class and averaged over the weight of the targets not ignored."""
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    target = _targets(target, input)
    classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    flat_target = target.reshape(-1)
    checked = apply(ops.CheckLabels, flat_target, classes=classes, ignore=ignore_index)
    keep = checked != ignore_index
    safe = checked.masked_fill(~keep, 0)
    log_probs = _class_last(input)
    picked = -log_probs.gather(1, safe.unsqueeze(1)).squeeze(1)
    weights = keep.to(input.dtype)
    if weight is not None:
        weights = weights * cast(operand(weight, input), input.dtype)[safe]
    losses = picked * weights
    if reduction == "mean":
        return losses.sum() / weights.sum()
    if reduction == "none":
        return losses.reshape(target.shape)
    return _reduce(losses, reduction)


def cross_entropy(
    input: Tensor,
    target,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of logits (N, C) or (N, C, d...) against class indices (N, d...)
    or class probabilities shaped like the logits; PyTorch's weight, ignore_index,
    reduction and label_smoothing."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 1 if input.ndim >= 2 else 0
    target_is_probs = isinstance(target, Tensor) and target.dtype.kind == "f"
    if (
        input.ndim == 2
        and input.dtype.kind == "f"
        and weight is None
        and not label_smoothing
        and not target_is_probs
        and reduction in ("mean", "sum", "none")
    ):  # the common case as one op: softmax minus one-hot in a single backward pass
        target = _targets(target, input)
        checked = apply(ops.CheckLabels, target, classes=input.shape[1], ignore=ignore_index)
        return apply(ops.CrossEntropy, input, checked, ignore=ignore_index, reduction=reduction)
    log_probs = input.log_softmax(class_dim)
    if target_is_probs:
        return _soft_cross_entropy(log_probs, target, weight, reduction, label_smoothing, class_dim)
    loss = nll_loss(log_probs, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return loss
    target = _targets(target, input)
    keep = (target != ignore_index).to(input.dtype)
    classes = input.shape[class_dim]
    per_class = -log_probs if weight is None else -log_probs * _class_shaped(weight, input)
    smooth = per_class.sum(class_dim) * keep
    if reduction == "mean":
        denominator = keep.sum() if weight is None else _target_weights(weight, target, keep)
        smooth = smooth.sum() / denominator
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * loss + label_smoothing / classes * smooth


def _class_shaped(weight, input_: Tensor) -> Tensor:
    weight = cast(operand(weight, input_), input_.dtype)
    return weight.reshape((-1,) + (1,) * (input_.ndim - 2)) if input_.ndim >= 2 else weight


def _target_weights(weight, target: Tensor, keep: Tensor) -> Tensor:
    weight = operand(weight, target)
    return (weight[target.masked_fill(keep == 0, 0)] * keep).sum()


def _soft_cross_entropy(log_probs, target, weight, reduction, label_smoothing, class_dim):
    if target.shape != log_probs.shape:
        raise RuntimeError(
            f"Expected target size {list(log_probs.shape)}, got {list(target.shape)}"
        )
    classes = log_probs.shape[class_dim]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = -log_probs * target
    if weight is not None:
        terms = terms * _class_shaped(weight, log_probs)
    losses = terms.sum(class_dim)
    if reduction == "mean":
        count = losses.numel()
        return losses.sum() / count if count else losses.sum() * np.nan
    return _reduce(losses, reduction)


def _check_same_shape(input_: Tensor, target, name: str) -> Tensor:
    target = operand(target, input_)
    if tuple(target.shape) != tuple(input_.shape):
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input_.shape}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
    return target


def mse_loss(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Mean of squared differences (broadcasting, with PyTorch's warning when shapes differ)."""
    target = _check_same_shape(input, target, "mse_loss")
    difference = input - target
    return _reduce(difference * difference, reduction)


def l1_loss(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean"):
    target = _check_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    target = _check_same_shape(input, target, "smooth_l1_loss")
    difference = (input - target).abs()
    if beta == 0:
        return _reduce(difference, reduction)
    losses = _where(
        difference < beta, 0.5 * difference * difference / beta, difference - 0.5 * beta
    )
    return _reduce(losses, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    return smooth_l1_loss(input, target, reduction=reduction, beta=delta) * delta


def binary_cross_entropy(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean"
):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p; logs clamped at -100 (PyTorch)."""
    target = operand(target, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    log_p = input.log().clamp(min=-100)
    log_not_p = (1 - input).log().clamp(min=-100)
    losses = -(target * log_p + (1 - target) * log_not_p)
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(
    input,
    target,
    weight=None,
    size_average=None,
    reduce=None,
    reduction="mean",
    pos_weight=None,
):
    """Sigmoid and binary cross-entropy in one stable expression."""
    target = operand(target, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    log_sigmoid_neg = (-input).clamp(min=0) + (-(input.abs())).exp().log1p()  # -log sigmoid(x)
    if pos_weight is None:
        losses = (1 - target) * input + log_sigmoid_neg
    else:
        scale = 1 + (pos_weight - 1) * target
        losses = (1 - target) * input + scale * log_sigmoid_neg
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


# ---------------------------------------------------------------- tensors from tensors


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows (..., num_classes) for class indices (...); num_classes=-1 takes
    the largest index + 1."""
    if not isinstance(tensor, Tensor) or tensor.dtype != INT64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.max().item()) + 1
    if tensor.numel():
        if int(tensor.min().item()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(tensor.max().item()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    positions = tensor.unsqueeze(-1) == as_tensor(np.arange(num_classes), device=tensor.device)
    return positions.long()


def pad(input: Tensor, pad: tuple, mode: str = "constant", value: float | None = None):
    """Pad with `value`; `pad` lists (before, after) pairs from the last dim backwards, as
    torch.nn.functional.pad (constant mode only)."""
    if mode != "constant":
        raise NotImplementedError(f"pad mode {mode!r} is not supported (only 'constant')")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length must be divisible by 2 and at most twice the dims")
    widths = [(0, 0)] * input.ndim
    for k in range(len(pad) // 2):
        widths[input.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    if any(before < 0 or after < 0 for before, after in widths):
        raise NotImplementedError("negative padding (cropping) is not supported")
    return apply(ops.Pad, input, pad_width=tuple(widths), value=0.0 if value is None else value)


def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    generator=None,
) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p); identity when not
    training. Draws from the default generator unless given one."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    refuse_in_capture("dropout (it draws random numbers)")
    keep = numpy_generator(generator).random(input.shape) >= p
    mask = to_device((keep / (1 - p)).astype(input.dtype), input.device)
    out = input * as_tensor(mask, device=input.device)
    return input.copy_(out) if inplace else out


__all__ = [
    "add_tanh",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "elu",
    "gelu",
    "gru_cell",
    "hardtanh",
    "huber_loss",
    "l1_loss",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsumexp",
    "lstm_cell",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "pad",
    "relu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "tanh",
]
