"""The loss functions of torch.nn.functional (re-exported by tinygrad_rnn.functional): the
class-index family (nll_loss, cross_entropy) and the elementwise ones, with PyTorch's
arguments, reductions (and the legacy size_average/reduce), checks and gradients."""

from __future__ import annotations

import warnings

import numpy as np

from . import nn_ops, ops
from .dispatch import apply, cast, operand
from .dtypes import INT64
from .tensor import Tensor
from .tensor_shape import where


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """The reduction named by PyTorch's deprecated size_average/reduce flags, if given."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
        "instead.",
        UserWarning,
        stacklevel=3,
    )
    return reduction


def _check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    _check_reduction(reduction)
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


# ---------------------------------------------------------------- class indices


def _class_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) as (N * d1 * ..., C); (C,) as (1, C); (N, C) as it is."""
    if x.ndim <= 2:
        return x.reshape(1, -1) if x.ndim == 1 else x
    return x.movedim(1, -1).reshape(-1, x.shape[1])


def _targets(target, input_: Tensor) -> Tensor:
    """Class-index targets (int64 or uint8, as PyTorch) checked against input (N, C, d...)."""
    target = operand(target, input_) if not isinstance(target, Tensor) else target
    if input_.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input_.ndim})")
    if input_.ndim > 1 and (target.ndim == 0 or target.shape[0] != input_.shape[0]):
        raise ValueError(
            f"Expected input batch_size ({input_.shape[0]}) to match target batch_size "
            f"({target.shape[0] if target.ndim else 0})."
        )
    if target.dtype not in (INT64, np.dtype(np.uint8)):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target.dtype.name}")
    expected = (input_.shape[0], *input_.shape[2:]) if input_.ndim >= 2 else ()
    if input_.ndim <= 2 and target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if tuple(target.shape) != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    if target.device != input_.device:
        raise RuntimeError(f"target on {target.device} for input on {input_.device}")
    return target.long() if target.dtype != INT64 else target


def _class_weight(weight, input_: Tensor, classes: int) -> Tensor:
    weight = operand(weight, input_)
    if weight.ndim != 1 or weight.numel() != classes:
        raise RuntimeError(
            f"weight tensor should be defined either for all {classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )
    if weight.dtype != input_.dtype:
        raise RuntimeError(
            f"expected scalar type {input_.dtype.name} but found {weight.dtype.name}"
        )
    return weight


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
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _targets(target, input)
    classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    if weight is not None:
        weight = _class_weight(weight, input, classes)
    flat_target = target if target.ndim == 1 else target.reshape(-1)
    checked = apply(ops.CheckLabels, flat_target, classes=classes, ignore=ignore_index)
    if weight is None and input.ndim <= 2 and input.dtype.kind == "f":  # the common case, one op
        rows = input if input.ndim == 2 else input.reshape(1, classes)
        loss = apply(ops.NllLoss, rows, checked, ignore=ignore_index, reduction=reduction)
        return loss.reshape(target.shape) if reduction == "none" and target.ndim != 1 else loss
    keep = checked != ignore_index
    safe = checked.masked_fill(~keep, 0)
    picked = -_class_last(input).gather(1, safe.unsqueeze(1)).squeeze(1)
    weights = keep.to(input.dtype)
    if weight is not None:
        weights = weights * weight[safe]
    losses = picked * weights
    if reduction == "mean":
        # NaN when every target is ignored, but gradient 0 (not 0 * inf), as PyTorch's
        total = weights.sum()
        nothing = total == 0
        return (losses.sum() / total.masked_fill(nothing, 1.0)).masked_fill(nothing, np.nan)
    if reduction == "none":
        return losses.reshape(target.shape)
    return losses.sum()


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
    """Softmax cross-entropy of logits (N, C) or (N, C, d...) (or (C,)) against class indices
    (N, d...) or, when the target has the logits' shape, class probabilities; PyTorch's
    weight, ignore_index, reduction and label_smoothing."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = operand(target, input) if not isinstance(target, Tensor) else target
    class_dim = 1 if input.ndim >= 2 else 0
    if tuple(target.shape) == tuple(input.shape):
        if target.dtype.kind != "f":
            raise RuntimeError(
                "Expected floating point type for target with class probabilities, got "
                f"{target.dtype.name}"
            )
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing, class_dim)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.ndim == 2 and input.dtype.kind == "f" and weight is None and label_smoothing <= 0.0:
        # the common case as one op: softmax minus one-hot in a single backward pass
        target = _targets(target, input)
        checked = apply(ops.CheckLabels, target, classes=input.shape[1], ignore=ignore_index)
        return apply(ops.CrossEntropy, input, checked, ignore=ignore_index, reduction=reduction)
    log_probs = input.log_softmax(class_dim)
    loss = nll_loss(log_probs, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0.0:
        return loss
    target = _targets(target, input)
    keep = target != ignore_index
    classes = input.shape[class_dim]
    per_class = log_probs if weight is None else log_probs * _class_shaped(weight, input)
    smooth = (-per_class.sum(class_dim)).masked_fill(~keep, 0.0)
    if reduction == "mean":
        if weight is None:
            denominator = keep.sum()
        else:
            denominator = operand(weight, input)[target.masked_fill(~keep, 0)]
            denominator = (denominator * keep.to(input.dtype)).sum()
        smooth = smooth.sum() / denominator
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / classes)


def _class_shaped(weight, input_: Tensor) -> Tensor:
    """A class weight (C,) shaped to broadcast along input's class dim."""
    weight = cast(operand(weight, input_), input_.dtype)
    return weight.reshape((-1,) + (1,) * (input_.ndim - 2)) if input_.ndim >= 2 else weight


def _soft_cross_entropy(input_, target, weight, reduction, label_smoothing, class_dim):
    classes = input_.shape[class_dim]
    if weight is not None:
        _class_weight(weight, input_, classes)
    log_probs = input_.log_softmax(class_dim)
    if label_smoothing > 0.0:
        if label_smoothing > 1.0:
            raise RuntimeError(
                f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
            )
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = log_probs * target
    if weight is not None:
        terms = terms * _class_shaped(weight, input_)
    if reduction == "none":
        return -terms.sum(class_dim)
    total = -terms.sum()
    if reduction == "sum":
        return total
    count = input_.numel() // classes if classes else 0
    return total / count if count else total * np.nan


# ---------------------------------------------------------------- elementwise


def _check_same_shape(input_: Tensor, target) -> Tensor:
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


def _weighted(losses: Tensor, weight, input_: Tensor, reduction: str, by_weight: bool):
    """PyTorch's `weight=` of mse/l1 (mean: sum / sum of weights) and huber (mean: mean)."""
    weight = operand(weight, input_)
    if tuple(weight.shape) != tuple(input_.shape):
        raise ValueError("Weights and input must have the same size.")
    losses = losses * weight
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(
            f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'."
        )
    if reduction == "mean" and by_weight:
        return losses.sum() / weight.sum()
    return _reduce(losses, reduction)


def mse_loss(
    input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean", weight=None
) -> Tensor:
    """Mean of squared differences (broadcasting, with PyTorch's warning when shapes differ)."""
    target = _check_same_shape(input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    difference = input - target
    losses = difference * difference
    if weight is not None:
        return _weighted(losses, weight, input, reduction, by_weight=True)
    return _reduce(losses, reduction)


def l1_loss(
    input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean", weight=None
) -> Tensor:
    """Mean of absolute differences."""
    target = _check_same_shape(input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    losses = (input - target).abs()
    if weight is not None:
        return _weighted(losses, weight, input, reduction, by_weight=True)
    return _reduce(losses, reduction)


def _smooth_l1(input_: Tensor, target, beta: float) -> Tensor:
    difference = (input_ - target).abs()
    if beta == 0:
        return difference
    return where(difference < beta, 0.5 * difference * difference / beta, difference - 0.5 * beta)


def smooth_l1_loss(
    input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean", beta=1.0
) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - beta / 2 (d = input - target)."""
    target = _check_same_shape(input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _reduce(_smooth_l1(input, target, beta), reduction)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta=1.0, weight=None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - delta / 2): smooth_l1 times delta."""
    target = _check_same_shape(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    losses = _smooth_l1(input, target, delta) * delta
    if weight is not None:
        return _weighted(losses, weight, input, reduction, by_weight=False)
    return _reduce(losses, reduction)


def _element_weight(weight, target: Tensor) -> Tensor:
    """A `weight=` broadcast to the target's shape (which it may not change)."""
    weight = operand(weight, target)
    shape = np.broadcast_shapes(tuple(target.shape), tuple(weight.shape))
    if shape != tuple(target.shape):
        raise RuntimeError(
            f"output with shape {list(target.shape)} doesn't match the broadcast shape "
            f"{list(shape)}"
        )
    return weight


def binary_cross_entropy(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) for probabilities p; logs clamped at -100, inputs and
    targets outside [0, 1] refused, gradients as PyTorch's."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = operand(target, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {target.dtype.name} but expected {input.dtype.name}")
    losses = apply(nn_ops.BinaryCrossEntropy, input, target)
    if weight is not None:
        losses = losses * _element_weight(weight, target)
    return _reduce(losses, reduction)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), stable for large |x|."""
    return apply(nn_ops.LogSigmoid, input)


def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None
) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable expression:
    (1 - y) x - (1 + (pos_weight - 1) y) log sigmoid(x)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = operand(target, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    if target.dtype.kind != "f":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {target.dtype.name}"
        )
    log_weight = 1 if pos_weight is None else 1 + (operand(pos_weight, input) - 1) * target
    losses = (1 - target) * input - log_weight * logsigmoid(input)
    if weight is not None:
        losses = losses * operand(weight, input)
    return _reduce(losses, reduction)
