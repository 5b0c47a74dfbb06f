"""The everyday tensor surface, as PyTorch: methods, their keywords, their values and gradients.

Methods, the module-level and functional spellings of the same operations, max/min/sort
semantics and register_hook. Grad modes and the bare names are in
test_diff_grad_mode_and_names.py.
"""

import numpy as np
import pytest
from diff_harness import (
    cases,
    check,
    check_raises,
    dtype,
    functional,
    tensor,
    values_indices,
    with_grads,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

X = np.array([[0.5, -1.5, 2.0, 2.0], [-0.25, 3.0, -2.0, 1.0], [1.0, 1.0, 0.0, -3.0]])
B = np.arange(24.0).reshape(2, 3, 4) / 10 - 1
V = np.array([3.0, -1.0, 2.0, 2.0, 0.5])
# topk's choice among tied values is unspecified in PyTorch (it differs between sizes and
# kernels), so its indices and gradients are compared on values without ties
XD = X + 0.001 * np.arange(X.size).reshape(X.shape)
VD = V + 0.001 * np.arange(V.size)


def on(array):
    """A table entry: fn(lib, x) applied to a leaf made from `array`, with its gradient."""

    def wrap(fn):
        return with_grads(fn, array)

    return wrap


ON_X, ON_B, ON_V = on(X), on(B), on(V)
ON_XD, ON_VD = on(XD), on(VD)

METHODS = {
    "size()": ON_X(lambda lib, x: x.size()),
    "size(1)": ON_X(lambda lib, x: x.size(1)),
    "size(-1)": ON_X(lambda lib, x: x.size(-1)),
    "size(dim=0)": ON_X(lambda lib, x: x.size(dim=0)),
    "shape": ON_X(lambda lib, x: x.shape),
    "shape[0]": ON_X(lambda lib, x: x.shape[0]),
    "dim()": ON_X(lambda lib, x: x.dim()),
    "ndim": ON_X(lambda lib, x: x.ndim),
    "numel()": ON_X(lambda lib, x: x.numel()),
    "len": ON_X(lambda lib, x: len(x)),
    "is_leaf": ON_X(lambda lib, x: [x.is_leaf, (x * 2).is_leaf]),
    "grad_fn is None": ON_X(lambda lib, x: [x.grad_fn is None, (x * 2).grad_fn is None]),
    "requires_grad_() returns self": ON_X(
        lambda lib, x: (lambda y: [y.requires_grad_() is y, y.requires_grad])(x.detach())
    ),
    "device": ON_X(lambda lib, x: str(x.device)),
    "item": ON_X(lambda lib, x: x[1, 1].item()),
    "tolist": ON_X(lambda lib, x: x.tolist()),
    "clone": ON_X(lambda lib, x: x.clone() * 2),
    "clone is a copy": ON_X(lambda lib, x: _clone_is_a_copy(lib, x)),
    "t()": ON_X(lambda lib, x: x.t()),
    "t() of 1-d": ON_V(lambda lib, x: x.t()),
    "T": ON_X(lambda lib, x: x.T),
    "contiguous()": ON_X(lambda lib, x: x.t().contiguous()),
    "view_as": ON_X(lambda lib, x: x.view_as(lib.zeros(4, 3))),
    "reshape_as": ON_X(lambda lib, x: x.reshape_as(lib.zeros(2, 6))),
    "expand_as": ON_V(lambda lib, x: x[:1].expand_as(lib.zeros(2, 1))),
    "type_as(float32)": ON_X(lambda lib, x: x.type_as(lib.zeros(1))),
    "type_as(int64)": ON_X(lambda lib, x: x.type_as(lib.zeros(1, dtype=dtype(lib, "int64")))),
    "to(float32)": ON_X(lambda lib, x: x.to(dtype(lib, "float32"))),
    "to(dtype=float32)": ON_X(lambda lib, x: x.to(dtype=dtype(lib, "float32"))),
    "to('cpu', float32)": ON_X(lambda lib, x: x.to("cpu", dtype(lib, "float32"))),
    "to(other)": ON_X(lambda lib, x: x.to(lib.zeros(1))),
    "to(same) is self": ON_X(lambda lib, x: x.to(dtype(lib, "float64")) is x),
    "float()": ON_X(lambda lib, x: x.float()),
    "double()": ON_X(lambda lib, x: x.double()),
    "half()": ON_X(lambda lib, x: x.half()),
    "long()": ON_X(lambda lib, x: x.long()),
    "int()": ON_X(lambda lib, x: x.int()),
    "bool()": ON_X(lambda lib, x: x.bool()),
    "new_zeros": ON_X(lambda lib, x: x.new_zeros(2, 3)),
    "new_zeros((2,))": ON_X(lambda lib, x: x.new_zeros((2,))),
    "new_ones": ON_X(lambda lib, x: x.new_ones(2)),
    "new_full": ON_X(lambda lib, x: x.new_full((2,), 7)),
    "new_tensor": ON_X(lambda lib, x: x.new_tensor([1, 2])),
    "new_tensor requires no grad": ON_X(lambda lib, x: x.new_tensor([1.0]).requires_grad),
    "new_zeros(dtype=int32)": ON_X(lambda lib, x: x.new_zeros(2, dtype=dtype(lib, "int32"))),
    "narrow(1, 1, 2)": ON_X(lambda lib, x: x.narrow(1, 1, 2)),
    "narrow(-1, 0, 1)": ON_X(lambda lib, x: x.narrow(-1, 0, 1)),
    "narrow(0, -2, 2)": ON_X(lambda lib, x: x.narrow(0, -2, 2)),
    "unbind()": ON_X(lambda lib, x: list(x.unbind())),
    "unbind(1)": ON_X(lambda lib, x: list(x.unbind(1))),
    "unbind(dim=-1)": ON_B(lambda lib, x: list(x.unbind(dim=-1))),
    "flip(0)": ON_X(lambda lib, x: x.flip(0)),
    "flip([0, 1])": ON_X(lambda lib, x: x.flip([0, 1])),
    "flip(-1)": ON_B(lambda lib, x: x.flip(-1)),
    "repeat(2, 1)": ON_X(lambda lib, x: x.repeat(2, 1)),
    "repeat(1, 2, 2)": ON_X(lambda lib, x: x.repeat(1, 2, 2)),
    "repeat((2,))": ON_V(lambda lib, x: x.repeat((2,))),
    "eq/ne/lt/le/gt/ge": ON_X(
        lambda lib, x: [x.eq(1.0), x.ne(1.0), x.lt(0), x.le(x.t().t()), x.gt(-1), x.ge(2)]
    ),
    "eq(tensor)": ON_X(lambda lib, x: x.eq(lib.tensor(2.0, dtype=x.dtype))),
    "max(dim)": ON_X(lambda lib, x: values_indices(x.max(1))),
    "max(dim=0, keepdim)": ON_X(lambda lib, x: values_indices(x.max(dim=0, keepdim=True))),
    "min(dim=-1)": ON_X(lambda lib, x: values_indices(x.min(dim=-1))),
    "max(other)": ON_X(lambda lib, x: x.max(x[[2, 1, 0]])),
    "torch.max(x, 1)": ON_X(lambda lib, x: values_indices(lib.max(x, 1))),
    "torch.max(x)": ON_X(lambda lib, x: lib.max(x)),
    "torch.min(x, dim=0)": ON_X(lambda lib, x: values_indices(lib.min(x, dim=0))),
    "_, pred = out.max(1)": ON_X(lambda lib, x: x.max(1)[1]),
    "topk(2)": ON_XD(lambda lib, x: values_indices(x.topk(2))),
    "topk(2, dim=0)": ON_XD(lambda lib, x: values_indices(x.topk(2, dim=0))),
    "topk(2, largest=False)": ON_VD(lambda lib, x: values_indices(x.topk(2, largest=False))),
    "topk(3) of ties, values only": ON_V(lambda lib, x: x.detach().topk(3)[0]),
    "sort()": ON_X(lambda lib, x: x.sort()[0]),
    "sort(dim=0, descending)": ON_X(lambda lib, x: values_indices(x.sort(dim=0, descending=True))),
    "sort(stable)": ON_V(lambda lib, x: values_indices(x.sort(stable=True))),
    "argsort()": ON_V(lambda lib, x: x.argsort(stable=True)),
    "argsort(dim=0, descending)": ON_X(
        lambda lib, x: x.argsort(dim=0, descending=True, stable=True)
    ),
    "cumsum(1)": ON_X(lambda lib, x: x.cumsum(1)),
    "cumsum(dim=0)": ON_X(lambda lib, x: x.cumsum(dim=0)),
    "cumsum(-1) of int": ON_X(lambda lib, x: x.long().cumsum(-1)),
    "gather(1, idx)": ON_X(lambda lib, x: x.gather(1, lib.tensor([[0, 0], [3, 1], [2, 2]]))),
    "gather(0, idx)": ON_X(lambda lib, x: x.gather(0, lib.tensor([[2, 1, 0, 0]]))),
    "scatter(1, idx, src)": ON_X(
        lambda lib, x: lib.zeros(3, 5, dtype=x.dtype).scatter(
            1, lib.tensor([[0, 1], [2, 3], [4, 0]]), x[:, :2]
        )
    ),
    "x.scatter(0, idx, 1.5)": ON_X(lambda lib, x: x.scatter(0, lib.tensor([[1, 0, 2, 0]]), 1.5)),
    "x.scatter(1, idx, src)": ON_X(
        lambda lib, x: x.scatter(1, lib.tensor([[3], [0], [1]]), x[:, 1:2] * 10)
    ),
    "scatter_add(0, idx, src)": ON_X(
        lambda lib, x: lib.zeros(2, 4, dtype=x.dtype).scatter_add(
            0, lib.tensor([[0, 1, 0, 1], [1, 1, 0, 0], [0, 0, 0, 1]]), x
        )
    ),
    "index_select(0, idx)": ON_X(lambda lib, x: x.index_select(0, lib.tensor([2, 0, 2]))),
    "index_select(1, idx)": ON_X(lambda lib, x: x.index_select(1, lib.tensor([3]))),
    "masked_fill(mask, 0)": ON_X(lambda lib, x: x.masked_fill(x > 1, 0.0)),
    "masked_fill(row mask, -inf)": ON_X(
        lambda lib, x: x.masked_fill(lib.tensor([True, False, False, True]), float("-inf"))
    ),
    "masked_fill(mask, 0-d tensor)": ON_X(
        lambda lib, x: x.masked_fill(x < 0, lib.tensor(9.0, dtype=x.dtype))
    ),
    "bmm": ON_B(lambda lib, x: x.bmm(x.transpose(1, 2))),
    "torch.bmm": ON_B(lambda lib, x: lib.bmm(x, x.transpose(1, 2))),
    "mm": ON_X(lambda lib, x: x.mm(x.t())),
    "norm()": ON_X(lambda lib, x: x.norm()),
    "norm(1)": ON_X(lambda lib, x: x.norm(1)),
    "norm(dim=1)": ON_X(lambda lib, x: x.norm(dim=1)),
    "norm(p=2, dim=0, keepdim)": ON_X(lambda lib, x: x.norm(p=2, dim=0, keepdim=True)),
    "norm(inf)": ON_X(lambda lib, x: x.norm(float("inf"))),
    "norm of zeros": on(np.zeros(3))(lambda lib, x: x.norm()),
    "std()": ON_X(lambda lib, x: x.std()),
    "std(dim=1)": ON_X(lambda lib, x: x.std(dim=1)),
    "std(0, keepdim)": ON_X(lambda lib, x: x.std(0, keepdim=True)),
    "std(correction=0)": ON_X(lambda lib, x: x.std(correction=0)),
    "std(unbiased=False)": ON_X(lambda lib, x: x.std(unbiased=False)),
    "var(correction=0, dim=1)": ON_X(lambda lib, x: x.var(dim=1, correction=0)),
    "var(unbiased=False)": ON_X(lambda lib, x: x.var(unbiased=False)),
    "softmax(1)": ON_X(lambda lib, x: x.softmax(1)),
    "softmax(dim=0)": ON_X(lambda lib, x: x.softmax(dim=0)),
    "log_softmax(-1)": ON_X(lambda lib, x: x.log_softmax(-1)),
    "logsumexp(1)": ON_X(lambda lib, x: x.logsumexp(1)),
    "logsumexp(dim=0, keepdim)": ON_X(lambda lib, x: x.logsumexp(dim=0, keepdim=True)),
    "exp/log/sqrt/tanh/sigmoid/relu/abs": ON_X(
        lambda lib, x: [
            x.exp(),
            x.abs().log(),
            x.abs().sqrt(),
            x.tanh(),
            x.sigmoid(),
            x.relu(),
            x.abs(),
            x.neg(),
        ]
    ),
    "sum/mean": ON_X(lambda lib, x: [x.sum(1), x.mean(0)]),
    "amax/amin(dim tuple)": ON_B(lambda lib, x: [x.amax(dim=(0, 2)), x.amin((1, 2))]),
    "argmax": ON_X(lambda lib, x: [x.argmax(1), x.argmax()]),
    "clamp/clip": ON_X(lambda lib, x: [x.clamp(min=-1), x.clip(max=1), x.clamp(-1, 1)]),
    "permute(dims=...)": ON_B(lambda lib, x: x.permute(2, 0, 1)),
    "squeeze(dim=0)": ON_X(lambda lib, x: x[None].squeeze(dim=0)),
    "unsqueeze(dim=1)": ON_X(lambda lib, x: x.unsqueeze(dim=1)),
    "flatten(start_dim=1)": ON_B(lambda lib, x: x.flatten(start_dim=1)),
    "flatten(0, 1)": ON_B(lambda lib, x: x.flatten(0, 1)),
    "flatten(end_dim=-2)": ON_B(lambda lib, x: x.flatten(end_dim=-2)),
    "transpose(dim0=0, dim1=2)": ON_B(lambda lib, x: x.transpose(dim0=0, dim1=2)),
    "view(-1, 2)": ON_B(lambda lib, x: x.view(-1, 2)),
    "reshape((4, -1))": ON_B(lambda lib, x: x.reshape((4, -1))),
    "split(2, dim=1)": ON_X(lambda lib, x: list(x.split(2, dim=1))),
    "split([1, 3], dim=-1)": ON_X(lambda lib, x: list(x.split([1, 3], dim=-1))),
    "chunk(2, dim=1)": ON_X(lambda lib, x: list(x.chunk(2, dim=1))),
    "argmax(dim=1, keepdim=True)": ON_X(lambda lib, x: x.argmax(dim=1, keepdim=True)),
    "sum(dim=[0, 1])": ON_B(lambda lib, x: x.sum(dim=[0, 1])),
    "mean(dim=(0,), keepdim=True)": ON_B(lambda lib, x: x.mean(dim=(0,), keepdim=True)),
    "sum(dtype=float32)": ON_X(lambda lib, x: x.sum(dtype=dtype(lib, "float32"))),
    "detach().numpy()": ON_X(lambda lib, x: x.detach().numpy()),
    "float(0-d)": ON_X(lambda lib, x: float(x[0, 0])),
    "int(0-d)": ON_X(lambda lib, x: int(x[1, 1])),
    "bool(0-d)": ON_X(lambda lib, x: bool(x[0, 0] > 0)),
    "iterate rows": ON_X(lambda lib, x: list(x)),
}


def _clone_is_a_copy(lib, x):
    y = x.detach().clone()
    y[0, 0] = 100.0
    return [x, y]


@pytest.mark.parametrize("case", cases(METHODS))
def test_method(case):
    check(case)


FUNCTIONS = {
    "F.softmax(dim=1)": ON_X(lambda lib, x: functional(lib).softmax(x, dim=1)),
    "F.log_softmax(dim=-1)": ON_X(lambda lib, x: functional(lib).log_softmax(x, dim=-1)),
    "F.softmax(x, 0, dtype=float32)": ON_X(
        lambda lib, x: functional(lib).softmax(x, 0, dtype=dtype(lib, "float32"))
    ),
    "torch.logsumexp(x, dim=1, keepdim=True)": ON_X(
        lambda lib, x: lib.logsumexp(x, dim=1, keepdim=True)
    ),
    "cat(dim=1)": ON_X(lambda lib, x: lib.cat([x, x], dim=1)),
    "cat(tuple)": ON_X(lambda lib, x: lib.cat((x, x))),
    "stack(dim=-1)": ON_X(lambda lib, x: lib.stack([x, x], dim=-1)),
    "torch.split(x, 2, dim=1)": ON_X(lambda lib, x: list(lib.split(x, 2, dim=1))),
    "torch.chunk(x, 3)": ON_X(lambda lib, x: list(lib.chunk(x, 3))),
    "torch.where(c, x, y)": ON_X(lambda lib, x: lib.where(x > 0, x, -x)),
    "torch.maximum": ON_X(lambda lib, x: lib.maximum(x, x[[2, 1, 0]])),
    "torch.clamp(x, min=0)": ON_X(lambda lib, x: lib.clamp(x, min=0)),
    "torch.exp/log/tanh/sigmoid/relu/abs/sqrt": ON_X(
        lambda lib, x: [
            lib.exp(x),
            lib.log(x.abs()),
            lib.tanh(x),
            lib.sigmoid(x),
            lib.relu(x),
            lib.abs(x),
            lib.sqrt(x.abs()),
        ]
    ),
    "torch.sum/mean/amax(dim=1)": ON_X(
        lambda lib, x: [lib.sum(x, dim=1), lib.mean(x, 1), lib.amax(x, dim=1)]
    ),
    "torch.argmax(x, dim=1)": ON_X(lambda lib, x: lib.argmax(x, dim=1)),
    "torch.matmul/mm": ON_X(lambda lib, x: [lib.matmul(x, x.t()), lib.mm(x, x.t())]),
    "torch.transpose/reshape/flatten/squeeze/unsqueeze": ON_B(
        lambda lib, x: [
            lib.transpose(x, 0, 1),
            lib.reshape(x, (4, 6)),
            lib.flatten(x, 1),
            lib.squeeze(x[:1]),
            lib.unsqueeze(x, 0),
        ]
    ),
    "torch.softmax/log_softmax": ON_X(
        lambda lib, x: [lib.softmax(x, dim=1), lib.log_softmax(x, 1)]
    ),
    "torch.cumsum/gather/sort/topk": ON_XD(
        lambda lib, x: [
            lib.cumsum(x, 0),
            lib.gather(x, 1, lib.tensor([[0], [1], [2]])),
            lib.sort(x, 1)[0],
            lib.topk(x, 1)[0],
        ]
    ),
    "torch.zeros_like/ones_like": ON_X(lambda lib, x: [lib.zeros_like(x), lib.ones_like(x)]),
    "F.relu/tanh/sigmoid": ON_X(
        lambda lib, x: [
            functional(lib).relu(x),
            functional(lib).tanh(x),
            functional(lib).sigmoid(x),
        ]
    ),
    "F.one_hot": ON_X(lambda lib, x: functional(lib).one_hot(lib.tensor([1, 0]), num_classes=3)),
    "F.dropout(training=False)": ON_X(lambda lib, x: functional(lib).dropout(x, 0.5, False)),
    "F.dropout(p=0)": ON_X(lambda lib, x: functional(lib).dropout(x, p=0.0)),
    "F.mse_loss(reduction='sum')": ON_X(
        lambda lib, x: functional(lib).mse_loss(x, x.detach() * 0.5, reduction="sum")
    ),
    "F.cross_entropy with class-probability targets": ON_X(
        lambda lib, x: functional(lib).cross_entropy(x, functional(lib).softmax(x.detach() * 2, 1))
    ),
    "F.cross_entropy label_smoothing": ON_X(
        lambda lib, x: functional(lib).cross_entropy(x, lib.tensor([0, 1, 3]), label_smoothing=0.1)
    ),
    "F.cross_entropy ignore_index": ON_X(
        lambda lib, x: functional(lib).cross_entropy(x, lib.tensor([0, -100, 3]))
    ),
    "F.cross_entropy (N, C, d)": ON_B(
        lambda lib, x: functional(lib).cross_entropy(x, lib.tensor([[0, 1, 2, 0], [2, 2, 1, 0]]))
    ),
    "F.cross_entropy unbatched (C,)": ON_V(
        lambda lib, x: functional(lib).cross_entropy(x, lib.tensor(2))
    ),
    "F.nll_loss(reduction='none')": ON_X(
        lambda lib, x: functional(lib).nll_loss(x, lib.tensor([0, 1, 3]), reduction="none")
    ),
}


@pytest.mark.parametrize("case", cases(FUNCTIONS))
def test_function(case):
    check(case)


def test_register_hook_changes_the_gradient():
    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        y = x * 2
        seen = []
        y.register_hook(lambda grad: seen.append(grad * 1))
        handle = y.register_hook(lambda grad: grad * 10)
        x.register_hook(lambda grad: grad + 1)
        (y * y).sum().backward()
        handle.remove()
        return {"x.grad": x.grad, "seen": seen}

    check(case)


def test_register_hook_on_a_tensor_without_grad_raises():
    check_raises(lambda lib: lib.zeros(2).register_hook(lambda grad: grad))


MAX_MIN_SEMANTICS = {
    "max(dim) gradient goes to the returned index": on(
        np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    )(lambda lib, x: x.max(1).values),
    "min(dim) of ties returns the first index": on(np.array([[1.0, 1.0, 3.0]]))(
        lambda lib, x: values_indices(x.min(1))
    ),
    "max(dim) with NaN": on(np.array([[1.0, np.nan, 3.0]]))(
        lambda lib, x: values_indices(x.max(1))
    ),
    "sort with NaN puts it last": on(np.array([2.0, np.nan, -1.0]))(
        lambda lib, x: values_indices(x.sort())
    ),
    "topk gradient": on(np.array([1.0, 5.0, 3.0, 5.0]))(lambda lib, x: x.topk(2).values * 3),
}


@pytest.mark.parametrize("case", cases(MAX_MIN_SEMANTICS))
def test_max_min_sort_semantics(case):
    check(case)


SURFACE_REFUSED = {
    "t() of 3-d": lambda lib: lib.zeros(2, 3, 4).t(),
    "size(2) of 2-d": lambda lib: lib.zeros(2, 3).size(2),
    "narrow past the end": lambda lib: lib.zeros(2, 3).narrow(1, 2, 2),
    "view_as of another size": lambda lib: lib.zeros(2, 3).view_as(lib.zeros(4)),
    "expand_as impossible": lambda lib: lib.zeros(2).expand_as(lib.zeros(3)),
    "repeat with fewer dims": lambda lib: lib.zeros(2, 3).repeat(2),
    "topk k too big": lambda lib: lib.zeros(3).topk(4),
    "gather with a float index": lambda lib: lib.zeros(2, 2).gather(1, lib.zeros(2, 1)),
    "gather index out of range": lambda lib: lib.zeros(2, 2).gather(1, lib.tensor([[2], [0]])),
    "index_select with a 2-d index": lambda lib: lib.zeros(3).index_select(0, lib.tensor([[0]])),
    "scatter index out of range": lambda lib: lib.zeros(2).scatter(0, lib.tensor([5]), 1.0),
    "bmm of 2-d": lambda lib: lib.zeros(2, 3).bmm(lib.zeros(3, 2)),
    "bmm batch mismatch": lambda lib: lib.zeros(2, 2, 3).bmm(lib.zeros(3, 3, 2)),
    "masked_fill with an int mask": lambda lib: lib.zeros(2).masked_fill(lib.tensor([1, 0]), 1.0),
    "flip of a dim twice": lambda lib: lib.zeros(2, 2).flip([0, 0]),
    "cumsum without dim": lambda lib: lib.zeros(2).cumsum(),
    "unbind of 0-d": lambda lib: lib.tensor(1.0).unbind(),
    "new_full without value": lambda lib: lib.zeros(2).new_full((2,)),
    "std of int": lambda lib: lib.tensor([1, 2]).std(),
    "numpy of a tensor that requires grad": lambda lib: lib.zeros(2, requires_grad=True).numpy(),
    "item of 2 elements": lambda lib: lib.zeros(2).item(),
}


@pytest.mark.parametrize("case", cases(SURFACE_REFUSED))
def test_surface_refused(case):
    check_raises(case)
