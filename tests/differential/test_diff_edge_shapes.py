"""Edge shapes: 0-d tensors, dimensions of size 0 and of size 1, values and gradients.

Tables of small programs: those PyTorch runs (compared value for value, gradients too) and
those it refuses (we must refuse them with the same built-in exception class).
"""

import numpy as np
import pytest
from diff_harness import (
    cases,
    check,
    check_raises,
    check_same,
    functional,
    logsumexp,
    values_indices,
    with_grads,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

SCALAR = np.array(3.0)  # a 0-d float64 array
EMPTY = np.zeros(0)
EMPTY_ROWS = np.zeros((0, 3))
EMPTY_COLUMNS = np.zeros((2, 0))
ONE = np.array([2.5])
ROW = np.array([[1.0, -2.0, 0.5]])
COLUMN = np.array([[1.0], [-2.0]])


def grads_of(array, fn):
    """A case: fn(lib, x) with x a leaf from `array`, and x's gradient."""
    return with_grads(fn, array)


ZERO_D = {
    "sum()": lambda lib, x: x.sum(),
    "sum(0)": lambda lib, x: x.sum(0),
    "sum(-1)": lambda lib, x: x.sum(-1),
    "sum(dim=0,keepdim)": lambda lib, x: x.sum(dim=0, keepdim=True),
    "sum(dim=(0,))": lambda lib, x: x.sum(dim=(0,)),
    "mean(0)": lambda lib, x: x.mean(0),
    "mean(dim=-1,keepdim)": lambda lib, x: x.mean(dim=-1, keepdim=True),
    "amax(0)": lambda lib, x: x.amax(0),
    "amin(-1)": lambda lib, x: x.amin(-1),
    "max()": lambda lib, x: x.max(),
    "max(0)": lambda lib, x: values_indices(x.max(0)),
    "min(dim=0,keepdim)": lambda lib, x: values_indices(x.min(dim=0, keepdim=True)),
    "argmax()": lambda lib, x: x.argmax(),
    "argmax(0)": lambda lib, x: x.argmax(0),
    "argmax(0,keepdim)": lambda lib, x: x.argmax(0, keepdim=True),
    "var()": lambda lib, x: x.var(),
    "var(0)": lambda lib, x: x.var(0),
    "F.softmax(0)": lambda lib, x: functional(lib).softmax(x, 0),
    "F.softmax(-1)": lambda lib, x: functional(lib).softmax(x, -1),
    "F.log_softmax(0)": lambda lib, x: functional(lib).log_softmax(x, 0),
    "logsumexp(0)": lambda lib, x: logsumexp(lib, x, 0),
    "logsumexp(-1,keepdim)": lambda lib, x: logsumexp(lib, x, -1, True),
    "unsqueeze(0)": lambda lib, x: x.unsqueeze(0),
    "unsqueeze(-1)": lambda lib, x: x.unsqueeze(-1),
    "squeeze()": lambda lib, x: x.squeeze(),
    "squeeze(0)": lambda lib, x: x.squeeze(0),
    "squeeze(-1)": lambda lib, x: x.squeeze(-1),
    "reshape(1)": lambda lib, x: x.reshape(1),
    "reshape(-1)": lambda lib, x: x.reshape(-1),
    "reshape(1,1)": lambda lib, x: x.reshape(1, 1),
    "view(())": lambda lib, x: x.view(()),
    "flatten()": lambda lib, x: x.flatten(),
    "flatten(0)": lambda lib, x: x.flatten(0),
    "expand(3)": lambda lib, x: x.expand(3),
    "expand(2,3)": lambda lib, x: x.expand(2, 3),
    "permute()": lambda lib, x: x.permute(()),
    "transpose(0,-1)": lambda lib, x: x.transpose(0, -1),
    "x[None]": lambda lib, x: x[None],
    "x[...]": lambda lib, x: x[...],
    "x[()]": lambda lib, x: x[()],
    "x[None, ..., None]": lambda lib, x: x[None, ..., None],
    "x * zeros(2,3)": lambda lib, x: x * lib.zeros(2, 3, dtype=x.dtype),
    "stack([x,x])": lambda lib, x: lib.stack([x, x]),
    "stack([x,x],-1)": lambda lib, x: lib.stack([x, x], -1),
    "item": lambda lib, x: x.item(),
    "tolist": lambda lib, x: x.tolist(),
    "shape": lambda lib, x: x.shape,
    "ndim": lambda lib, x: x.ndim,
    "relu": lambda lib, x: x.relu(),
    "maximum with (2,)": lambda lib, x: lib.maximum(x, lib.ones(2, dtype=x.dtype)),
    "where(x>0,x,0)": lambda lib, x: lib.where(x > 0, x, lib.zeros_like(x)),
    "mse_loss": lambda lib, x: functional(lib).mse_loss(x, lib.zeros_like(x)),
    "clamp": lambda lib, x: x.clamp(0, 1),
}

ZERO_D_REFUSED = {
    "len": lambda lib, x: len(x),
    "x[0]": lambda lib, x: x[0],
    "x[:]": lambda lib, x: x[:],
    "sum(1)": lambda lib, x: x.sum(1),
    "sum(-2)": lambda lib, x: x.sum(-2),
    "mean(1)": lambda lib, x: x.mean(1),
    "amax(1)": lambda lib, x: x.amax(1),
    "argmax(1)": lambda lib, x: x.argmax(1),
    "F.softmax(1)": lambda lib, x: functional(lib).softmax(x, 1),
    "logsumexp(1)": lambda lib, x: logsumexp(lib, x, 1),
    "unsqueeze(2)": lambda lib, x: x.unsqueeze(2),
    "unsqueeze(-3)": lambda lib, x: x.unsqueeze(-3),
    "squeeze(1)": lambda lib, x: x.squeeze(1),
    "transpose(0,1)": lambda lib, x: x.transpose(0, 1),
    "cat([x,x])": lambda lib, x: lib.cat([x, x]),
    "x @ x": lambda lib, x: x @ x,
    "x @ ones(1)": lambda lib, x: x @ lib.ones(1, dtype=x.dtype),
    "split(1)": lambda lib, x: x.split(1),
    "chunk(1)": lambda lib, x: x.chunk(1),
    "iterate": lambda lib, x: list(x),
    "reshape(2)": lambda lib, x: x.reshape(2),
}


@pytest.mark.parametrize("case", cases(ZERO_D))
def test_zero_d(case):
    check(grads_of(SCALAR, case))


@pytest.mark.parametrize("case", cases(ZERO_D_REFUSED))
def test_zero_d_refused(case):
    check_raises(grads_of(SCALAR, case))


EMPTY_CASES = {
    "zeros(0).sum()": (EMPTY, lambda lib, x: x.sum()),
    "zeros(0).mean()": (EMPTY, lambda lib, x: x.mean()),
    "zeros(0).var()": (EMPTY, lambda lib, x: x.var()),
    "zeros(0).sum(0)": (EMPTY, lambda lib, x: x.sum(0)),
    "zeros(0).mean(0,keepdim)": (EMPTY, lambda lib, x: x.mean(0, keepdim=True)),
    "zeros(0,3).sum(0)": (EMPTY_ROWS, lambda lib, x: x.sum(0)),
    "zeros(0,3).sum(1)": (EMPTY_ROWS, lambda lib, x: x.sum(1)),
    "zeros(0,3).mean(0)": (EMPTY_ROWS, lambda lib, x: x.mean(0)),
    "zeros(0,3).mean(1)": (EMPTY_ROWS, lambda lib, x: x.mean(1)),
    "zeros(2,0).mean(1)": (EMPTY_COLUMNS, lambda lib, x: x.mean(1)),
    "zeros(2,0).mean(1,keepdim)": (EMPTY_COLUMNS, lambda lib, x: x.mean(1, keepdim=True)),
    "zeros(2,0).var(1)": (EMPTY_COLUMNS, lambda lib, x: x.var(1)),
    "zeros(0,3).amax(1)": (EMPTY_ROWS, lambda lib, x: x.amax(1)),
    "zeros(0,3).max(1)": (EMPTY_ROWS, lambda lib, x: values_indices(x.max(1))),
    "zeros(0,3).argmax(1)": (EMPTY_ROWS, lambda lib, x: x.argmax(1)),
    "zeros(0,3).sum((0,1))": (EMPTY_ROWS, lambda lib, x: x.sum((0, 1))),
    "logsumexp(zeros(0),0)": (EMPTY, lambda lib, x: logsumexp(lib, x, 0)),
    "logsumexp(zeros(2,0),1)": (EMPTY_COLUMNS, lambda lib, x: logsumexp(lib, x, 1)),
    "logsumexp(zeros(0,3),1)": (EMPTY_ROWS, lambda lib, x: logsumexp(lib, x, 1)),
    "logsumexp(zeros(0,3),0)": (EMPTY_ROWS, lambda lib, x: logsumexp(lib, x, 0)),
    "softmax(zeros(0),0)": (EMPTY, lambda lib, x: functional(lib).softmax(x, 0)),
    "softmax(zeros(2,0),1)": (EMPTY_COLUMNS, lambda lib, x: functional(lib).softmax(x, 1)),
    "softmax(zeros(0,3),1)": (EMPTY_ROWS, lambda lib, x: functional(lib).softmax(x, 1)),
    "softmax(zeros(0,3),0)": (EMPTY_ROWS, lambda lib, x: functional(lib).softmax(x, 0)),
    "log_softmax(zeros(2,0),1)": (
        EMPTY_COLUMNS,
        lambda lib, x: functional(lib).log_softmax(x, 1),
    ),
    "log_softmax(zeros(0,3),0)": (EMPTY_ROWS, lambda lib, x: functional(lib).log_softmax(x, 0)),
    "cat([zeros(0), x])": (ONE, lambda lib, x: lib.cat([lib.zeros(0, dtype=x.dtype), x])),
    "cat([zeros(0), (2,3)])": (
        ROW,
        lambda lib, x: lib.cat([lib.zeros(0, dtype=x.dtype), x.expand(2, 3)]),
    ),
    "cat([zeros(0,3), x])": (ROW, lambda lib, x: lib.cat([lib.zeros(0, 3, dtype=x.dtype), x])),
    "cat([x, zeros(1,0)],1)": (ROW, lambda lib, x: lib.cat([x, lib.zeros(1, 0, dtype=x.dtype)], 1)),
    "cat([empty, empty])": (EMPTY, lambda lib, x: lib.cat([x, x])),
    "stack([empty, empty])": (EMPTY, lambda lib, x: lib.stack([x, x])),
    "stack([zeros(0,3)]*2,1)": (EMPTY_ROWS, lambda lib, x: lib.stack([x, x], 1)),
    "zeros(0).split(2)": (EMPTY, lambda lib, x: x.split(2)),
    "zeros(0,3).split(1,1)": (EMPTY_ROWS, lambda lib, x: x.split(1, 1)),
    "zeros(0).split([0,0])": (EMPTY, lambda lib, x: x.split([0, 0])),
    "zeros(0).split(0)": (EMPTY, lambda lib, x: x.split(0)),
    "zeros(0).chunk(2)": (EMPTY, lambda lib, x: x.chunk(2)),
    "zeros(2,0).chunk(3,1)": (EMPTY_COLUMNS, lambda lib, x: x.chunk(3, 1)),
    "zeros(2,0)@zeros(0,3)": (EMPTY_COLUMNS, lambda lib, x: x @ lib.zeros(0, 3, dtype=x.dtype)),
    "zeros(0,3)@ones(3,2)": (EMPTY_ROWS, lambda lib, x: x @ lib.ones(3, 2, dtype=x.dtype)),
    "zeros(0)@zeros(0)": (EMPTY, lambda lib, x: x @ x),
    "zeros(0,3).reshape(-1)": (EMPTY_ROWS, lambda lib, x: x.reshape(-1)),
    "zeros(0,3).reshape(3,0)": (EMPTY_ROWS, lambda lib, x: x.reshape(3, 0)),
    "zeros(0,3).view(0,3,1)": (EMPTY_ROWS, lambda lib, x: x.view(0, 3, 1)),
    "zeros(0,3).flatten()": (EMPTY_ROWS, lambda lib, x: x.flatten()),
    "zeros(0,3).flatten(1)": (EMPTY_ROWS, lambda lib, x: x.flatten(1)),
    "zeros(0,3).transpose(0,1)": (EMPTY_ROWS, lambda lib, x: x.transpose(0, 1)),
    "zeros(0,3).unsqueeze(1)": (EMPTY_ROWS, lambda lib, x: x.unsqueeze(1)),
    "zeros(0,3).squeeze()": (EMPTY_ROWS, lambda lib, x: x.squeeze()),
    "zeros(0,3).expand(2,0,3)": (EMPTY_ROWS, lambda lib, x: x.expand(2, 0, 3)),
    "zeros(0,3)[:, 1]": (EMPTY_ROWS, lambda lib, x: x[:, 1]),
    "zeros(0,3)[[]]": (EMPTY_ROWS, lambda lib, x: x[[]]),
    "zeros(0)[zeros(0,bool)]": (EMPTY, lambda lib, x: x[x > 0]),
    "x[[]]": (ONE, lambda lib, x: x[[]]),
    "(2,3)[[]]": (ROW, lambda lib, x: x.expand(2, 3)[[]]),
    "(1,3)[:, []]": (ROW, lambda lib, x: x[:, []]),
    "x[2:]": (ONE, lambda lib, x: x[2:]),
    "x[x > 10]": (ROW, lambda lib, x: x[x > 10]),
    "zeros(0)+ones(1)": (EMPTY, lambda lib, x: x + lib.ones(1, dtype=x.dtype)),
    "zeros(0,3)*ones(3)": (EMPTY_ROWS, lambda lib, x: x * lib.ones(3, dtype=x.dtype)),
    "maximum(zeros(0),1)": (EMPTY, lambda lib, x: lib.maximum(x, lib.ones(1, dtype=x.dtype))),
    "relu(zeros(0,3))": (EMPTY_ROWS, lambda lib, x: x.relu()),
    "where(empty)": (EMPTY, lambda lib, x: lib.where(x > 0, x, x * 2)),
    "mse_loss(empty)": (EMPTY, lambda lib, x: functional(lib).mse_loss(x, x * 0)),
    "mse_loss(empty,sum)": (
        EMPTY,
        lambda lib, x: functional(lib).mse_loss(x, x * 0, reduction="sum"),
    ),
    "cross_entropy(empty batch)": (
        np.zeros((0, 4)),
        lambda lib, x: functional(lib).cross_entropy(x, lib.zeros(0, dtype=lib.int64)),
    ),
    "cross_entropy(empty batch,sum)": (
        np.zeros((0, 4)),
        lambda lib, x: functional(lib).cross_entropy(
            x, lib.zeros(0, dtype=lib.int64), reduction="sum"
        ),
    ),
    "nll_loss(empty batch)": (
        np.zeros((0, 4)),
        lambda lib, x: functional(lib).nll_loss(x, lib.zeros(0, dtype=lib.int64)),
    ),
}

EMPTY_REFUSED = {
    "zeros(0).amax()": (EMPTY, lambda lib, x: x.amax()),
    "zeros(0).max()": (EMPTY, lambda lib, x: x.max()),
    "zeros(0).min()": (EMPTY, lambda lib, x: x.min()),
    "zeros(0).argmax()": (EMPTY, lambda lib, x: x.argmax()),
    "zeros(0,3).amax(0)": (EMPTY_ROWS, lambda lib, x: x.amax(0)),
    "zeros(0,3).max(0)": (EMPTY_ROWS, lambda lib, x: x.max(0)),
    "zeros(0,3).argmax(0)": (EMPTY_ROWS, lambda lib, x: x.argmax(0)),
    "zeros(0,3).reshape(0,-1)": (EMPTY_ROWS, lambda lib, x: x.reshape(0, -1)),
    "zeros(0,3).reshape(-1,0)": (EMPTY_ROWS, lambda lib, x: x.reshape(-1, 0)),
    "zeros(0,3)[0]": (EMPTY_ROWS, lambda lib, x: x[0]),
    "zeros(0)[-1]": (EMPTY, lambda lib, x: x[-1]),
    "zeros(0).chunk(0)": (EMPTY, lambda lib, x: x.chunk(0)),
    "zeros(0).item()": (EMPTY, lambda lib, x: x.item()),
    "stack([])": (EMPTY, lambda lib, x: lib.stack([])),
    "cat([])": (EMPTY, lambda lib, x: lib.cat([])),
}


@pytest.mark.parametrize("case", cases(EMPTY_CASES))
def test_size_zero(case):
    array, fn = case
    check(grads_of(array, fn))


@pytest.mark.parametrize("case", cases(EMPTY_REFUSED))
def test_size_zero_refused(case):
    array, fn = case
    check_raises(grads_of(array, fn))


SIZE_ONE = {
    "ones(1).var()": (ONE, lambda lib, x: x.var()),
    "ones(1).mean()": (ONE, lambda lib, x: x.mean()),
    "ones(1).sum(0)": (ONE, lambda lib, x: x.sum(0)),
    "ones(1).max(0)": (ONE, lambda lib, x: values_indices(x.max(0))),
    "ones(1).amax(0)": (ONE, lambda lib, x: x.amax(0)),
    "ones(1).argmax(0)": (ONE, lambda lib, x: x.argmax(0)),
    "ones(1).item()": (ONE, lambda lib, x: x.item()),
    "ones(1).squeeze()": (ONE, lambda lib, x: x.squeeze()),
    "(1,3).squeeze()": (ROW, lambda lib, x: x.squeeze()),
    "(1,3).squeeze(0)": (ROW, lambda lib, x: x.squeeze(0)),
    "(1,3).squeeze(1)": (ROW, lambda lib, x: x.squeeze(1)),
    "(1,3).squeeze((0,1))": (ROW, lambda lib, x: x.squeeze((0, 1))),
    "(2,1).squeeze(-1)": (COLUMN, lambda lib, x: x.squeeze(-1)),
    "softmax over size 1": (COLUMN, lambda lib, x: functional(lib).softmax(x, 1)),
    "log_softmax over size 1": (COLUMN, lambda lib, x: functional(lib).log_softmax(x, 1)),
    "logsumexp over size 1": (COLUMN, lambda lib, x: logsumexp(lib, x, 1)),
    "cat of one": (ROW, lambda lib, x: lib.cat([x])),
    "stack of one": (ROW, lambda lib, x: lib.stack([x], 1)),
    "split bigger than dim": (ROW, lambda lib, x: x.split(5, 1)),
    "split(1) of (1,3)": (ROW, lambda lib, x: x.split(1)),
    "chunk(5) of 3": (ROW, lambda lib, x: x.chunk(5, 1)),
    "chunk(2) of 3": (ROW, lambda lib, x: x.chunk(2, 1)),
    "chunk(4) of 6": (np.arange(6.0), lambda lib, x: x.chunk(4)),
    "chunk(4) of 5": (np.arange(5.0), lambda lib, x: x.chunk(4)),
    "chunk(3) of 5": (np.arange(5.0), lambda lib, x: x.chunk(3)),
    "(1,3)@(3,1)": (ROW, lambda lib, x: x @ x.transpose(0, 1)),
    "(1,3)@(3,)": (ROW, lambda lib, x: x @ x[0]),
    "(3,)@(3,)": (ROW, lambda lib, x: x[0] @ x[0]),
    "(2,1)*(1,3)": (COLUMN, lambda lib, x: x * lib.ones(1, 3, dtype=x.dtype)),
    "expand(1,3)->(4,3)": (ROW, lambda lib, x: x.expand(4, 3)),
    "expand(-1,3)": (ROW, lambda lib, x: x.expand(-1, 3)),
    "expand(2,-1,-1)": (ROW, lambda lib, x: x.expand(2, -1, -1)),
    "cross_entropy batch 1": (
        ROW,
        lambda lib, x: functional(lib).cross_entropy(x, lib.tensor([2])),
    ),
    "cross_entropy one class": (
        COLUMN,
        lambda lib, x: functional(lib).cross_entropy(x, lib.tensor([0, 0])),
    ),
    "max over ties (2,1)": (
        np.array([[1.0, 1.0], [2.0, 2.0]]),
        lambda lib, x: values_indices(x.max(1)),
    ),
    "amax over ties": (np.array([[1.0, 1.0], [2.0, 2.0]]), lambda lib, x: x.amax(1)),
    "max() over ties": (np.array([[1.0, 1.0], [2.0, 2.0]]), lambda lib, x: x.max()),
    "min(0) over ties": (
        np.array([[1.0, 1.0], [1.0, 2.0]]),
        lambda lib, x: values_indices(x.min(0)),
    ),
}

SIZE_ONE_REFUSED = {
    "(1,3).squeeze(2)": (ROW, lambda lib, x: x.squeeze(2)),
    "expand(1,3)->(4,2)": (ROW, lambda lib, x: x.expand(4, 2)),
    "expand(-1) on new dim": (ROW, lambda lib, x: x.expand(-1, 1, 3)),
    "(1,3)@(1,3)": (ROW, lambda lib, x: x @ x),
    "split sizes not adding up": (ROW, lambda lib, x: x.split([1, 1], 1)),
    "split(-1)": (ROW, lambda lib, x: x.split(-1, 1)),
    "chunk(-1)": (ROW, lambda lib, x: x.chunk(-1, 1)),
    "stack of unequal": (ROW, lambda lib, x: lib.stack([x, x[:, :2]])),
    "cat of unequal": (ROW, lambda lib, x: lib.cat([x, x[:, :2]])),
    "cat of different ndim": (ROW, lambda lib, x: lib.cat([x, x[0]])),
    "x.reshape(2, -1)": (ROW, lambda lib, x: x.reshape(2, -1)),
    "x.view(-1, -1)": (ROW, lambda lib, x: x.view(-1, -1)),
}


@pytest.mark.parametrize("case", cases(SIZE_ONE))
def test_size_one(case):
    array, fn = case
    check(grads_of(array, fn))


@pytest.mark.parametrize("case", cases(SIZE_ONE_REFUSED))
def test_size_one_refused(case):
    array, fn = case
    check_raises(grads_of(array, fn))


RECURRENT_EDGES = {
    "RNN over T=0": lambda lib: lib.nn.RNN(3, 4)(lib.zeros(0, 2, 3)),
    "RNN over batch 0": lambda lib: lib.nn.RNN(3, 4)(lib.zeros(5, 0, 3)),
    "LSTM over batch 0": lambda lib: lib.nn.LSTM(3, 4)(lib.zeros(5, 0, 3)),
    "GRU batch_first batch 0": lambda lib: lib.nn.GRU(3, 4, batch_first=True)(lib.zeros(0, 5, 3)),
    "RNNCell batch 0": lambda lib: lib.nn.RNNCell(3, 4)(lib.zeros(0, 3)),
    "Linear on (0,3)": lambda lib: lib.nn.Linear(3, 4)(lib.zeros(0, 3)),
    "Linear(0,2) on (5,0)": lambda lib: lib.nn.Linear(0, 2)(lib.zeros(5, 0)),
    "RNNCell unbatched": lambda lib: lib.nn.RNNCell(3, 4)(lib.zeros(3)),
    "LSTMCell unbatched": lambda lib: lib.nn.LSTMCell(3, 4)(lib.zeros(3)),
    "RNN unbatched": lambda lib: lib.nn.RNN(3, 4)(lib.zeros(5, 3)),
    "RNN unbatched with h0": lambda lib: lib.nn.RNN(3, 4, 2)(lib.zeros(5, 3), lib.zeros(2, 4)),
}


def shapes_only(fn):
    """Layers start from random weights: compare only what comes back's structure and shapes."""

    def case(lib):
        out = fn(lib)

        def shape(value):
            if isinstance(value, (tuple, list)):
                return [shape(v) for v in value]
            return [tuple(value.shape), str(value.dtype).rsplit(".", 1)[-1]]

        return shape(out)

    return case


@pytest.mark.parametrize("case", cases(RECURRENT_EDGES))
def test_layers_on_edge_shapes(case):
    check_same(shapes_only(case))
