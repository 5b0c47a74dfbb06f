"""Indexing as PyTorch: reads and writes, basic and advanced, with gradients through both.

An index is written as a tuple of tokens and built per library, so that tensors inside an
index are each library's own: ("int", 1), ("slice", start, stop, step), ("none",),
("ellipsis",), ("list", [...]), ("tensor", [...], dtype), ("mask", [...]), ("np", [...]),
("py", value) for a literal such as True.
Reads compare the value and the gradient through it; writes go into a copy of a leaf (so the
leaf keeps its gradient) with a scalar, a broadcast tensor or a full tensor that requires grad.
"""

import numpy as np
import pytest
from diff_harness import (
    backward_through,
    cases,
    check,
    check_raises,
    check_same,
    dtype,
    leaves,
    torch,
)
from hypothesis import given
from hypothesis import strategies as st

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

SHAPE = (2, 3, 4)
X = np.arange(24.0).reshape(SHAPE) * 0.5 - 3.0


def build(lib, spec):
    """The index `spec` describes, with lib's tensors where it names tensors."""
    items = []
    for token in spec:
        kind = token[0]
        if kind == "int":
            items.append(token[1])
        elif kind == "slice":
            items.append(slice(*token[1:]))
        elif kind == "none":
            items.append(None)
        elif kind == "ellipsis":
            items.append(Ellipsis)
        elif kind == "list":
            items.append(list(token[1]))
        elif kind == "tensor":
            items.append(lib.tensor(np.array(token[1], dtype=np.dtype(token[2]))))
        elif kind == "mask":
            items.append(lib.tensor(np.array(token[1], dtype=bool)))
        elif kind == "np":
            items.append(np.array(token[1]))
        elif kind == "py":
            items.append(token[1])
        else:
            raise ValueError(kind)
    return items[0] if len(items) == 1 and spec[0][0] != "tuple" else tuple(items)


def ix(*tokens):
    """An index of several tokens (a tuple), or of one (that token alone)."""
    return tokens


def ix_tuple(*tokens):
    """An index that is explicitly a tuple, even of one item (x[(i,)])."""
    return (("tuple",), *tokens)


def build_any(lib, spec):
    if spec and spec[0] == ("tuple",):
        return tuple(build(lib, (token,)) for token in spec[1:])
    return build(lib, spec)


def read_case(spec, array=X):
    def case(lib):
        (x,) = leaves(lib, [array])
        out = x[build_any(lib, spec)]
        backward_through(lib, out)
        return {"out": out, "grad": x.grad}

    return case


READS = {
    "x[0]": ix(("int", 0)),
    "x[-1]": ix(("int", -1)),
    "x[1, 2]": ix(("int", 1), ("int", 2)),
    "x[0, -1, 3]": ix(("int", 0), ("int", -1), ("int", 3)),
    "x[:, 1]": ix(("slice", None), ("int", 1)),
    "x[..., 2]": ix(("ellipsis",), ("int", 2)),
    "x[None]": ix(("none",)),
    "x[:, None]": ix(("slice", None), ("none",)),
    "x[..., None]": ix(("ellipsis",), ("none",)),
    "x[0, ..., 1]": ix(("int", 0), ("ellipsis",), ("int", 1)),
    "x[None, 0, None, ..., None]": ix(("none",), ("int", 0), ("none",), ("ellipsis",), ("none",)),
    "x[::2]": ix(("slice", None, None, 2)),
    "x[:, ::2]": ix(("slice", None), ("slice", None, None, 2)),
    "x[:, 1::2, 1:4:2]": ix(("slice", None), ("slice", 1, None, 2), ("slice", 1, 4, 2)),
    "x[1:1]": ix(("slice", 1, 1)),
    "x[5:]": ix(("slice", 5, None)),
    "x[-10:]": ix(("slice", -10, None)),
    "x[:, 10:20]": ix(("slice", None), ("slice", 10, 20)),
    "x[:, -2:]": ix(("slice", None), ("slice", -2, None)),
    "x[(0,)]": ix_tuple(("int", 0)),
    "x[()]": ix_tuple(),
    "x[...]": ix(("ellipsis",)),
    "x[[0, 1]]": ix(("list", [0, 1])),
    "x[[1, 1, 0]]": ix(("list", [1, 1, 0])),
    "x[[-1]]": ix(("list", [-1])),
    "x[tensor([[0, 1], [1, 1]])]": ix(("tensor", [[0, 1], [1, 1]], "int64")),
    "x[[0, 1], [2, 0]]": ix(("list", [0, 1]), ("list", [2, 0])),
    "x[[0, 1], [2, 0], [3, 3]]": ix(("list", [0, 1]), ("list", [2, 0]), ("list", [3, 3])),
    "x[[0, 1], :, [2, 0]]": ix(("list", [0, 1]), ("slice", None), ("list", [2, 0])),
    "x[0, :, [0, 1]]": ix(("int", 0), ("slice", None), ("list", [0, 1])),
    "x[:, 1, [0, 1, 3]]": ix(("slice", None), ("int", 1), ("list", [0, 1, 3])),
    "x[[1], :, 2]": ix(("list", [1]), ("slice", None), ("int", 2)),
    "x[0, [0, 2], [1, 3]]": ix(("int", 0), ("list", [0, 2]), ("list", [1, 3])),
    "x[:, [0, 2], [1, 3]]": ix(("slice", None), ("list", [0, 2]), ("list", [1, 3])),
    "x[:, [0, 1]]": ix(("slice", None), ("list", [0, 1])),
    "x[:, [[0, 1], [1, 2]]]": ix(("slice", None), ("list", [[0, 1], [1, 2]])),
    "x[..., [0, 3]]": ix(("ellipsis",), ("list", [0, 3])),
    "x[[0, 1], ..., [0, 3]]": ix(("list", [0, 1]), ("ellipsis",), ("list", [0, 3])),
    "x[None, [0, 1]]": ix(("none",), ("list", [0, 1])),
    "x[[0, 1], None]": ix(("list", [0, 1]), ("none",)),
    "x[[0, 1], None, [1, 2]]": ix(("list", [0, 1]), ("none",), ("list", [1, 2])),
    "x[:, None, [1, 2]]": ix(("slice", None), ("none",), ("list", [1, 2])),
    "x[[0, 1], 1:, None, [1, 2]]": ix(
        ("list", [0, 1]), ("slice", 1, None), ("none",), ("list", [1, 2])
    ),
    "x[[1, 0], [[0], [2]]]": ix(("list", [1, 0]), ("list", [[0], [2]])),
    "x[tensor([0, 1])]": ix(("tensor", [0, 1], "int64")),
    "x[tensor([1, 0], int32)]": ix(("tensor", [1, 0], "int32")),
    "x[:, tensor([2, 2, 0])]": ix(("slice", None), ("tensor", [2, 2, 0], "int64")),
    "x[tensor(1)]": ix(("tensor", 1, "int64")),
    "x[0, tensor(2)]": ix(("int", 0), ("tensor", 2, "int64")),
    "x[tensor([[0], [1]]), :, tensor([1, 2])]": ix(
        ("tensor", [[0], [1]], "int64"), ("slice", None), ("tensor", [1, 2], "int64")
    ),
    "x[np.array([0, 1])]": ix(("np", [0, 1])),
    "x[:, np.array([[2]])]": ix(("slice", None), ("np", [[2]])),
    "x[mask (2,)]": ix(("mask", [True, False])),
    "x[mask (2, 3)]": ix(("mask", [[True, False, True], [False, False, True]])),
    "x[mask (2, 3, 4)]": ix(("mask", (X > 0).tolist())),
    "x[:, mask (3,)]": ix(("slice", None), ("mask", [True, False, True])),
    "x[..., mask (4,)]": ix(("ellipsis",), ("mask", [False, True, True, False])),
    "x[mask all False]": ix(("mask", [False, False])),
    "x[0, mask (3,)]": ix(("int", 0), ("mask", [True, True, False])),
    "x[None, mask all False, None, 0]": ix(
        ("none",), ("mask", [False, False]), ("none",), ("int", 0)
    ),
    "x[0, None, [0, 1]]": ix(("int", 0), ("none",), ("list", [0, 1])),
    "x[mask (2,), :, [1, 2]]": ix(("mask", [False, True]), ("slice", None), ("list", [1, 2])),
    "x[[True, False]]": ix(("list", [True, False])),
    "x[[True, False, True]] on dim 1": ix(("slice", None), ("list", [True, False, True])),
    "x[True]": ix(("py", True)),
    "x[False]": ix(("py", False)),
    "x[0, True]": ix(("int", 0), ("py", True)),
    "x[[]]": ix(("list", [])),
    "x[:, []]": ix(("slice", None), ("list", [])),
    "x[[], []]": ix(("list", []), ("list", [])),
    "x[tensor([], int64)]": ix(("tensor", [], "int64")),
    "x[0, []]": ix(("int", 0), ("list", [])),
}

READS_REFUSED = {
    "x[2]": ix(("int", 2)),
    "x[-3]": ix(("int", -3)),
    "x[:, 3]": ix(("slice", None), ("int", 3)),
    "x[0, 0, 4]": ix(("int", 0), ("int", 0), ("int", 4)),
    "x[0, 0, 0, 0]": ix(("int", 0), ("int", 0), ("int", 0), ("int", 0)),
    "x[[0, 2]]": ix(("list", [0, 2])),
    "x[[-3]]": ix(("list", [-3])),
    "x[:, [3]]": ix(("slice", None), ("list", [3])),
    "x[tensor([5])]": ix(("tensor", [5], "int64")),
    "x[tensor([0.0])]": ix(("tensor", [0.0], "float32")),
    "x[::-1]": ix(("slice", None, None, -1)),
    "x[:, ::-2]": ix(("slice", None), ("slice", None, None, -2)),
    "x[::0]": ix(("slice", None, None, 0)),
    "x[mask (3,)]": ix(("mask", [True, False, True])),
    "x[mask (2, 2)]": ix(("mask", [[True, False], [False, True]])),
    "x[[0, 1], [0, 1, 2]]": ix(("list", [0, 1]), ("list", [0, 1, 2])),
}


@pytest.mark.parametrize("spec", cases(READS))
def test_read(spec):
    check(read_case(spec))


@pytest.mark.parametrize("spec", cases(READS_REFUSED))
def test_read_refused(spec):
    check_raises(read_case(spec))


OTHER_REFUSED = {
    "x[1.5]": lambda lib: lib.zeros(3)[1.5],
    "x['a']": lambda lib: lib.zeros(3)["a"],
    "0-d[0]": lambda lib: lib.tensor(1.0)[0],
    "0-d[None, 0]": lambda lib: lib.tensor(1.0)[None, 0],
}


@pytest.mark.parametrize("case", cases(OTHER_REFUSED))
def test_other_bad_indices(case):
    check_raises(case)


def torch_result_shape(spec) -> tuple:
    """The shape PyTorch gives x[spec] (used to build a value of the right shape)."""
    return tuple(torch.zeros(SHAPE)[build_any(torch, spec)].shape)


def write_case(spec, value: str):
    """x = leaf * 1; x[spec] = value; with value "scalar", "int scalar", "row" (broadcast
    over the last dim), "full" (a leaf of the read's shape), "int tensor" (cast on write),
    "0-d" (a 0-d leaf)."""
    shape = torch_result_shape(spec)

    def case(lib):
        (leaf,) = leaves(lib, [X])
        x = leaf * 1
        values = None
        if value == "scalar":
            assigned = 2.5
        elif value == "int scalar":
            assigned = 7
        elif value == "int tensor":
            assigned = lib.tensor(np.full(shape, 5, dtype=np.int64))
        else:
            value_shape = {"row": shape[-1:], "full": shape, "0-d": ()}[value]
            (values,) = leaves(
                lib, [np.linspace(-1.0, 1.0, int(np.prod(value_shape))).reshape(value_shape)]
            )
            assigned = values
        x[build_any(lib, spec)] = assigned
        out = x * 2
        backward_through(lib, out)
        return {
            "out": out,
            "leaf grad": leaf.grad,
            "value grad": None if values is None else values.grad,
        }

    return case


WRITES = {
    name: READS[name]
    for name in [
        "x[0]",
        "x[-1]",
        "x[1, 2]",
        "x[:, 1]",
        "x[..., 2]",
        "x[::2]",
        "x[:, 1::2, 1:4:2]",
        "x[(0,)]",
        "x[...]",
        "x[[0, 1]]",
        "x[[-1]]",
        "x[[0, 1], [2, 0]]",
        "x[[0, 1], :, [2, 0]]",
        "x[0, :, [0, 1]]",
        "x[:, 1, [0, 1, 3]]",
        "x[:, [0, 2], [1, 3]]",
        "x[..., [0, 3]]",
        "x[None, [0, 1]]",
        "x[tensor([0, 1])]",
        "x[tensor(1)]",
        "x[mask (2,)]",
        "x[mask (2, 3)]",
        "x[mask (2, 3, 4)]",
        "x[:, mask (3,)]",
        "x[mask all False]",
        "x[[True, False]]",
        "x[[]]",
        "x[:, []]",
    ]
}
VALUE_KINDS = ["scalar", "int scalar", "row", "full", "0-d", "int tensor"]


@pytest.mark.parametrize("value", VALUE_KINDS)
@pytest.mark.parametrize("spec", cases(WRITES))
def test_write(spec, value):
    if value == "int tensor":  # PyTorch casts on basic writes, refuses on advanced ones
        check_same(write_case(spec, value))
    else:
        check(write_case(spec, value))


WRITES_REFUSED = {
    "x[2] = 0": lambda lib: lib.zeros(2, 3).__setitem__(2, 0.0),
    "x[:, 3] = 0": lambda lib: lib.zeros(2, 3).__setitem__((slice(None), 3), 0.0),
    "x[[0, 5]] = 0": lambda lib: lib.zeros(2, 3).__setitem__([0, 5], 0.0),
    "x[0] = wrong shape": lambda lib: lib.zeros(2, 3).__setitem__(0, lib.ones(2)),
    "x[0] = too many dims": lambda lib: lib.zeros(2, 3).__setitem__(0, lib.ones(2, 3)),
    "x[::-1] = 0": lambda lib: lib.zeros(2, 3).__setitem__(slice(None, None, -1), 0.0),
    "x[mask (3,)] = 0": lambda lib: lib.zeros(2, 3).__setitem__(
        lib.tensor([True, False, True]), 0.0
    ),
}


@pytest.mark.parametrize("case", cases(WRITES_REFUSED))
def test_write_refused(case):
    check_raises(case)


WRITE_OTHERS = {
    "int tensor written with float truncates": lambda lib: _written(lib.tensor([1, 2, 3]), 0, 2.7),
    "bool tensor written with 2": lambda lib: _written(lib.tensor([True, False]), 1, 2),
    "float16 tensor written with float64": lambda lib: _written(
        lib.zeros(2, dtype=dtype(lib, "float16")), 0, lib.tensor(np.array(1.0 / 3.0))
    ),
    "write into a view writes the base": lambda lib: _view_write(lib),
    "repeated indices written twice": lambda lib: _written(
        lib.zeros(3), lib.tensor([1, 1]), lib.tensor([4.0, 4.0])
    ),
    "x[mask] = tensor of count": lambda lib: _written(
        lib.tensor([1.0, -2.0, 3.0]),
        lib.tensor([False, True, True]),
        lib.tensor([10.0, 20.0]),
    ),
    "x[x < 0] = 0": lambda lib: _mask_zero(lib),
    "0-d[()] = 5": lambda lib: _written(lib.tensor(1.0), (), 5.0),
    "0-d[...] = 5": lambda lib: _written(lib.tensor(1.0), Ellipsis, 5.0),
    "x[None] = row": lambda lib: _written(lib.zeros(3), None, lib.tensor([1.0, 2.0, 3.0])),
    "setitem returns None": lambda lib: lib.zeros(2).__setitem__(0, 1.0),
}


def _written(x, index, value):
    x[index] = value
    return x


def _view_write(lib):
    base = lib.zeros(2, 3)
    row = base[1]
    row[0] = 5.0
    part = base[:, 1:]
    part[0] = lib.tensor([7.0, 8.0])
    return base


def _mask_zero(lib):
    x = lib.tensor([1.0, -2.0, 3.0, -0.5])
    x[x < 0] = 0
    return x


@pytest.mark.parametrize("case", cases(WRITE_OTHERS))
def test_write_semantics(case):
    check(case)


# ---------------------------------------------------------------- drawn mixed indices


@st.composite
def index_specs(draw):
    """A mix of ints, slices, None, one Ellipsis, lists, tensors and masks over (2, 3, 4)."""
    spec, dim, used_ellipsis = [], 0, False
    count = draw(st.integers(1, 4))
    for _ in range(count):
        choices = ["none"]
        if dim < len(SHAPE):
            choices += ["int", "slice", "list", "tensor", "mask"]
        if not used_ellipsis:
            choices.append("ellipsis")
        kind = draw(st.sampled_from(choices))
        if kind == "ellipsis":
            used_ellipsis = True
            spec.append(("ellipsis",))
            dim = len(SHAPE)  # what follows indexes from the right: keep it simple
            continue
        if kind == "none":
            spec.append(("none",))
            continue
        size = SHAPE[dim]
        if kind == "int":
            spec.append(("int", draw(st.integers(-size, size - 1))))
        elif kind == "slice":
            start = draw(st.none() | st.integers(-size - 1, size + 1))
            stop = draw(st.none() | st.integers(-size - 1, size + 1))
            step = draw(st.none() | st.integers(1, 3))
            spec.append(("slice", start, stop, step))
        elif kind in ("list", "tensor"):
            rows = draw(st.lists(st.integers(-size, size - 1), min_size=1, max_size=3))
            spec.append(("list", rows) if kind == "list" else ("tensor", rows, "int64"))
        else:
            spec.append(("mask", draw(st.lists(st.booleans(), min_size=size, max_size=size))))
        dim += 1
    if used_ellipsis:  # the tokens after an Ellipsis must fit the dims left over
        ellipsis_at = spec.index(("ellipsis",))
        consumed_before = sum(1 for t in spec[:ellipsis_at] if t[0] != "none")
        after = [t for t in spec[ellipsis_at + 1 :] if t[0] != "none"]
        if consumed_before + len(after) > len(SHAPE):
            spec = spec[: ellipsis_at + 1]
    return tuple(spec)


@given(spec=index_specs())
def test_drawn_reads(spec):
    check_same(read_case(spec))


@given(spec=index_specs(), value=st.sampled_from(["scalar", "row", "full"]))
def test_drawn_writes(spec, value):
    try:
        shape = torch_result_shape(spec)
    except (IndexError, RuntimeError, ValueError):
        return  # an index PyTorch refuses: the reads cover it
    if value == "row" and not shape:
        value = "scalar"
    check_same(write_case(spec, value))
