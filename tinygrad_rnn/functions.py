"""The tensor methods as functions of the package, as PyTorch offers them: `tg.sum(x, 1)`,
`tg.exp(x)`, `tg.matmul(a, b)`, ... Each calls the method of its first argument."""

from __future__ import annotations

import sys

from . import ops
from .dispatch import TENSOR_TYPES, apply, operand
from .tensor import Tensor

_METHODS = [
    "abs",
    "absolute",
    "add",
    "all",
    "allclose",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "argsort",
    "bincount",
    "bmm",
    "ceil",
    "chunk",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "clone",
    "cos",
    "count_nonzero",
    "cumsum",
    "diag",
    "diagonal",
    "div",
    "dot",
    "eq",
    "equal",
    "exp",
    "flatten",
    "flip",
    "floor",
    "gather",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "index_select",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "less",
    "less_equal",
    "log",
    "log10",
    "log1p",
    "log2",
    "log_softmax",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logsumexp",
    "lt",
    "masked_fill",
    "masked_select",
    "matmul",
    "mean",
    "mm",
    "movedim",
    "moveaxis",
    "mul",
    "mv",
    "nanmean",
    "nansum",
    "narrow",
    "ne",
    "neg",
    "negative",
    "nonzero",
    "norm",
    "not_equal",
    "numel",
    "permute",
    "pow",
    "prod",
    "reciprocal",
    "relu",
    "remainder",
    "repeat_interleave",
    "reshape",
    "round",
    "rsqrt",
    "scatter",
    "scatter_add",
    "select",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "std",
    "sub",
    "sum",
    "swapaxes",
    "swapdims",
    "t",
    "take_along_dim",
    "tanh",
    "topk",
    "transpose",
    "true_divide",
    "trunc",
    "unbind",
    "unflatten",
    "unsqueeze",
    "var",
]


def _method_function(name: str):
    def function(input, *args, **kwargs):
        tensor = operand(input, None)
        if type(tensor) not in TENSOR_TYPES:
            raise TypeError(
                f"{name}(): argument 'input' (position 1) must be Tensor, not "
                f"{type(input).__name__}"
            )
        return getattr(tensor, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"input.{name}(...) as a function (see Tensor.{name})."
    return function


def max(input, *args, **kwargs):  # noqa: A001 - PyTorch's names
    """input.max(...): the largest value, (values, indices) along a dim, or the elementwise max."""
    return input.max(*args, **kwargs)


def min(input, *args, **kwargs):  # noqa: A001
    """input.min(...): the smallest value, (values, indices) along a dim, or the elementwise min."""
    return input.min(*args, **kwargs)


def maximum(input, other):
    """Elementwise max, broadcasting; a tie shares the gradient."""
    return operand(input, None).maximum(other)


def minimum(input, other):
    """Elementwise min, broadcasting; a tie shares the gradient."""
    return operand(input, None).minimum(other)


def einsum(equation: str, *operands) -> Tensor:
    """Sums of products over named indices ("bij,bjk->bik"), as torch.einsum; operands may be
    given as one list. All operands share one dtype."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [operand(x, None) for x in operands]
    for t in tensors:  # (this module's `any` is the tensor method's)
        if type(t) not in TENSOR_TYPES:
            raise TypeError("einsum(): operands must be tensors")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        names = sorted(d.name for d in dtypes)
        raise RuntimeError(f"expected scalar type {names[0]} but found {names[1]}")
    return apply(ops.Einsum, *tensors, equation=equation)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(input) -> bool:
    return input.is_floating_point()


_module = sys.modules[__name__]
for _name in _METHODS:
    setattr(_module, _name, _method_function(_name))

__all__ = [
    *_METHODS,
    "einsum",
    "is_floating_point",
    "is_tensor",
    "max",
    "maximum",
    "min",
    "minimum",
]
