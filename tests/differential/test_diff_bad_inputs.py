"""Paired bad inputs to tensor operations: PyTorch raises if and only if we raise, with the
same built-in class.

Dims out of range or repeated, split sizes, ranges, matmul operands, shape mismatches, losses
and factories; with the valid inputs next to them that must keep working (and give PyTorch's
values). Optimizers, recurrent layers and devices are in test_diff_bad_modules.py.
"""

import numpy as np
import pytest
from diff_harness import cases, check, check_raises, dtype, functional, tensor

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def parameter(lib, values=(0.5, -1.0)):
    return lib.nn.Parameter(tensor(lib, np.array(values, dtype=np.float32)))


# ---------------------------------------------------------------- dims, splits, ranges, shapes

X = np.arange(6.0).reshape(2, 3)

DIMS_REFUSED = {
    "unsqueeze(5)": lambda lib, x: x.unsqueeze(5),
    "unsqueeze(-4)": lambda lib, x: x.unsqueeze(-4),
    "squeeze(3)": lambda lib, x: x.squeeze(3),
    "sum(2)": lambda lib, x: x.sum(2),
    "sum(-3)": lambda lib, x: x.sum(-3),
    "sum(dim=(0, 0))": lambda lib, x: x.sum(dim=(0, 0)),
    "sum(dim=(0, 2))": lambda lib, x: x.sum(dim=(0, 2)),
    "mean(5)": lambda lib, x: x.mean(5),
    "var(dim=-3)": lambda lib, x: x.var(dim=-3),
    "amax(2)": lambda lib, x: x.amax(2),
    "argmax(dim=2)": lambda lib, x: x.argmax(dim=2),
    "max(dim=3)": lambda lib, x: x.max(dim=3),
    "F.softmax(x, 2)": lambda lib, x: functional(lib).softmax(x, 2),
    "F.log_softmax(x, -3)": lambda lib, x: functional(lib).log_softmax(x, -3),
    "logsumexp(x, 2)": lambda lib, x: (
        lib.logsumexp(x, 2) if hasattr(lib, "logsumexp") else functional(lib).logsumexp(x, 2)
    ),
    "cat(dim=2)": lambda lib, x: lib.cat([x, x], 2),
    "cat(dim=-3)": lambda lib, x: lib.cat([x, x], -3),
    "stack(dim=3)": lambda lib, x: lib.stack([x, x], 3),
    "stack(dim=-4)": lambda lib, x: lib.stack([x, x], -4),
    "transpose(0, 2)": lambda lib, x: x.transpose(0, 2),
    "permute(0, 0)": lambda lib, x: x.permute(0, 0),
    "permute(0)": lambda lib, x: x.permute(0),
    "permute(0, 1, 2)": lambda lib, x: x.permute(0, 1, 2),
    "flatten(3)": lambda lib, x: x.flatten(3),
    "split(1, dim=2)": lambda lib, x: x.split(1, 2),
    "chunk(2, dim=-3)": lambda lib, x: x.chunk(2, -3),
    "expand(3)": lambda lib, x: x.expand(3),
    "expand(2, 2)": lambda lib, x: x.expand(2, 2),
}


@pytest.mark.parametrize("case", cases(DIMS_REFUSED))
def test_dims_out_of_range_and_repeated(case):
    check_raises(lambda lib: case(lib, tensor(lib, X)))


SPLITS_REFUSED = {
    "split(0)": lambda lib, x: x.split(0, 1),
    "split(-1)": lambda lib, x: x.split(-1),
    "split([1, 1]) of 3": lambda lib, x: x.split([1, 1], 1),
    "split([2, 2]) of 3": lambda lib, x: x.split([2, 2], 1),
    "split([2, -1, 2])": lambda lib, x: x.split([2, -1, 2], 1),
    "chunk(0)": lambda lib, x: x.chunk(0),
    "chunk(-2)": lambda lib, x: x.chunk(-2),
}


@pytest.mark.parametrize("case", cases(SPLITS_REFUSED))
def test_bad_split_sizes(case):
    check_raises(lambda lib: case(lib, tensor(lib, X)))


SPLITS_ACCEPTED = {
    "split(5) of 3": lambda lib, x: list(x.split(5, 1)),
    "split([0, 3])": lambda lib, x: list(x.split([0, 3], 1)),
    "split((1, 2))": lambda lib, x: list(x.split((1, 2), 1)),
    "chunk(5) of 2": lambda lib, x: list(x.chunk(5)),
    "split(2) of 3": lambda lib, x: list(x.split(2, 1)),
}


@pytest.mark.parametrize("case", cases(SPLITS_ACCEPTED))
def test_good_split_sizes(case):
    check(lambda lib: case(lib, tensor(lib, X)))


RANGES_REFUSED = {
    "arange(10, 0)": lambda lib: lib.arange(10, 0),
    "arange(0, 10, -1)": lambda lib: lib.arange(0, 10, -1),
    "arange(0, 10, 0)": lambda lib: lib.arange(0, 10, 0),
    "arange(0, inf)": lambda lib: lib.arange(0, float("inf")),
    "arange(nan)": lambda lib: lib.arange(float("nan")),
    "arange(-3)": lambda lib: lib.arange(-3),
}


@pytest.mark.parametrize("case", cases(RANGES_REFUSED))
def test_bad_ranges(case):
    check_raises(case)


RANGES_ACCEPTED = {
    "arange(10, 0, -3)": lambda lib: lib.arange(10, 0, -3),
    "arange(0)": lambda lib: lib.arange(0),
    "arange(2, 2)": lambda lib: lib.arange(2, 2),
    "arange(0.5, 2)": lambda lib: lib.arange(0.5, 2),
    "arange(0, 1, 0.3)": lambda lib: lib.arange(0, 1, 0.3),
    "arange(1, -1, -0.5)": lambda lib: lib.arange(1, -1, -0.5),
    "arange(end=3)": lambda lib: lib.arange(end=3),
    "arange(3, dtype=float32)": lambda lib: lib.arange(3, dtype=dtype(lib, "float32")),
}


@pytest.mark.parametrize("case", cases(RANGES_ACCEPTED))
def test_good_ranges(case):
    check(case)


SHAPES_REFUSED = {
    "t @ 2": lambda lib, x: x @ 2,
    "2 @ t": lambda lib, x: 2 @ x,
    "t @ 2.5": lambda lib, x: x @ 2.5,
    "t @ 0-d tensor": lambda lib, x: x @ lib.tensor(2.0, dtype=x.dtype),
    "t.matmul(2)": lambda lib, x: x.matmul(2),
    "(2,3) @ (2,3)": lambda lib, x: x @ x,
    "(3,) @ (2,)": lambda lib, x: x[0] @ x[:, 0],
    "batch mismatch": lambda lib, x: x.expand(2, 2, 3) @ x.expand(3, 3, 2),
    "(2,3) + (3,2)": lambda lib, x: x + x.transpose(0, 1),
    "(2,3) * (2,)": lambda lib, x: x * x[:, 0],
    "maximum (2,3) (2,)": lambda lib, x: lib.maximum(x, x[:, 0]),
    "where of mismatched": lambda lib, x: lib.where(x > 0, x, x[:, :2]),
    "reshape(4, 2)": lambda lib, x: x.reshape(4, 2),
    "view(-1, 4)": lambda lib, x: x.view(-1, 4),
    "view(-1, -1)": lambda lib, x: x.view(-1, -1),
    "reshape(-2, 3)": lambda lib, x: x.reshape(-2, 3),
    "cat of mismatched": lambda lib, x: lib.cat([x, x[:, :2]]),
    "cat of a scalar": lambda lib, x: lib.cat([x, 1.0]),
    "stack of mismatched": lambda lib, x: lib.stack([x, x[:, :2]]),
    "mse_loss (2,3) vs (2,)": lambda lib, x: functional(lib).mse_loss(x, x[:, 0]),
    "Linear(3, 4) on (2, 5)": lambda lib, x: lib.nn.Linear(3, 4)(lib.zeros(2, 5)),
    "backward with the wrong gradient shape": lambda lib, x: (
        lambda y: (y * 2).backward(lib.ones(3, 2, dtype=y.dtype))
    )(x.detach().requires_grad_()),
    "backward of a non-scalar without gradient": lambda lib, x: (
        x.detach().requires_grad_() * 2
    ).backward(),
    "backward of a tensor that needs no grad": lambda lib, x: x.sum().backward(),
    "backward twice": lambda lib, x: _backward_twice(lib, x),
}


def _backward_twice(lib, x):
    y = (x.detach().requires_grad_() * 2).exp().sum()
    y.backward()
    y.backward()


@pytest.mark.parametrize("case", cases(SHAPES_REFUSED))
def test_shape_mismatches_and_bad_operands(case):
    check_raises(lambda lib: case(lib, tensor(lib, X)))


def test_mse_loss_broadcasts_with_a_warning():
    """PyTorch broadcasts a target of another (broadcastable) shape, with a UserWarning."""
    check(
        lambda lib: functional(lib).mse_loss(tensor(lib, X), tensor(lib, np.array([1.0, 2.0, 3.0])))
    )


LOSSES_REFUSED = {
    "cross_entropy label 3 of 3 classes": lambda lib: functional(lib).cross_entropy(
        lib.zeros(2, 3), lib.tensor([0, 3])
    ),
    "cross_entropy label -1": lambda lib: functional(lib).cross_entropy(
        lib.zeros(2, 3), lib.tensor([0, -1])
    ),
    "cross_entropy batch mismatch": lambda lib: functional(lib).cross_entropy(
        lib.zeros(2, 3), lib.tensor([0, 1, 1])
    ),
    "cross_entropy bad reduction": lambda lib: functional(lib).cross_entropy(
        lib.zeros(2, 3), lib.tensor([0, 1]), reduction="avg"
    ),
    "nll_loss label out of range": lambda lib: functional(lib).nll_loss(
        lib.zeros(2, 3), lib.tensor([0, 3])
    ),
    "nll_loss of 1-d labels for 3-d input": lambda lib: functional(lib).nll_loss(
        lib.zeros(2, 3, 4), lib.tensor([0, 1])
    ),
    "mse_loss bad reduction": lambda lib: functional(lib).mse_loss(
        lib.zeros(2), lib.zeros(2), reduction="avg"
    ),
    "one_hot label too big": lambda lib: functional(lib).one_hot(lib.tensor([3]), 3),
    "Embedding index out of range": lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([3])),
    "Embedding float indices": lambda lib: lib.nn.Embedding(3, 2)(lib.zeros(2)),
    "Dropout(1.5)": lambda lib: lib.nn.Dropout(1.5),
    "Dropout(-0.1)": lambda lib: lib.nn.Dropout(-0.1),
    "F.dropout(p=-0.1)": lambda lib: functional(lib).dropout(lib.zeros(2), -0.1),
    "Linear(-1, 2)": lambda lib: lib.nn.Linear(-1, 2),
}


@pytest.mark.parametrize("case", cases(LOSSES_REFUSED))
def test_losses_and_layers_refused(case):
    check_raises(case)


FACTORIES_REFUSED = {
    "tensor of ragged lists": lambda lib: lib.tensor([[1, 2], [3]]),
    "tensor('abc')": lambda lib: lib.tensor("abc"),
    "tensor(None)": lambda lib: lib.tensor(None),
    "zeros(-1)": lambda lib: lib.zeros(-1),
    "ones(2, -3)": lambda lib: lib.ones(2, -3),
    "zeros(2.5)": lambda lib: lib.zeros(2.5),
    "full((2,), 'a')": lambda lib: lib.full((2,), "a"),
    "randn(-1)": lambda lib: lib.randn(-1),
    "clamp() without bounds": lambda lib: lib.zeros(2).clamp(),
    "F.softmax(dim=1) of a 0-d input": lambda lib: functional(lib).softmax(lib.tensor(1.0), 1),
    "tensor(requires_grad=True) of ints": lambda lib: lib.tensor([1, 2], requires_grad=True),
}


@pytest.mark.parametrize("case", cases(FACTORIES_REFUSED))
def test_factories_refused(case):
    check_raises(case)
