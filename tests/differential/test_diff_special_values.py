"""A grid of special values (0, -0, ±1, ±inf, NaN, tiny, huge) through every op.

Unary ops see every value; binary ops every pair (a column against a row, so broadcasting
makes the grid); reductions and the softmax family see rows mixing infinities and NaN. Values
and gradients are compared in float32 and float64, with a cotangent of ones.
"""

import numpy as np
import pytest
from diff_harness import cases, check, functional, logsumexp, values_indices, with_grads

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]
FLOATS = ["float32", "float64"]


def special(dtype_name: str) -> np.ndarray:
    info = np.finfo(np.dtype(dtype_name))
    grid = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, info.tiny, -info.tiny, info.max]
    grid += [-info.max, 0.5, -2.5, 2.0, 3.0]
    return np.array(grid, dtype=dtype_name)


UNARY = {
    "neg": lambda lib, x: -x,
    "abs": lambda lib, x: x.abs(),
    "relu": lambda lib, x: x.relu(),
    "F.relu": lambda lib, x: functional(lib).relu(x),
    "tanh": lambda lib, x: x.tanh(),
    "sigmoid": lambda lib, x: x.sigmoid(),
    "exp": lambda lib, x: x.exp(),
    "log": lambda lib, x: x.log(),
    "sqrt": lambda lib, x: x.sqrt(),
    "x*x": lambda lib, x: x * x,
    "x/x": lambda lib, x: x / x,
    "x-x": lambda lib, x: x - x,
    "x*0": lambda lib, x: x * 0,
    "x**0": lambda lib, x: x**0,
    "x**0.0": lambda lib, x: x**0.0,
    "x**1": lambda lib, x: x**1,
    "x**2": lambda lib, x: x**2,
    "x**3": lambda lib, x: x**3,
    "x**0.5": lambda lib, x: x**0.5,
    "x**2.5": lambda lib, x: x**2.5,
    "x**-1": lambda lib, x: x**-1,
    "x**-2": lambda lib, x: x**-2,
    "x**-0.5": lambda lib, x: x**-0.5,
    "2**x": lambda lib, x: 2**x,
    "0.0**x": lambda lib, x: 0.0**x,
    "1**x": lambda lib, x: 1**x,
    "(-2.0)**x": lambda lib, x: (-2.0) ** x,
    "1/x": lambda lib, x: 1 / x,
    "clamp(-1,1)": lambda lib, x: x.clamp(-1, 1),
    "clamp(min=0)": lambda lib, x: x.clamp(min=0),
    "clamp(max=0)": lambda lib, x: x.clamp(max=0),
    "clamp(0,0)": lambda lib, x: x.clamp(0, 0),
    "clamp(1,-1)": lambda lib, x: x.clamp(1, -1),
    "maximum(x,0)": lambda lib, x: lib.maximum(x, lib.zeros_like(x)),
    "minimum(x,0)": lambda lib, x: lib.minimum(x, lib.zeros_like(x)),
    "maximum(x,x)": lambda lib, x: lib.maximum(x, x),
    "where(x>0,x,0)": lambda lib, x: lib.where(x > 0, x, lib.zeros_like(x)),
    "where(x>0,sqrt,0)": lambda lib, x: lib.where(x > 0, x.sqrt(), lib.zeros_like(x)),
    "sum": lambda lib, x: x.sum(),
    "mean": lambda lib, x: x.mean(),
    "amax": lambda lib, x: x.amax(),
    "amin": lambda lib, x: x.amin(),
    "max": lambda lib, x: x.max(),
    "min": lambda lib, x: x.min(),
    "var": lambda lib, x: x.var(),
    "argmax": lambda lib, x: x.argmax(),
    "logsumexp": lambda lib, x: logsumexp(lib, x, 0),
    "softmax": lambda lib, x: functional(lib).softmax(x, 0),
    "log_softmax": lambda lib, x: functional(lib).log_softmax(x, 0),
    "comparisons": lambda lib, x: [x == x, x != x, x < 0, x >= 0, x > x],
}


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("case", cases(UNARY))
def test_unary_over_special_values(case, dtype_name):
    """Each special value on its own; the whole-vector reductions see all of them at once."""
    check(with_grads(case, special(dtype_name), varied=False))


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("case", cases(UNARY))
def test_unary_elementwise_one_value_at_a_time(case, dtype_name):
    """The same ops per value as (1,) tensors: a reduction's NaN cannot hide another value."""
    values = special(dtype_name)
    if case is UNARY["var"]:
        # one element has zero degrees of freedom: both give NaN, with gradient NaN, except
        # that PyTorch's gradient at a lone NaN is inf (an accident of its kernel, not kept)
        values = values[~np.isnan(values)]
    check(
        lambda lib: [
            with_grads(case, values[i : i + 1], varied=False)(lib) for i in range(len(values))
        ]
    )


BINARY = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b,
    "pow": lambda lib, a, b: a**b,
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
    "where(a>b,a,b)": lambda lib, a, b: lib.where(a > b, a, b),
    "comparisons": lambda lib, a, b: [a == b, a != b, a < b, a <= b, a > b, a >= b],
}


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("case", cases(BINARY))
def test_binary_over_special_pairs(case, dtype_name):
    values = special(dtype_name)
    check(with_grads(case, values[:, None], values[None, :], varied=False))


def rows(dtype_name: str) -> np.ndarray:
    inf, nan = np.inf, np.nan
    table = [
        [-inf, -inf, -inf],
        [inf, 1.0, 0.0],
        [inf, inf, 1.0],
        [-inf, 1.0, 2.0],
        [nan, 1.0, 2.0],
        [inf, -inf, 0.0],
        [1e30, 1e30, -1e30],
        [0.0, -0.0, 0.0],
        [1.0, 1.0, 1.0],
        [-inf, 3.0, 3.0],
    ]
    return np.array(table, dtype=dtype_name)


ROWS = {
    "logsumexp(dim=1)": lambda lib, x: logsumexp(lib, x, 1),
    "logsumexp(dim=1,keepdim)": lambda lib, x: logsumexp(lib, x, 1, True),
    "softmax(dim=1)": lambda lib, x: functional(lib).softmax(x, 1),
    "log_softmax(dim=1)": lambda lib, x: functional(lib).log_softmax(x, 1),
    "amax(dim=1)": lambda lib, x: x.amax(dim=1),
    "amin(dim=1)": lambda lib, x: x.amin(dim=1),
    "sum(dim=1)": lambda lib, x: x.sum(dim=1),
    "mean(dim=1)": lambda lib, x: x.mean(dim=1),
    "var(dim=1)": lambda lib, x: x.var(dim=1),
    "argmax(dim=1)": lambda lib, x: x.argmax(dim=1),
    "max(dim=1)": lambda lib, x: values_indices(x.max(dim=1)),
    "min(dim=1)": lambda lib, x: values_indices(x.min(dim=1)),
    "cross_entropy": lambda lib, x: functional(lib).cross_entropy(
        x, lib.tensor([i % 3 for i in range(x.shape[0])]), reduction="none"
    ),
    "mse_loss(x, 0)": lambda lib, x: functional(lib).mse_loss(
        x, lib.zeros_like(x), reduction="none"
    ),
}


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("case", cases(ROWS))
def test_rows_mixing_infinities_and_nan(case, dtype_name):
    check(with_grads(case, rows(dtype_name), varied=False))


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("case", cases(ROWS))
def test_rows_one_at_a_time(case, dtype_name):
    """Row by row, so one row's problem cannot mask another's in the report."""
    table = rows(dtype_name)
    check(
        lambda lib: [
            with_grads(case, table[i : i + 1], varied=False)(lib) for i in range(len(table))
        ]
    )


MATMUL = {
    "inf@zeros": (np.array([[np.inf, 1.0]]), np.array([[0.0], [1.0]])),
    "nan@ones": (np.array([[np.nan, 1.0]]), np.array([[1.0], [1.0]])),
    "huge@huge": (np.array([[1e200, 1e200]]), np.array([[1e200], [1e200]])),
}


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("name", list(MATMUL))
def test_matmul_with_special_values(name, dtype_name):
    a, b = (m.astype(dtype_name) for m in MATMUL[name])
    check(with_grads(lambda lib, x, y: x @ y, a, b, varied=False))
