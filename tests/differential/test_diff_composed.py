"""Hypothesis-drawn composed programs, and dim ops over shapes with size-0 dims and 0-d tensors.

A composed program chains up to four drawn steps (unary, binary with broadcasting, scalar,
reduction, softmax, slicing, indexing, matmul, cat, transpose, unsqueeze) on both libraries;
values and every leaf's gradient are compared, or the same class of error where PyTorch
refuses.
"""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from diff_harness import (
    PROGRAM_TOLERANCE,
    check_same,
    drawn_array,
    drawn_shape,
    functional,
    logsumexp,
    with_grads,
)
from hypothesis import given
from hypothesis import strategies as st

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

FLOATS = ["float64", "float32"]

# ---------------------------------------------------------------- composed programs
#
# A program is drawn as data first (a list of steps, each with its own new input arrays),
# then interpreted on each library, so both run exactly the same thing.

STEP_UNARY = ["tanh", "sigmoid", "relu", "abs", "neg", "exp_tanh", "square"]
STEP_BINARY = ["add", "sub", "mul", "maximum", "minimum"]
STEP_REDUCE = ["sum", "mean", "amax", "logsumexp", "var"]


def draw_program(data, shape, dtype_name, steps):
    program = []
    for _ in range(steps):
        ndim = len(shape)
        kinds = ["unary", "binary", "scalar"]
        if ndim:
            kinds += ["reduce", "softmax", "slice", "matmul", "cat", "index"]
        if ndim >= 2:
            kinds += ["transpose"]
        if ndim < 4:
            kinds += ["unsqueeze"]
        kind = data.draw(st.sampled_from(kinds))
        if kind == "unary":
            program.append((kind, data.draw(st.sampled_from(STEP_UNARY))))
        elif kind == "scalar":
            program.append(
                (
                    kind,
                    data.draw(st.sampled_from(["+", "*", "r-", "/"])),
                    data.draw(st.sampled_from([2, 0.5, -1.5])),
                )
            )
        elif kind == "binary":
            other = data.draw(hnp.broadcastable_shapes(shape, max_dims=4, max_side=3))
            program.append(
                (
                    kind,
                    data.draw(st.sampled_from(STEP_BINARY)),
                    drawn_array(data, other, dtype_name),
                )
            )
            shape = np.broadcast_shapes(shape, other)
        elif kind == "reduce":
            dim = data.draw(st.integers(-ndim, ndim - 1))
            keep = data.draw(st.booleans())
            program.append((kind, data.draw(st.sampled_from(STEP_REDUCE)), dim, keep))
            if not keep:
                shape = shape[: dim % ndim] + shape[dim % ndim + 1 :]
            else:
                shape = shape[: dim % ndim] + (1,) + shape[dim % ndim + 1 :]
        elif kind == "softmax":
            program.append(
                (
                    kind,
                    data.draw(st.sampled_from(["softmax", "log_softmax"])),
                    data.draw(st.integers(-ndim, ndim - 1)),
                )
            )
        elif kind == "slice":
            dim = data.draw(st.integers(0, ndim - 1))
            start = data.draw(st.integers(-shape[dim] - 1, shape[dim]))
            step = data.draw(st.integers(1, 2))
            program.append((kind, dim, start, step))
            shape = (
                shape[:dim]
                + (len(range(*slice(start, None, step).indices(shape[dim]))),)
                + shape[dim + 1 :]
            )
        elif kind == "index":
            dim = data.draw(st.integers(0, ndim - 1))
            if shape[dim] == 0:
                continue
            rows = data.draw(st.lists(st.integers(-shape[dim], shape[dim] - 1), max_size=4))
            program.append((kind, dim, rows))
            shape = shape[:dim] + (len(rows),) + shape[dim + 1 :]
        elif kind == "matmul":
            columns = data.draw(st.integers(1, 3))
            program.append((kind, drawn_array(data, (shape[-1], columns), dtype_name)))
            shape = shape[:-1] + (columns,)
        elif kind == "cat":
            dim = data.draw(st.integers(-ndim, ndim - 1))
            other = list(shape)
            other[dim] = data.draw(st.integers(1, 2))
            program.append((kind, dim, drawn_array(data, tuple(other), dtype_name)))
            shape = tuple(other[: dim % ndim] + [shape[dim] + other[dim]] + other[dim % ndim + 1 :])
        elif kind == "transpose":
            d0, d1 = data.draw(st.integers(0, ndim - 1)), data.draw(st.integers(0, ndim - 1))
            program.append((kind, d0, d1))
            axes = list(shape)
            axes[d0], axes[d1] = axes[d1], axes[d0]
            shape = tuple(axes)
        elif kind == "unsqueeze":
            dim = data.draw(st.integers(0, ndim))
            program.append((kind, dim))
            shape = shape[:dim] + (1,) + shape[dim:]
    return program


UNARY_STEPS = {
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "abs": lambda x: x.abs(),
    "neg": lambda x: -x,
    "exp_tanh": lambda x: x.tanh().exp(),
    "square": lambda x: x * x,
}
SCALAR_STEPS = {
    "+": lambda x, v: x + v,
    "*": lambda x, v: x * v,
    "r-": lambda x, v: v - x,
    "/": lambda x, v: x / v,
}
BINARY_STEPS = {
    "add": lambda lib, x, y: x + y,
    "sub": lambda lib, x, y: y - x,
    "mul": lambda lib, x, y: x * y,
    "maximum": lambda lib, x, y: lib.maximum(x, y),
    "minimum": lambda lib, x, y: lib.minimum(y, x),
}


def run_step(lib, x, step, new):
    """One step of a drawn program on tensor x; `new` yields the step's new leaves."""
    kind, *args = step
    if kind == "unary":
        return UNARY_STEPS[args[0]](x)
    if kind == "scalar":
        return SCALAR_STEPS[args[0]](x, args[1])
    if kind == "binary":
        return BINARY_STEPS[args[0]](lib, x, next(new))
    if kind == "reduce":
        name, dim, keep = args
        if name == "logsumexp":
            return logsumexp(lib, x, dim, keep)
        return getattr(x, name)(dim=dim, keepdim=keep)
    if kind == "softmax":
        return getattr(functional(lib), args[0])(x, args[1])
    if kind == "slice":
        dim, start, stride = args
        return x[(slice(None),) * dim + (slice(start, None, stride),)]
    if kind == "index":
        dim, rows = args
        return x[(slice(None),) * dim + (rows,)]
    if kind == "matmul":
        return x @ next(new)
    if kind == "cat":
        return lib.cat([x, next(new)], args[0])
    if kind == "transpose":
        return x.transpose(*args)
    return x.unsqueeze(args[0])


@pytest.mark.parametrize("dtype_name", FLOATS)
@given(data=st.data())
def test_composed_programs(dtype_name, data):
    x = drawn_array(data, drawn_shape(data, max_dims=3), dtype_name, -2, 2)
    program = draw_program(data, x.shape, dtype_name, data.draw(st.integers(1, 4)))
    arrays = [x] + [step[-1] for step in program if step[0] in ("binary", "matmul", "cat")]

    def fn(lib, first, *rest):
        new = iter(rest)
        for step in program:
            first = run_step(lib, first, step, new)
        return first

    check_same(with_grads(fn, *arrays), PROGRAM_TOLERANCE)


EMPTY_FRIENDLY = {
    "sum": lambda lib, x, dim: x.sum(dim),
    "mean": lambda lib, x, dim: x.mean(dim),
    "var": lambda lib, x, dim: x.var(dim),
    "amax": lambda lib, x, dim: x.amax(dim),
    "argmax": lambda lib, x, dim: x.argmax(dim),
    "logsumexp": lambda lib, x, dim: logsumexp(lib, x, dim),
    "F.softmax": lambda lib, x, dim: functional(lib).softmax(x, dim),
    "F.log_softmax": lambda lib, x, dim: functional(lib).log_softmax(x, dim),
    "cat with itself": lambda lib, x, dim: lib.cat([x, x], dim),
    "stack with itself": lambda lib, x, dim: lib.stack([x, x], dim),
    "split(1)": lambda lib, x, dim: x.split(1, dim),
    "chunk(2)": lambda lib, x, dim: x.chunk(2, dim),
    "flatten": lambda lib, x, dim: x.flatten(dim),
    "unsqueeze": lambda lib, x, dim: x.unsqueeze(dim),
    "squeeze": lambda lib, x, dim: x.squeeze(dim),
    "transpose with 0": lambda lib, x, dim: x.transpose(dim, 0),
}


@pytest.mark.parametrize("name", list(EMPTY_FRIENDLY))
@given(data=st.data())
def test_dim_ops_over_shapes_with_zeros_and_0d(name, data):
    """Shapes with size-0 and size-1 dims, and 0-d tensors: values and gradients, or the same
    class of error where PyTorch refuses (a max over an empty dim, say)."""
    x = drawn_array(data, drawn_shape(data, min_dims=0, max_dims=3, min_side=0))
    dim = data.draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1))
    fn = EMPTY_FRIENDLY[name]
    check_same(with_grads(lambda lib, t: fn(lib, t, dim), x), PROGRAM_TOLERANCE)
