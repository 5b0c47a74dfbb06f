"""Hypothesis-drawn programs over the op set: values and every gradient equal PyTorch's.

Each family draws shapes, broadcast patterns, values and dims, runs the same program on both
libraries from the same arrays, then sends the same cotangent back and compares every leaf's
gradient; float64 tightly, float32 more loosely. Inputs stay inside each op's domain here;
test_diff_special_values.py covers the edges (0, ±inf, NaN, ties at kinks are still drawn).
"""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from diff_harness import (
    MAX_DIMS,
    MAX_SIDE,
    PROGRAM_TOLERANCE,
    check,
    check_same,
    drawn_array,
    drawn_shape,
    functional,
    logsumexp,
    tensor,
    with_grads,
)
from hypothesis import given
from hypothesis import strategies as st

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]
FLOATS = ["float64", "float32"]

# name: (program on one tensor, (low, high) of its values)
UNARY = {
    "neg": (lambda lib, x: -x, (-3, 3)),
    "abs": (lambda lib, x: x.abs(), (-3, 3)),
    "relu": (lambda lib, x: x.relu(), (-3, 3)),
    "F.relu": (lambda lib, x: functional(lib).relu(x), (-3, 3)),
    "tanh": (lambda lib, x: x.tanh(), (-3, 3)),
    "F.tanh": (lambda lib, x: functional(lib).tanh(x), (-3, 3)),
    "sigmoid": (lambda lib, x: x.sigmoid(), (-3, 3)),
    "F.sigmoid": (lambda lib, x: functional(lib).sigmoid(x), (-3, 3)),
    "exp": (lambda lib, x: x.exp(), (-3, 3)),
    "log": (lambda lib, x: x.log(), (0.05, 3)),
    "sqrt": (lambda lib, x: x.sqrt(), (0.05, 3)),
    "square": (lambda lib, x: x * x, (-3, 3)),
    "x**2": (lambda lib, x: x**2, (-3, 3)),
    "x**3": (lambda lib, x: x**3, (-3, 3)),
    "x**0.5": (lambda lib, x: x**0.5, (0.05, 3)),
    "x**-1.5": (lambda lib, x: x**-1.5, (0.05, 3)),
    "2**x": (lambda lib, x: 2**x, (-3, 3)),
    "1.5**x": (lambda lib, x: 1.5**x, (-3, 3)),
    "1/x": (lambda lib, x: 1 / x, (0.1, 3)),
    "2-x": (lambda lib, x: 2 - x, (-3, 3)),
    "x*2.5": (lambda lib, x: x * 2.5, (-3, 3)),
    "x/3": (lambda lib, x: x / 3, (-3, 3)),
    "x+True": (lambda lib, x: x + True, (-3, 3)),
    "clamp(-0.5,1)": (lambda lib, x: x.clamp(-0.5, 1.0), (-3, 3)),
    "clamp(min=0.25)": (lambda lib, x: x.clamp(min=0.25), (-3, 3)),
    "clamp(max=0.25)": (lambda lib, x: x.clamp(max=0.25), (-3, 3)),
    "clip(-1,1)": (lambda lib, x: x.clip(-1, 1), (-3, 3)),
    "detach*x": (lambda lib, x: x.detach() * x, (-3, 3)),
}


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_unary(name, dtype_name, data):
    fn, (low, high) = UNARY[name]
    x = drawn_array(data, drawn_shape(data), dtype_name, low, high)
    check(with_grads(fn, x), PROGRAM_TOLERANCE)


BINARY = {
    "add": (lambda lib, a, b: a + b, (-3, 3)),
    "sub": (lambda lib, a, b: a - b, (-3, 3)),
    "mul": (lambda lib, a, b: a * b, (-3, 3)),
    "div": (lambda lib, a, b: a / (b.abs() + 0.5), (-3, 3)),
    "pow": (lambda lib, a, b: (a.abs() + 0.1) ** b, (-2, 2)),
    "maximum": (lambda lib, a, b: lib.maximum(a, b), (-3, 3)),
    "minimum": (lambda lib, a, b: lib.minimum(a, b), (-3, 3)),
    "a.maximum(b)": (lambda lib, a, b: a.maximum(b), (-3, 3)),
    "where(a>b)": (lambda lib, a, b: lib.where(a > b, a, b * 2), (-3, 3)),
    "where(a>0,a,0.5)": (lambda lib, a, b: lib.where(a > 0, a, b + 0.5), (-3, 3)),
    "a*b+a": (lambda lib, a, b: a * b + a, (-3, 3)),
    "compare": (lambda lib, a, b: [a < b, a <= b, a > b, a >= b, a == b, a != b], (-2, 2)),
}


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("name", list(BINARY))
@given(data=st.data())
def test_binary_broadcasting(name, dtype_name, data):
    fn, (low, high) = BINARY[name]
    shapes = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=MAX_DIMS, max_side=MAX_SIDE)
    )
    a, b = (drawn_array(data, s, dtype_name, low, high) for s in shapes.input_shapes)
    check(with_grads(fn, a, b), PROGRAM_TOLERANCE)


REDUCTIONS = {
    "sum": lambda lib, x, dim, keep: x.sum(dim=dim, keepdim=keep),
    "mean": lambda lib, x, dim, keep: x.mean(dim=dim, keepdim=keep),
    "amax": lambda lib, x, dim, keep: x.amax(dim=dim, keepdim=keep),
    "amin": lambda lib, x, dim, keep: x.amin(dim=dim, keepdim=keep),
    "var": lambda lib, x, dim, keep: x.var(dim=dim, keepdim=keep),
    "logsumexp": lambda lib, x, dim, keep: logsumexp(lib, x, dim, keep),
}
WHOLE = {
    "sum": lambda lib, x: x.sum(),
    "mean": lambda lib, x: x.mean(),
    "amax": lambda lib, x: x.amax(),
    "amin": lambda lib, x: x.amin(),
    "max": lambda lib, x: x.max(),
    "min": lambda lib, x: x.min(),
    "var": lambda lib, x: x.var(),
    "argmax": lambda lib, x: x.argmax(),
}


def drawn_dims(data, ndim: int):
    """An int dim (possibly negative) or a tuple of distinct dims."""
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    return data.draw(one | several)


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("name", list(REDUCTIONS))
@given(data=st.data())
def test_reduction_over_dims(name, dtype_name, data):
    x = drawn_array(data, drawn_shape(data, min_dims=1), dtype_name)
    dim, keep = drawn_dims(data, x.ndim), data.draw(st.booleans())
    fn = REDUCTIONS[name]
    check(with_grads(lambda lib, t: fn(lib, t, dim, keep), x), PROGRAM_TOLERANCE)


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("name", list(WHOLE))
@given(data=st.data())
def test_reduction_of_everything(name, dtype_name, data):
    x = drawn_array(data, drawn_shape(data), dtype_name)
    check(with_grads(WHOLE[name], x), PROGRAM_TOLERANCE)


@pytest.mark.parametrize("dtype_name", FLOATS)
@given(data=st.data())
def test_argmax_over_a_dim(dtype_name, data):
    x = drawn_array(data, drawn_shape(data, min_dims=1), dtype_name, -2, 2)
    dim, keep = data.draw(st.integers(-x.ndim, x.ndim - 1)), data.draw(st.booleans())
    check(lambda lib: tensor(lib, x).argmax(dim=dim, keepdim=keep))


SOFTMAXES = {
    "F.softmax": lambda lib, x, dim: functional(lib).softmax(x, dim),
    "F.log_softmax": lambda lib, x, dim: functional(lib).log_softmax(x, dim),
    "log(F.softmax)": lambda lib, x, dim: functional(lib).softmax(x, dim).log(),
}


@pytest.mark.parametrize("dtype_name", FLOATS)
@pytest.mark.parametrize("name", list(SOFTMAXES))
@given(data=st.data())
def test_softmax_family(name, dtype_name, data):
    x = drawn_array(data, drawn_shape(data, min_dims=1), dtype_name, -10, 10)
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check(with_grads(lambda lib, t: SOFTMAXES[name](lib, t, dim), x), PROGRAM_TOLERANCE)


@pytest.mark.parametrize("dtype_name", FLOATS)
@given(data=st.data())
def test_matmul_shapes(dtype_name, data):
    shapes = data.draw(
        hnp.mutually_broadcastable_shapes(
            signature="(m?,n),(n,p?)->(m?,p?)", max_dims=4, max_side=3
        )
    )
    a, b = (drawn_array(data, s, dtype_name) for s in shapes.input_shapes)
    spelling = data.draw(st.sampled_from(["@", "matmul"]))
    fn = (lambda lib, x, y: x @ y) if spelling == "@" else (lambda lib, x, y: x.matmul(y))
    check(with_grads(fn, a, b), PROGRAM_TOLERANCE)


def factor_shape(draw, size: int) -> tuple:
    """A shape with `size` elements, one entry possibly -1."""
    shape, left = [], size
    while left > 1 and len(shape) < 3:
        divisors = [d for d in range(1, left + 1) if left % d == 0]
        d = draw(st.sampled_from(divisors))
        shape.append(d)
        left //= d
    shape.append(left)
    if draw(st.booleans()):
        shape[draw(st.integers(0, len(shape) - 1))] = -1
    return tuple(shape)


@st.composite
def shape_programs(draw, shape):
    """(description, fn(lib, x)) for a shape op valid on `shape`."""
    ndim = len(shape)
    kinds = ["reshape", "view", "flatten", "unsqueeze", "expand", "squeeze_all"]
    if ndim:
        kinds += ["permute", "squeeze_dim", "every_other"]
    if ndim >= 2:
        kinds += ["transpose", "T2"]
    kind = draw(st.sampled_from(kinds))
    if kind in ("reshape", "view"):
        new = factor_shape(draw, math_prod(shape))
        return f"{kind}{new}", lambda lib, x: getattr(x, kind)(*new)
    if kind == "flatten":
        start = draw(st.integers(-max(ndim, 1), max(ndim - 1, 0)))
        return f"flatten({start})", lambda lib, x: x.flatten(start)
    if kind == "unsqueeze":
        dim = draw(st.integers(-ndim - 1, ndim))
        return f"unsqueeze({dim})", lambda lib, x: x.unsqueeze(dim)
    if kind == "expand":
        target = draw(hnp.broadcastable_shapes(shape, max_dims=4, max_side=3))
        target = np.broadcast_shapes(shape, target)
        lead = len(target) - ndim
        spelled = tuple(
            -1 if i >= lead and shape[i - lead] == size and draw(st.booleans()) else size
            for i, size in enumerate(target)
        )
        return (
            f"expand{spelled}",
            lambda lib, x: x.expand(spelled) if not spelled else x.expand(*spelled),
        )
    if kind == "squeeze_all":
        return "squeeze()", lambda lib, x: x.squeeze()
    if kind == "permute":
        order = tuple(draw(st.permutations(range(ndim))))
        return f"permute{order}", lambda lib, x: x.permute(*order)
    if kind == "squeeze_dim":
        dim = draw(st.integers(-ndim, ndim - 1))
        return f"squeeze({dim})", lambda lib, x: x.squeeze(dim)
    if kind == "every_other":
        dim = draw(st.integers(0, ndim - 1))
        index = (slice(None),) * dim + (slice(None, None, 2),)
        return f"x[{index}]", lambda lib, x: x[index]
    if kind == "transpose":
        d0, d1 = draw(st.integers(-ndim, ndim - 1)), draw(st.integers(-ndim, ndim - 1))
        return f"transpose({d0},{d1})", lambda lib, x: x.transpose(d0, d1)
    return "T", lambda lib, x: x.T if x.ndim == 2 else x.transpose(0, 1)


def math_prod(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


@pytest.mark.parametrize("dtype_name", FLOATS)
@given(data=st.data())
def test_shape_ops(dtype_name, data):
    x = drawn_array(data, drawn_shape(data), dtype_name)
    _, fn = data.draw(shape_programs(x.shape))
    check(with_grads(lambda lib, t: fn(lib, t) * 1.5, x), PROGRAM_TOLERANCE)


@pytest.mark.parametrize("dtype_name", FLOATS)
@given(data=st.data())
def test_cat_and_stack(dtype_name, data):
    shape = drawn_shape(data, min_dims=1)
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    count = data.draw(st.integers(1, 3))
    pieces = []
    for _ in range(count):
        own = list(shape)
        own[dim] = data.draw(st.integers(0, 3))
        pieces.append(drawn_array(data, tuple(own), dtype_name))
    check(with_grads(lambda lib, *ts: lib.cat(ts, dim), *pieces), PROGRAM_TOLERANCE)
    same = [drawn_array(data, shape, dtype_name) for _ in range(count)]
    new_dim = data.draw(st.integers(-ndim - 1, ndim))
    check(with_grads(lambda lib, *ts: lib.stack(list(ts), new_dim), *same), PROGRAM_TOLERANCE)


@pytest.mark.parametrize("dtype_name", FLOATS)
@given(data=st.data())
def test_split_and_chunk(dtype_name, data):
    x = drawn_array(data, drawn_shape(data, min_dims=1, max_side=5), dtype_name)
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    length = x.shape[dim]
    size = data.draw(st.integers(1, length + 1))
    check(with_grads(lambda lib, t: t.split(size, dim), x), PROGRAM_TOLERANCE)
    sizes = []
    left = length
    while left:
        sizes.append(data.draw(st.integers(0, left)) or left)
        left -= sizes[-1]
    check(with_grads(lambda lib, t: t.split(sizes, dim), x), PROGRAM_TOLERANCE)
    chunks = data.draw(st.integers(1, length + 2))
    check(with_grads(lambda lib, t: t.chunk(chunks, dim), x), PROGRAM_TOLERANCE)


@pytest.mark.parametrize("dtype_name", FLOATS)
@given(data=st.data())
def test_classification_losses(dtype_name, data):
    batch, classes = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    logits = drawn_array(data, (batch, classes), dtype_name, -5, 5)
    labels = np.array(
        data.draw(st.lists(st.integers(0, classes - 1), min_size=batch, max_size=batch)),
        dtype=np.int64,
    )
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))

    def cross_entropy(lib, x):
        return functional(lib).cross_entropy(x, tensor(lib, labels), reduction=reduction)

    def nll(lib, x):
        log_probs = functional(lib).log_softmax(x, 1)
        return functional(lib).nll_loss(log_probs, tensor(lib, labels), reduction=reduction)

    check(with_grads(cross_entropy, logits), PROGRAM_TOLERANCE)
    check(with_grads(nll, logits), PROGRAM_TOLERANCE)


@pytest.mark.parametrize("dtype_name", FLOATS)
@given(data=st.data())
def test_mse_loss(dtype_name, data):
    shape = drawn_shape(data)
    a, b = drawn_array(data, shape, dtype_name), drawn_array(data, shape, dtype_name)
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))

    def mse(lib, x, y):
        return functional(lib).mse_loss(x, y, reduction=reduction)

    check(with_grads(mse, a, b), PROGRAM_TOLERANCE)


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
