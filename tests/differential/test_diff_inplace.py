"""In-place operations, as PyTorch: values, gradients, dtypes and broadcasting.

In-place methods return the tensor itself and change it where it lives (views included);
gradients flow through them; `x op= y` changes x rather than rebinding the name; results keep
the tensor's dtype and shape (or raise). The version counter, leaves, `.grad` and `.data` are
in test_diff_inplace_autograd.py.
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
