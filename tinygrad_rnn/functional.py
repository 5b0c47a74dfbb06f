"""Functions built from Tensor ops, with torch.nn.functional's names and arguments:
activations, the softmax family, dropout, embedding, padding, one_hot, linear; the losses
(functional_losses) and normalizations (functional_norms) are re-exported from here."""

from __future__ import annotations

import warnings

import numpy as np

from . import cell_ops, nn_ops, ops
from .autograd import refuse_in_capture
from .backend import to_device
from .creation import as_tensor
from .dispatch import apply
from .dtypes import INT64
from .functional_losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    logsigmoid,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from .functional_norms import batch_norm, layer_norm, normalize, overwrite_
from .grad_mode import no_grad
from .random import numpy_generator
from .tensor import Tensor
from .tensor_reduce import implicit_softmax_dim
from .tensor_shape import where

# ---------------------------------------------------------------- activations


def _inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    """out, or written into input (with out's history) when `inplace`."""
    return input.copy_(out) if inplace else out


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
        raise RuntimeError("approximate argument must be either none or tanh.")
    return 0.5 * input * (1 + apply(ops.Erf, input * 0.7071067811865476))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""
    return apply(ops.Softplus, input, beta=beta, threshold=threshold)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x (the gradient at 0 is negative_slope)."""
    return _inplace(input, where(input > 0, input, input * negative_slope), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha (exp(x) - 1)."""
    negative = alpha * (input.clamp(max=0).exp() - 1)  # clamped: no inf * 0 in the gradient
    return _inplace(input, where(input > 0, input, negative), inplace)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    return _inplace(input, input * input.sigmoid(), inplace)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """x clamped to [min_val, max_val]; as PyTorch's, the gradient is zero at the bounds too."""
    outside = (input <= min_val) | (input >= max_val)
    out = where(outside, input.detach().clamp(min_val, max_val), input)
    return _inplace(input, out, inplace)


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
    if dim is None:
        dim = implicit_softmax_dim("softmax", input, _stacklevel)
    return input.softmax(dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - logsumexp(x) along `dim`, stable for logits of any size."""
    if dim is None:
        dim = implicit_softmax_dim("log_softmax", input, _stacklevel)
    return input.log_softmax(dim, dtype)


def logsumexp(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) along `dim` (all dims if None), without overflow."""
    return input.logsumexp(dim, keepdim)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias: (..., in) -> (..., out)."""
    out = input @ weight.t()
    return out if bias is None else out + bias


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


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _masked(input: Tensor, p: float, mask_shape: tuple, inplace: bool, generator) -> Tensor:
    """input times a mask of `mask_shape` (broadcast over the rest): 0 with probability p,
    else 1/(1-p). Draws from the default generator unless given one."""
    if p == 1:
        return _inplace(input, input * 0.0, inplace)
    refuse_in_capture("dropout (it draws random numbers)")
    keep = numpy_generator(generator).random(mask_shape) >= p
    mask = to_device((keep / (1 - p)).astype(input.dtype), input.device)
    return _inplace(input, input * as_tensor(mask, device=input.device), inplace)


def dropout(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None
) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p); identity when not
    training."""
    _check_p(p)
    if not training or p == 0:
        return input
    return _masked(input, p, tuple(input.shape), inplace, generator)


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool, generator):
    """Zero whole channels: one draw per (N, C) entry, broadcast over the remaining dims."""
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if not training or p == 0:
        return input
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _masked(input, p, mask_shape, inplace, generator)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None
) -> Tensor:
    """Channel dropout of (N, C, L) or unbatched (C, L) input: each channel zeroed whole with
    probability p, the rest scaled by 1/(1-p)."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note "
            "that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs)."
        )
    if input.ndim == 3:
        return _feature_dropout(input, p, training, inplace, generator)
    out = _feature_dropout(input.unsqueeze(0), p, training, False, generator).squeeze(0)
    return _inplace(input, out, inplace) if out is not input else input


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None
) -> Tensor:
    """Channel dropout of (N, C, H, W) input (and, with PyTorch's warnings, of other ranks:
    the first two dims index the channels)."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 3D or 4D inputs).",
            UserWarning,
            stacklevel=2,
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=2,
        )
    return _feature_dropout(input, p, training, inplace, generator)


# ---------------------------------------------------------------- embedding


def _padding_index(padding_idx: int | None, rows: int) -> int:
    """padding_idx as a row number (negative counts from the end); -1 for none."""
    if padding_idx is None:
        return -1
    if padding_idx >= rows or padding_idx < -rows:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + rows if padding_idx < 0 else padding_idx


def embedding_renorm_(weight: Tensor, input: Tensor, max_norm: float, norm_type: float = 2.0):
    """Scale, in place and without history, each row of weight that `input` looks up and
    whose norm exceeds max_norm, to norm max_norm (PyTorch's embedding_renorm_)."""
    with no_grad():
        rows = input.reshape(-1)
        looked_up = weight[rows]
        norms = looked_up.norm(norm_type, 1, keepdim=True)
        scale = where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        return overwrite_(weight, looked_up * scale.to(weight.dtype), rows)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of weight (V, D) for integer indices (...) -> (..., D). The padding_idx row gets
    no gradient; with max_norm the rows looked up are first renormalised in place; with
    scale_grad_by_freq each row's gradient is divided by its count in the batch. The
    gradient is always dense here (sparse=True is accepted and gives the same values)."""
    if not isinstance(input, Tensor):
        input = as_tensor(input, device=weight.device)  # noqa: A001 - PyTorch's name
    if input.dtype.kind not in "iu" or input.dtype.itemsize < 4:
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.type()} instead (while checking arguments for "
            "embedding)"
        )
    padding_idx = _padding_index(padding_idx, weight.shape[0])
    input = apply(nn_ops.CheckIndices, input, rows=weight.shape[0])  # noqa: A001
    if max_norm is not None:
        embedding_renorm_(weight, input, max_norm, norm_type)
    return apply(
        nn_ops.Embedding,
        weight,
        input,
        padding_idx=padding_idx,
        scale_grad_by_freq=bool(scale_grad_by_freq),
    )


__all__ = [
    "add_tanh",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "dropout1d",
    "dropout2d",
    "elu",
    "embedding",
    "gelu",
    "gru_cell",
    "hardtanh",
    "huber_loss",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsigmoid",
    "logsumexp",
    "lstm_cell",
    "mse_loss",
    "nll_loss",
    "normalize",
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
