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
