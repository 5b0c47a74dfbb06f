"""Every op listed once: how to call it, its NumPy reference, and how to draw its inputs.

A case's `draw(data)` returns (arrays, kwargs): float64 NumPy inputs drawn by hypothesis, and
extra arguments (axes, shapes, indices) passed to both the op and its reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import strategies as st

import tinygrad_rnn as tg

F = tg.functional
MAX_DIMS, MAX_SIDE = 4, 3


@dataclass(frozen=True)
class OpCase:
    name: str
    op: Callable  # on Tensors (and kwargs)
    reference: Callable  # on NumPy arrays (and kwargs)
    draw: Callable  # hypothesis data -> (list of float64 arrays, kwargs)

    def __repr__(self) -> str:
        return self.name


def values(data, shape, low=-2.0, high=2.0):
    elements = st.floats(low, high, allow_nan=False, allow_subnormal=False)
    return data.draw(hnp.arrays(np.float64, shape, elements=elements))


def away_from(x, points, gap=0.05):
    """Move values within `gap` of a kink (0 for relu, the bounds for clip) out of its reach."""
    for point in points:
        near = np.abs(x - point) < gap
        x = np.where(near, point + np.where(x >= point, gap, -gap), x)
    return x


def distinct(x):
    """Break ties so max/min/maximum have a unique winner (ties have no derivative)."""
    ranks = np.argsort(np.argsort(x.reshape(-1), kind="stable"), kind="stable")
    return x + 0.01 * ranks.reshape(x.shape)


def shapes(min_dims=0, min_side=1):
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=MAX_DIMS, min_side=min_side, max_side=MAX_SIDE
    )


def unary(low=-2.0, high=2.0, prepare=lambda x: x, min_dims=0, min_side=1):
    def draw(data):
        return [prepare(values(data, data.draw(shapes(min_dims, min_side)), low, high))], {}

    return draw


def binary(low=-2.0, high=2.0, prepare=lambda a, b: (a, b)):
    def draw(data):
        pair = data.draw(
            hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=MAX_DIMS, max_side=MAX_SIDE)
        )
        a, b = (values(data, shape, low, high) for shape in pair.input_shapes)
        return list(prepare(a, b)), {}

    return draw


def with_axis(prepare=lambda x: x, min_side=1, keepdims=True):
    """One array and an `axis` (None, an int or a tuple) plus `keepdims`."""

    def draw(data):
        x = prepare(values(data, data.draw(shapes(1, min_side))))
        axes = data.draw(
            st.none()
            | st.integers(-x.ndim, x.ndim - 1)
            | st.lists(st.integers(0, x.ndim - 1), min_size=1, unique=True).map(tuple)
        )
        kwargs = {"axis": axes}
        if keepdims:
            kwargs["keepdims"] = data.draw(st.booleans())
        return [x], kwargs

    return draw


def one_axis(min_dims=1, prepare=lambda x: x):
    def draw(data):
        x = prepare(values(data, data.draw(shapes(min_dims))))
        return [x], {"axis": data.draw(st.integers(-x.ndim, x.ndim - 1))}

    return draw


def safe_divisor(a, b):
    return a, np.where(np.abs(b) < 0.5, np.copysign(0.5, b) + b, b)


def pow_inputs(a, b):
    return np.abs(a) + 0.5, b


def distinct_pair(a, b):
    a, b = np.broadcast_arrays(a, b)
    return a, np.where(np.abs(a - b) < 0.05, b + 0.1, b)


def draw_matmul(data):
    batch = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    vector_a, vector_b = data.draw(st.booleans()), data.draw(st.booleans())
    shape_a = (k,) if vector_a else batch.input_shapes[0] + (n, k)
    shape_b = (k,) if vector_b else batch.input_shapes[1] + (k, m)
    return [values(data, shape_a), values(data, shape_b)], {}


def draw_where(data):
    (a, b), _ = binary()(data)
    condition = data.draw(hnp.arrays(np.bool_, np.broadcast_shapes(a.shape, b.shape)))
    return [a, b], {"condition": condition}


def draw_reshape(data):
    x = values(data, data.draw(shapes()))
    return [x], {"shape": data.draw(st.sampled_from([(-1,), x.shape[::-1], (1, *x.shape)]))}


def draw_permute(data):
    x = values(data, data.draw(shapes()))
    return [x], {"axes": tuple(data.draw(st.permutations(range(x.ndim))))}


def draw_transpose(data):
    x = values(data, data.draw(shapes(2)))
    dims = st.integers(-x.ndim, x.ndim - 1)
    return [x], {"dim0": data.draw(dims), "dim1": data.draw(dims)}


def draw_expand(data):
    target = data.draw(shapes())
    source = tuple(data.draw(st.sampled_from([1, side])) for side in target)
    return [values(data, source[data.draw(st.integers(0, len(source))) :])], {"shape": target}


def draw_squeeze(data):
    shape = tuple(data.draw(st.sampled_from([1, side])) for side in data.draw(shapes(1)))
    return [values(data, shape)], {"axis": data.draw(st.none() | st.integers(0, len(shape) - 1))}


def draw_unsqueeze(data):
    x = values(data, data.draw(shapes()))
    return [x], {"axis": data.draw(st.integers(-x.ndim - 1, x.ndim))}


def draw_basic_index(data):
    x = values(data, data.draw(shapes(1)))
    parts = []
    for side in x.shape:
        parts.append(
            data.draw(
                st.integers(-side, side - 1)
                | st.builds(
                    slice,
                    st.none() | st.integers(-side, side),
                    st.none() | st.integers(-side, side),
                    st.none() | st.integers(1, 2),
                )
            )
        )
    extra = data.draw(st.sampled_from([(), (None,), (Ellipsis,)]))
    return [x], {"index": tuple(parts[: data.draw(st.integers(1, x.ndim))]) + extra}


def draw_array_index(data):
    x = values(data, data.draw(shapes(1)))
    rows = data.draw(st.lists(st.integers(-x.shape[0], x.shape[0] - 1), min_size=1, max_size=5))
    return [x], {"index": np.array(rows)}  # repeats included: their gradients must add up


def draw_bool_index(data):
    x = values(data, data.draw(shapes(1)))
    return [x], {"index": data.draw(hnp.arrays(np.bool_, x.shape))}


def draw_join(data):
    shape = data.draw(shapes(1))
    count = data.draw(st.integers(1, 3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    arrays = []
    for _ in range(count):
        own = list(shape)
        own[axis] = data.draw(st.integers(1, 3))
        arrays.append(values(data, tuple(own)))
    return arrays, {"dim": axis}


def draw_stack(data):
    shape = data.draw(shapes())
    arrays = [values(data, shape) for _ in range(data.draw(st.integers(1, 3)))]
    return arrays, {"dim": data.draw(st.integers(-len(shape) - 1, len(shape)))}


def draw_split(data):
    x = values(data, data.draw(shapes(1)))
    return [x], {"size": data.draw(st.integers(1, 3)), "dim": data.draw(st.integers(0, x.ndim - 1))}


def draw_pad(data):
    x = values(data, data.draw(shapes(1)))
    widths = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in x.shape)
    return [x], {"pad_width": widths}


def draw_same_shape(data):
    shape = data.draw(shapes(1))
    return [values(data, shape), values(data, shape)], {}


def draw_logits(data):
    logits = values(data, (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))), -5, 5)
    labels = data.draw(
        hnp.arrays(np.int64, logits.shape[:1], elements=st.integers(0, logits.shape[1] - 1))
    )
    return [logits], {"labels": labels}


def np_cross_entropy(logits, labels):
    log_probs = logits - np_logsumexp(logits, 1)
    return -log_probs[np.arange(len(labels)), labels].mean()


def np_logsumexp(x, axis):
    shift = x.max(axis=axis, keepdims=True)
    return np.log(np.exp(x - shift).sum(axis=axis, keepdims=True)) + shift


def draw_cell(gates):
    """A recurrent cell's inputs: the gates' two halves (B, gates * H) and a state (B, H)."""

    def draw(data):
        rows, hidden = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
        halves = [values(data, (rows, gates * hidden)) for _ in range(2)]
        return [*halves, values(data, (rows, hidden))], {}

    return draw


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_lstm_cell(a, b, c):
    gates, size = a + b, c.shape[-1]
    i, f, g, o = (gates[:, k * size : (k + 1) * size] for k in range(4))
    c_new = np_sigmoid(f) * c + np_sigmoid(i) * np.tanh(g)
    return np.stack([np_sigmoid(o) * np.tanh(c_new), c_new])


def np_gru_cell(a, b, h):
    size = h.shape[-1]
    r = np_sigmoid(a[:, :size] + b[:, :size])
    z = np_sigmoid(a[:, size : 2 * size] + b[:, size : 2 * size])
    n = np.tanh(a[:, 2 * size :] + r * b[:, 2 * size :])
    return (1 - z) * n + z * h


def np_swap(x, dim0, dim1):
    return np.swapaxes(x, dim0, dim1)


def np_split(x, size, dim):
    return np.split(x, range(size, x.shape[dim], size), axis=dim)


def np_squeeze(x, axis):
    if axis is not None and x.shape[axis] != 1:
        return x
    return np.squeeze(x, axis)


def _dims(axis):
    """NumPy's axis=None (all axes) as amax's dim=()."""
    return () if axis is None else axis


def torch_padding(pad_width):
    """NumPy's ((before, after), ...) per axis as torch.nn.functional.pad's flat list, last
    axis first."""
    return [n for pair in reversed(pad_width) for n in pair]


def joined(results):
    """Multi-output ops are compared and differentiated as one concatenated tensor."""
    if isinstance(results[0], tg.Tensor):
        return tg.cat([r.reshape(-1) for r in results])
    return np.concatenate([r.reshape(-1) for r in results])


CASES = [
    OpCase("add", lambda a, b: a + b, np.add, binary()),
    OpCase("sub", lambda a, b: a - b, np.subtract, binary()),
    OpCase("mul", lambda a, b: a * b, np.multiply, binary()),
    OpCase("div", lambda a, b: a / b, np.divide, binary(prepare=safe_divisor)),
    OpCase("pow", lambda a, b: a**b, np.power, binary(prepare=pow_inputs)),
    OpCase("maximum", tg.maximum, np.maximum, binary(prepare=distinct_pair)),
    OpCase("minimum", tg.minimum, np.minimum, binary(prepare=distinct_pair)),
    OpCase("matmul", lambda a, b: a @ b, np.matmul, draw_matmul),
    OpCase(
        "where",
        lambda a, b, condition: tg.where(condition, a, b),
        lambda a, b, condition: np.where(condition, a, b),
        draw_where,
    ),
    OpCase("radd_scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, unary()),
    OpCase("rsub_scalar", lambda a: 2.5 - a, lambda a: 2.5 - a, unary()),
    OpCase("mul_scalar", lambda a: a * 3.0, lambda a: a * 3.0, unary()),
    OpCase(
        "rdiv_scalar",
        lambda a: 2.0 / a,
        lambda a: 2.0 / a,
        unary(prepare=lambda x: away_from(x, [0.0], 0.5)),
    ),
    OpCase("pow_scalar", lambda a: a**3, lambda a: a**3, unary()),
    OpCase("rpow_scalar", lambda a: 2.0**a, lambda a: 2.0**a, unary()),
    OpCase("neg", lambda a: -a, np.negative, unary()),
    OpCase("exp", tg.Tensor.exp, np.exp, unary()),
    OpCase("log", tg.Tensor.log, np.log, unary(0.1, 3.0)),
    OpCase("sqrt", tg.Tensor.sqrt, np.sqrt, unary(0.1, 3.0)),
    OpCase("tanh", tg.Tensor.tanh, np.tanh, unary()),
    OpCase("add_tanh", F.add_tanh, lambda a, b: np.tanh(a + b), binary()),
    OpCase("lstm_cell", lambda a, b, c: tg.stack(F.lstm_cell(a, b, c)), np_lstm_cell, draw_cell(4)),
    OpCase("gru_cell", F.gru_cell, np_gru_cell, draw_cell(3)),
    OpCase("sigmoid", tg.Tensor.sigmoid, lambda a: 1 / (1 + np.exp(-a)), unary(-8.0, 8.0)),
    OpCase(
        "relu",
        tg.Tensor.relu,
        lambda a: np.maximum(a, 0),
        unary(prepare=lambda x: away_from(x, [0])),
    ),
    OpCase("abs", abs, np.abs, unary(prepare=lambda x: away_from(x, [0]))),
    OpCase(
        "clip",
        lambda a: a.clip(-0.5, 1.0),
        lambda a: np.clip(a, -0.5, 1.0),
        unary(prepare=lambda x: away_from(x, [-0.5, 1.0])),
    ),
    OpCase(
        "clamp_min",
        lambda a: a.clamp(min=0.2),
        lambda a: np.maximum(a, 0.2),
        unary(prepare=lambda x: away_from(x, [0.2])),
    ),
    OpCase("sum", lambda x, axis, keepdims: x.sum(axis, keepdims), np.sum, with_axis()),
    OpCase("mean", lambda x, axis, keepdims: x.mean(axis, keepdims), np.mean, with_axis()),
    OpCase(
        "var",
        lambda x, axis, keepdims: x.var(axis, keepdim=keepdims),
        lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims, ddof=1),
        with_axis(min_side=2),
    ),
    OpCase(
        "amax", lambda x, axis, keepdims: x.amax(_dims(axis), keepdims), np.max, with_axis(distinct)
    ),
    OpCase(
        "amin", lambda x, axis, keepdims: x.amin(_dims(axis), keepdims), np.min, with_axis(distinct)
    ),
    OpCase(
        "max_dim",
        lambda x, axis: x.max(axis).values,
        lambda x, axis: np.max(x, axis),
        one_axis(prepare=distinct),
    ),
    OpCase(
        "softmax",
        lambda x, axis: F.softmax(x, axis),
        lambda x, axis: np.exp(x - np_logsumexp(x, axis)),
        one_axis(),
    ),
    OpCase(
        "log_softmax",
        lambda x, axis: F.log_softmax(x, axis),
        lambda x, axis: x - np_logsumexp(x, axis),
        one_axis(),
    ),
    OpCase(
        "logsumexp",
        lambda x, axis: F.logsumexp(x, axis),
        lambda x, axis: np_logsumexp(x, axis).squeeze(axis),
        one_axis(),
    ),
    OpCase("reshape", lambda x, shape: x.reshape(shape), np.reshape, draw_reshape),
    OpCase("permute", lambda x, axes: x.permute(axes), np.transpose, draw_permute),
    OpCase("transpose", tg.Tensor.transpose, np_swap, draw_transpose),
    OpCase("T", lambda x: x.T, lambda x: x.T, unary()),
    OpCase("expand", lambda x, shape: x.expand(shape), np.broadcast_to, draw_expand),
    OpCase("squeeze", lambda x, axis: x.squeeze(axis), np_squeeze, draw_squeeze),
    OpCase("unsqueeze", lambda x, axis: x.unsqueeze(axis), np.expand_dims, draw_unsqueeze),
    OpCase("getitem_basic", lambda x, index: x[index], lambda x, index: x[index], draw_basic_index),
    OpCase("getitem_array", lambda x, index: x[index], lambda x, index: x[index], draw_array_index),
    OpCase("getitem_bool", lambda x, index: x[index], lambda x, index: x[index], draw_bool_index),
    OpCase(
        "cat", lambda *xs, dim: tg.cat(xs, dim), lambda *xs, dim: np.concatenate(xs, dim), draw_join
    ),
    OpCase(
        "stack", lambda *xs, dim: tg.stack(xs, dim), lambda *xs, dim: np.stack(xs, dim), draw_stack
    ),
    OpCase(
        "split",
        lambda x, size, dim: joined(x.split(size, dim)),
        lambda x, size, dim: joined(np_split(x, size, dim)),
        draw_split,
    ),
    OpCase(
        "chunk",
        lambda x, size, dim: joined(x.chunk(size, dim)),
        lambda x, size, dim: joined(np_split(x, -(-x.shape[dim] // size), dim)),
        draw_split,
    ),
    OpCase("pad", lambda x, pad_width: F.pad(x, torch_padding(pad_width)), np.pad, draw_pad),
    OpCase(
        "cross_entropy", lambda x, labels: F.cross_entropy(x, labels), np_cross_entropy, draw_logits
    ),
    OpCase(
        "nll_loss",
        lambda x, labels: F.nll_loss(x, labels),
        lambda x, labels: -x[np.arange(len(labels)), labels].mean(),
        draw_logits,
    ),
    OpCase("mse_loss", F.mse_loss, lambda a, b: np.mean((a - b) ** 2), draw_same_shape),
]
