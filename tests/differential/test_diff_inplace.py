"""In-place operations with autograd, as PyTorch.

In-place methods return the tensor itself and change it where it lives (views and `.data`
included); gradients flow through them; a value a backward formula saved and that was then
changed raises "modified by an inplace operation", and only then; a leaf that requires grad
refuses in-place changes outside no_grad; `.grad` accumulates into the same tensor; `.data`
is a history-less tensor sharing storage.
"""

import numpy as np
import pytest
from diff_harness import (
    PROGRAM_TOLERANCE,
    cases,
    check,
    check_raises,
    check_same,
    drawn_array,
    dtype,
    tensor,
)
from hypothesis import given
from hypothesis import strategies as st

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

X = np.array([[0.5, -1.5, 2.0], [-0.25, 3.0, -2.0]])
OTHER = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 4.0]])
ROW = np.array([1.0, -1.0, 0.5])
MASK = np.array([[True, False, True], [False, False, True]])


def _iadd(y, t):
    y += t
    return y


def _isub(y, t):
    y -= t
    return y


def _imul(y, t):
    y *= t
    return y


def _itruediv(y, t):
    y /= t
    return y


def through(op):
    """A case: leaves x and t; y = x * 1; op(lib, y, t) in place; then backward of (y * y)."""

    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        t = tensor(lib, OTHER, requires_grad=True)
        y = x * 1
        returned = op(lib, y, t)
        (y * y).sum().backward()
        return {
            "y": y,
            "returns self": returned is y,
            "x.grad": x.grad,
            "t.grad": t.grad,
            "y.requires_grad": y.requires_grad,
        }

    return case


IN_PLACE = {
    "add_(t)": lambda lib, y, t: y.add_(t),
    "add_(t, alpha=2)": lambda lib, y, t: y.add_(t, alpha=2),
    "add_(2.5)": lambda lib, y, t: y.add_(2.5),
    "add_(row)": lambda lib, y, t: y.add_(tensor(lib, ROW)),
    "sub_(t)": lambda lib, y, t: y.sub_(t),
    "sub_(t, alpha=0.5)": lambda lib, y, t: y.sub_(t, alpha=0.5),
    "mul_(t)": lambda lib, y, t: y.mul_(t),
    "mul_(3)": lambda lib, y, t: y.mul_(3),
    "div_(t)": lambda lib, y, t: y.div_(t),
    "div_(4)": lambda lib, y, t: y.div_(4),
    "zero_()": lambda lib, y, t: y.zero_(),
    "fill_(3)": lambda lib, y, t: y.fill_(3),
    "fill_(0-d tensor)": lambda lib, y, t: y.fill_(t[0, 0]),
    "clamp_(-1, 1)": lambda lib, y, t: y.clamp_(-1, 1),
    "clamp_(min=0)": lambda lib, y, t: y.clamp_(min=0),
    "clamp_(max=t)": lambda lib, y, t: y.clamp_(max=t),
    "copy_(t)": lambda lib, y, t: y.copy_(t),
    "copy_(row)": lambda lib, y, t: y.copy_(tensor(lib, ROW)),
    "copy_(int)": lambda lib, y, t: y.copy_(tensor(lib, np.array([1, 2, 3]))),
    "masked_fill_(mask, 0)": lambda lib, y, t: y.masked_fill_(tensor(lib, MASK), 0.0),
    "masked_fill_(row mask, -1)": lambda lib, y, t: y.masked_fill_(
        tensor(lib, np.array([True, False, False])), -1.0
    ),
    "add_(t).mul_(2)": lambda lib, y, t: y.add_(t).mul_(2),
    "relu_()": lambda lib, y, t: y.relu_(),
    "y[0] = t[1]": lambda lib, y, t: y.__setitem__(0, t[1]),
    "y[:, 1] = 0": lambda lib, y, t: y.__setitem__((slice(None), 1), 0.0),
    "y[mask] = 7": lambda lib, y, t: y.__setitem__(tensor(lib, MASK), 7.0),
    "y[0].add_(t[1])": lambda lib, y, t: y[0].add_(t[1]),
    "y[:, :2].mul_(t[:, :2])": lambda lib, y, t: y[:, :2].mul_(t[:, :2]),
    "y.view(-1)[::2].zero_()": lambda lib, y, t: y.view(-1)[::2].zero_(),
    "y.t().add_(1)": lambda lib, y, t: y.transpose(0, 1).add_(1),
}


@pytest.mark.parametrize("case", cases(IN_PLACE))
def test_in_place_values_and_gradients(case):
    check(through(case))


def augmented(op):
    """`y op= t`: the same object afterwards, its new value, and gradients through it."""

    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        t = tensor(lib, OTHER, requires_grad=True)
        y = x * 1
        alias = y
        y = op(y, t)
        (y * y).sum().backward()
        return {
            "same object": y is alias,
            "alias sees it": alias,
            "x.grad": x.grad,
            "t.grad": t.grad,
        }

    return case


def _iadd_scalar(y, t):
    y += 2
    return y


def _imul_scalar(y, t):
    y *= 0.5
    return y


AUGMENTED = {
    "+=": _iadd,
    "-=": _isub,
    "*=": _imul,
    "/=": _itruediv,
    "+= 2": _iadd_scalar,
    "*= 0.5": _imul_scalar,
}


@pytest.mark.parametrize("case", cases(AUGMENTED))
def test_augmented_assignment_is_in_place(case):
    check(augmented(case))


def test_augmented_assignment_on_a_plain_tensor_keeps_identity():
    def case(lib):
        w = lib.zeros(3)
        alias = w
        w += 1
        w *= lib.tensor([1.0, 2.0, 3.0])
        return [w is alias, alias]

    check(case)


# ---------------------------------------------------------------- the version counter


def saved_then_modified(forward, modify):
    """y = x * 2 (a non-leaf); out = forward(y); modify(y) in place; backward from out."""

    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        y = x * 2
        out = forward(lib, y)
        modify(lib, y)
        out.sum().backward()
        return {"x.grad": x.grad, "y": y}

    return case


MODIFIED_AFTER_SAVE = {  # PyTorch raises "modified by an inplace operation"
    "y*y then y.add_": (lambda lib, y: y * y, lambda lib, y: y.add_(1)),
    "y**2 then y[0]=0": (lambda lib, y: y**2, lambda lib, y: y.__setitem__(0, 0.0)),
    "exp(y) then out.add_": (lambda lib, y: y.exp(), None),
    "sigmoid(y) then out.mul_": (lambda lib, y: y.sigmoid(), None),
    "relu(y) then out.add_": (lambda lib, y: y.relu(), None),
    "tanh(y) then out.zero_": (lambda lib, y: y.tanh(), None),
    "y @ W (W requires grad) then y.zero_": (
        lambda lib, y: y @ lib.ones(3, 2, dtype=y.dtype, requires_grad=True),
        lambda lib, y: y.zero_(),
    ),
    "y.sqrt then y.mul_": (lambda lib, y: y.abs().sqrt() * y, lambda lib, y: y.mul_(2)),
    "y.log then y += 1": (lambda lib, y: y.abs().log() * y, lambda lib, y: _iadd(y, 1)),
    "softmax then out.mul_": (lambda lib, y: y.softmax(-1), None),
    "y*y then y.copy_": (lambda lib, y: y * y, lambda lib, y: y.copy_(lib.ones_like(y))),
    "y*y then y.clamp_": (lambda lib, y: y * y, lambda lib, y: y.clamp_(0, 1)),
    "y*y then y.masked_fill_": (
        lambda lib, y: y * y,
        lambda lib, y: y.masked_fill_(lib.ones_like(y) > 0, 2.0),
    ),
    "y*y then y[0].add_ (a view)": (lambda lib, y: y * y, lambda lib, y: y[0].add_(1)),
}


def out_modified(forward):
    """forward's own output, which its backward needs, is changed in place."""

    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        out = forward(lib, x * 2)
        out.mul_(2)
        out.sum().backward()
        return x.grad

    return case


def inplace_error(case):
    """PyTorch's RuntimeError naming the in-place modification, as a value to compare."""

    def caught(lib):
        try:
            return case(lib)
        except RuntimeError as error:
            if "modified by an inplace operation" in str(error):
                return "RuntimeError: ... modified by an inplace operation ..."
            raise

    return caught


@pytest.mark.parametrize("case", cases(MODIFIED_AFTER_SAVE))
def test_modifying_a_saved_value_raises(case):
    forward, modify = case
    program = out_modified(forward) if modify is None else saved_then_modified(forward, modify)
    check(inplace_error(program))


NOT_SAVED = {  # PyTorch does not raise: nothing the backward needs was changed
    "y+1 then y.add_": (lambda lib, y: y + 1, lambda lib, y: y.add_(1)),
    "y.sum() then y.zero_": (lambda lib, y: y.sum(), lambda lib, y: y.zero_()),
    "tanh(y) then y.mul_ (tanh saves its output)": (
        lambda lib, y: y.tanh(),
        lambda lib, y: y.mul_(3),
    ),
    "exp(y) then y.add_ (exp saves its output)": (
        lambda lib, y: y.exp(),
        lambda lib, y: y.add_(1),
    ),
    "y*3 then y.fill_ (a constant factor)": (lambda lib, y: y * 3, lambda lib, y: y.fill_(0)),
    "y[0] then y[1].zero_": (lambda lib, y: y[0] * 1, lambda lib, y: y[1].zero_()),
    "y.reshape then y.add_": (lambda lib, y: y.reshape(-1) * 2, lambda lib, y: y.add_(1)),
    "-y then y.mul_": (lambda lib, y: -y, lambda lib, y: y.mul_(-1)),
    "y @ W (W constant) then y.zero_": (
        lambda lib, y: y @ lib.ones(3, 2, dtype=y.dtype),
        lambda lib, y: y.zero_(),
    ),
    "1/y then y.fill_ (reciprocal saves its output)": (
        lambda lib, y: 1 / y,
        lambda lib, y: y.fill_(1.0),
    ),
}


@pytest.mark.parametrize("case", cases(NOT_SAVED))
def test_modifying_an_unsaved_value_is_fine(case):
    check(saved_then_modified(*case))


# ---------------------------------------------------------------- leaves


LEAF_REFUSED = {
    "add_": lambda lib, w: w.add_(1),
    "sub_": lambda lib, w: w.sub_(1),
    "mul_": lambda lib, w: w.mul_(2),
    "div_": lambda lib, w: w.div_(2),
    "zero_": lambda lib, w: w.zero_(),
    "fill_": lambda lib, w: w.fill_(1),
    "clamp_": lambda lib, w: w.clamp_(0, 1),
    "copy_": lambda lib, w: w.copy_(lib.ones_like(w)),
    "masked_fill_": lambda lib, w: w.masked_fill_(w > 0, 0.0),
    "uniform_": lambda lib, w: w.uniform_(-1, 1),
    "normal_": lambda lib, w: w.normal_(),
    "w[0] = 1": lambda lib, w: w.__setitem__(0, 1.0),
    "w += 1": lambda lib, w: _iadd(w, 1),
    "w *= 2": lambda lib, w: _imul(w, 2),
    "w[0].add_ (a view of the leaf)": lambda lib, w: w[0].add_(1),
    "Parameter.add_": lambda lib, w: lib.nn.Parameter(lib.zeros(2)).add_(1),
}


@pytest.mark.parametrize("case", cases(LEAF_REFUSED))
def test_in_place_on_a_leaf_that_requires_grad_raises(case):
    check_raises(lambda lib: case(lib, tensor(lib, X, requires_grad=True)))


LEAF_UNDER_NO_GRAD = {
    name: fn for name, fn in LEAF_REFUSED.items() if name not in ("uniform_", "normal_")
}


@pytest.mark.parametrize("case", cases(LEAF_UNDER_NO_GRAD))
def test_in_place_on_a_leaf_under_no_grad(case):
    def run(lib):
        w = tensor(lib, X, requires_grad=True)
        with lib.no_grad():
            case(lib, w)
        (w * 3).sum().backward()
        return {
            "w": w,
            "requires_grad": w.requires_grad,
            "is_leaf": w.is_leaf,
            "grad_fn": w.grad_fn is None,
            "grad": w.grad,
        }

    check(run)


def test_random_fills_under_no_grad_keep_shape_dtype_and_range():
    def case(lib):
        w = lib.zeros(200, 3, requires_grad=True)
        with lib.no_grad():
            same = w.uniform_(-0.5, 0.5) is w
            inside = bool(((w >= -0.5) & (w <= 0.5)).all())
            spread = bool(w.abs().amax() > 0.3)
            normal_same = w.normal_(0.0, 2.0) is w
        return [same, inside, spread, normal_same, w.shape, w.dtype, w.requires_grad]

    check(case)


def test_sgd_step_written_by_hand():
    def case(lib):
        w = tensor(lib, X, requires_grad=True)
        alias = w
        for _ in range(2):
            loss = (w * w).sum()
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
            w.grad = None
        return {"same w": w is alias, "w": w, "grad": w.grad, "is_leaf": w.is_leaf}

    check(case)


# ---------------------------------------------------------------- .grad and .data


def test_grad_accumulates_into_the_same_tensor():
    def case(lib):
        w = tensor(lib, X, requires_grad=True)
        (w * 2).sum().backward()
        first = w.grad
        snapshot = first * 1
        (w * w).sum().backward()
        return {"same object": w.grad is first, "first now": first, "snapshot": snapshot}

    check(case)


def test_grad_of_a_leaf_is_not_shared_with_another():
    def case(lib):
        a = tensor(lib, ROW, requires_grad=True)
        b = tensor(lib, ROW, requires_grad=True)
        (a + b).sum().backward()
        a.grad.add_(1)
        return [a.grad, b.grad]

    check(case)


def test_zero_grad_keeps_or_drops_the_grad_tensor():
    def case(lib):
        layer = lib.nn.Linear(3, 2)
        layer(lib.ones(1, 3)).sum().backward()
        grad = layer.weight.grad
        layer.zero_grad(set_to_none=False)
        kept = [layer.weight.grad is grad, grad]
        layer.zero_grad()
        return kept + [layer.weight.grad]

    check(case)


def test_data_is_a_tensor_without_history_sharing_storage():
    def case(lib):
        p = tensor(lib, X, requires_grad=True)
        data = p.data
        data.add_(1)
        (p * p).sum().backward()
        p.data.add_(p.grad, alpha=-0.1)
        p.data.mul_(2)
        return {
            "is a tensor": isinstance(data, lib.Tensor),
            "requires_grad": data.requires_grad,
            "is_leaf": data.is_leaf,
            "p": p,
            "p still a leaf": p.is_leaf,
            "p.requires_grad": p.requires_grad,
        }

    check(case)


def test_data_assignment_replaces_the_values():
    def case(lib):
        p = lib.nn.Parameter(lib.zeros(2, 3))
        p.data = lib.ones(2, 3) * 3
        p.data -= 1
        q = lib.nn.Parameter(lib.zeros(2))
        with lib.no_grad():
            q.data.fill_(5)
        return [p, p.requires_grad, q]

    check(case)


def test_detach_shares_storage():
    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        d = x.detach()
        d[0, 0] = 100.0
        d.add_(1)
        return [x, d.requires_grad]

    check(case)


def test_detach_then_in_place_after_use_is_caught():
    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        y = x.sigmoid()
        y.detach().zero_()
        y.sum().backward()
        return x.grad

    check(inplace_error(case))


# ---------------------------------------------------------------- dtypes and shapes


IN_PLACE_REFUSED = {
    "int.add_(1.5)": lambda lib: lib.tensor([1, 2]).add_(1.5),
    "int += float tensor": lambda lib: _iadd(lib.tensor([1, 2]), lib.tensor([0.5, 0.5])),
    "uint8.mul_(2.5)": lambda lib: lib.tensor([1, 2], dtype=dtype(lib, "uint8")).mul_(2.5),
    "int.div_(2)": lambda lib: lib.tensor([4, 2]).div_(2),
    "bool.add_(1)": lambda lib: lib.tensor([True]).add_(1),
    "row.add_(matrix)": lambda lib: lib.zeros(3).add_(lib.ones(2, 3)),
    "row += matrix": lambda lib: _iadd(lib.zeros(3), lib.ones(2, 3)),
    "row.copy_(matrix)": lambda lib: lib.zeros(3).copy_(lib.ones(2, 3)),
    "masked_fill_ with float mask": lambda lib: lib.zeros(3).masked_fill_(lib.ones(3), 1.0),
    "masked_fill_ mask too big": lambda lib: lib.zeros(3).masked_fill_(lib.ones(2, 3) > 0, 1.0),
    "fill_ with a (2,) tensor": lambda lib: lib.zeros(3).fill_(lib.ones(2)),
    "expanded.add_": lambda lib: lib.zeros(1, 3).expand(2, 3).add_(1),
}


@pytest.mark.parametrize("case", cases(IN_PLACE_REFUSED))
def test_refused_in_place(case):
    check_raises(case)


IN_PLACE_DTYPES = {
    "float32 += float64": lambda lib: _iadd(lib.zeros(2), lib.tensor(np.array([0.1, 0.2]))),
    "float32.add_(int64)": lambda lib: lib.zeros(2).add_(lib.tensor([1, 2])),
    "int32 += int64": lambda lib: _iadd(
        lib.tensor([1, 2], dtype=dtype(lib, "int32")), lib.tensor([3, 4])
    ),
    "int64.mul_(True)": lambda lib: lib.tensor([1, 2]).mul_(True),
    "float16.mul_(0-d float64)": lambda lib: lib.ones(2, dtype=dtype(lib, "float16")).mul_(
        lib.tensor(np.array(1.0 / 3.0))
    ),
    "int.copy_(float) truncates": lambda lib: lib.zeros(3, dtype=dtype(lib, "int64")).copy_(
        lib.tensor([1.7, -1.7, 2.5])
    ),
    "bool.copy_(float)": lambda lib: lib.zeros(2, dtype=dtype(lib, "bool")).copy_(
        lib.tensor([0.0, 0.3])
    ),
    "int.fill_(2.9)": lambda lib: lib.zeros(2, dtype=dtype(lib, "int64")).fill_(2.9),
    "int.clamp_(0.5, 1.5)": lambda lib: lib.tensor([0, 1, 2]).clamp_(0, 1),
    "int.masked_fill_(m, 2.7)": lambda lib: lib.tensor([0, 1]).masked_fill_(
        lib.tensor([True, False]), 2.7
    ),
    "matrix.add_(row)": lambda lib: lib.zeros(2, 3).add_(lib.tensor([1.0, 2.0, 3.0])),
    "matrix.copy_(row)": lambda lib: lib.zeros(2, 3).copy_(lib.tensor([1.0, 2.0, 3.0])),
    "0-d.add_(1)": lambda lib: lib.tensor(1.0).add_(1),
    "zeros(0).add_(1)": lambda lib: lib.zeros(0).add_(1),
    "mul_ by itself": lambda lib: _self_square(lib),
}


def _self_square(lib):
    x = lib.tensor([1.0, 2.0, 3.0])
    x.mul_(x)
    return x


@pytest.mark.parametrize("case", cases(IN_PLACE_DTYPES))
def test_in_place_dtypes_and_broadcasting(case):
    check(case)


def test_in_place_on_a_no_grad_tensor_then_used():
    def case(lib):
        x = tensor(lib, X, requires_grad=True)
        with lib.no_grad():
            y = x * 2
        y.add_(1)
        z = (y * x).sum()
        z.backward()
        return [y.requires_grad, x.grad]

    check(case)


def test_in_place_makes_a_tensor_require_grad():
    def case(lib):
        y = lib.zeros(2, 3, dtype=dtype(lib, "float64"))
        t = tensor(lib, OTHER, requires_grad=True)
        y.add_(t)
        y.mul_(2)
        (y * y).sum().backward()
        return [y.requires_grad, y.is_leaf, t.grad]

    check(case)


# ---------------------------------------------------------------- drawn in-place programs

IN_PLACE_STEPS = [
    "add_",
    "sub_",
    "mul_",
    "div_",
    "clamp_",
    "masked_fill_",
    "setitem",
    "iadd",
    "zero_",
    "fill_",
    "copy_",
    "use",
]


@st.composite
def in_place_programs(draw):
    """Steps applied to y = x * 1: in-place changes, and uses of y that a backward may save."""
    steps = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(IN_PLACE_STEPS))
        other = draw(st.sampled_from([(2, 3), (3,), (1, 3), ()]))
        value = draw(st.floats(-2, 2, allow_nan=False).filter(lambda v: abs(v) > 0.1))
        steps.append((kind, other, value))
    return steps


def run_in_place(lib, x, others, steps):
    y = x * 1
    used = None
    for (kind, _, value), other in zip(steps, others):
        if kind == "use":
            term = (y * y).sum()
            used = term if used is None else used + term
        elif kind in ("add_", "sub_", "mul_"):
            getattr(y, kind)(other)
        elif kind == "div_":
            y.div_(value)
        elif kind == "clamp_":
            y.clamp_(-abs(value), abs(value))
        elif kind == "masked_fill_":
            y.masked_fill_(other > 0, value)
        elif kind == "setitem":
            y[:, 1:] = value
        elif kind == "iadd":
            y += other
        elif kind == "zero_":
            y.zero_()
        elif kind == "fill_":
            y.fill_(value)
        else:
            y.copy_(other)
    loss = (y * y).sum() if used is None else (y * y).sum() + used
    return loss


@given(data=st.data())
def test_drawn_in_place_programs(data):
    steps = data.draw(in_place_programs())
    x = drawn_array(data, (2, 3))
    others = [drawn_array(data, shape) for _, shape, _ in steps]

    def case(lib):
        leaf = tensor(lib, x, requires_grad=True)
        other_leaves = [tensor(lib, o, requires_grad=True) for o in others]
        loss = run_in_place(lib, leaf, other_leaves, steps)
        loss.backward()
        return {"loss": loss, "x.grad": leaf.grad, "others": [o.grad for o in other_leaves]}

    check_same(case, PROGRAM_TOLERANCE)
