"""The primitives: one Function per op, forward and backward side by side, on raw arrays.

Each op uses the array module of its inputs (numpy or cupy), so one code path serves both
devices. Backward returns gradients shaped like the broadcast output; the engine reduces them
and casts them to each input's dtype. Gradients at special values (0, ±inf, NaN) follow
PyTorch's formulas, which the differential tests compare against.

`saved(needs)` names the inputs whose values backward reads (and `saves_output` whether it
reads its result), so that modifying one of them in place before backward is caught.
"""

from .activation import AddTanh, Erf, Relu, Sigmoid, Softplus, Tanh, sigmoid
from .elementwise import (
    Abs,
    Add,
    Cast,
    CheckLabels,
    Clip,
    Clone,
    Compare,
    Cos,
    Detach,
    Div,
    Exp,
    Log,
    Log1p,
    Logical,
    MatMul,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Reciprocal,
    Remainder,
    Sin,
    Sqrt,
    Sub,
    ToDevice,
    Where,
    ZeroGrad,
)
from .loss import CrossEntropy
from .reduce import (
    Amax,
    Amin,
    ArgExtreme,
    Cumsum,
    Extreme,
    LogSoftmax,
    LogSumExp,
    Norm,
    Prod,
    Softmax,
    SortIndices,
    Sum,
    Var,
)
from .shape import (
    Concatenate,
    Expand,
    Flip,
    Gather,
    GetItem,
    IndexInput,
    Pad,
    Reshape,
    Scatter,
    SetItem,
    Stack,
    Tile,
    Transpose,
    ViewScatter,
    is_basic_index,
)

__all__ = [
    "Abs", "Add", "AddTanh", "Amax", "Amin", "ArgExtreme", "Cast", "CheckLabels", "Clip", "Clone",
    "Compare", "Concatenate", "Cos", "CrossEntropy", "Cumsum", "Detach", "Div", "Erf", "Exp",
    "Expand", "Extreme", "Flip", "Gather", "GetItem", "IndexInput", "Log", "Log1p", "LogSoftmax",
    "LogSumExp", "Logical", "MatMul", "Maximum", "Minimum", "Mul", "Neg", "Norm", "Pad", "Pow",
    "Prod", "Reciprocal", "Relu", "Remainder", "Reshape", "Scatter", "SetItem", "Sigmoid", "Sin",
    "Softmax", "Softplus", "SortIndices", "Sqrt", "Stack", "Sub", "Sum", "Tanh", "Tile",
    "ToDevice", "Transpose", "Var", "ViewScatter", "Where", "ZeroGrad", "is_basic_index",
    "sigmoid",
]  # fmt: skip
