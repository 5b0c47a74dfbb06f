"""How the hot ops are written out: NumPy calls into destinations the buffer plan chooses.

A rule takes a recorded op and its input values, emits the op's forward and returns what
emits its backward, or returns None to leave the op to its own Function (program.py runs it as
eager execution does). A rule performs exactly the operations of the op's Function, in the same
order, only writing each result into a given array (`out=`) instead of a fresh one: so the
compiled step computes what eager execution computes, to the bit. Views stay views. Where an
op's result is an input's array updated in place (tanh(a + b) into a + b), so is it here.

The generated code calls array functions by their NumPy names (add, tanh, matmul, ...); the
lowering binds them to NumPy's or, on "cuda", to CuPy's.
"""

from __future__ import annotations

import numpy as np

from .. import cell_ops, ops
from ..ops.shape import is_basic_index
from .program import COMPUTED, LITERAL, OBJECT, index_text

RULES: dict = {}


def rule(*classes):
    def register(function):
        for cls in classes:
            RULES[cls] = function
        return function

    return register


class Backward:
    """Emits an op's backward: `emit(walk, grad)` returns one contribution per input."""

    step = None  # for x[t]: t, so a gradient made of every step's part is written in place

    def __init__(self, emit):
        self.emit = emit

    def backward(self, walk, grad):
        return self.emit(walk, grad)


def _out(builder, op):
    """op's result as a value the rule writes, or None if eager execution made it with another
    layout than a fresh C-contiguous array (then the op runs as eager execution runs it)."""
    if not builder.recorder.layouts[op.out][2]:
        return None
    return builder.output(op, COMPUTED)


def _floats(inputs, dtype) -> bool:
    """Every array input has the float dtype `dtype` (numbers are weak scalars, as in eager)."""
    return dtype.kind == "f" and all(v.kind == LITERAL or v.dtype == dtype for v in inputs)


def _view(builder, op, x, expression):
    value = builder.program.view(x, expression, builder.recorder.layouts[op.out], f"t{op.index}")
    builder.slot_values[op.out] = value
    return value


def _grad_view(walk, grad, expression, shape, contiguous=None, reshape=False):
    """A view of the gradient: known to be C-contiguous only where `contiguous` says so. A
    reshape is sure to be a view only of a C-contiguous array."""
    layout = (tuple(shape), grad.dtype, contiguous if grad.contiguous else None)
    always = not reshape or grad.contiguous is True
    return walk.program.view(grad, expression, layout, always=always)


# ---------------------------------------------------------------- views


@rule(ops.Reshape)
def reshape(builder, op, inputs):
    (x,), shape = inputs, tuple(op.kwargs["shape"])
    expression = f"{{}}.reshape({shape!r})"
    if op.view:
        _view(builder, op, x, expression)
    else:  # NumPy copied (a reshape of a transposed array): a fresh array, as in eager
        out = builder.output(op, OBJECT)
        out.roots = frozenset()
        builder.program.emit([x], [out], [f"{out.name} = {expression.format(x.name)}"])
    back = f"{{}}.reshape({x.shape!r})"
    return Backward(
        lambda walk, g: [("array", _grad_view(walk, g, back, x.shape, True, reshape=True))]
    )


@rule(ops.Transpose)
def transpose(builder, op, inputs):
    (x,), axes = inputs, tuple(op.kwargs["axes"])
    _view(builder, op, x, f"{{}}.transpose({axes!r})")
    inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
    identity = inverse == tuple(range(len(axes)))
    return Backward(
        lambda walk, g: [
            ("array", _grad_view(walk, g, f"{{}}.transpose({inverse!r})", x.shape, identity))
        ]
    )


@rule(ops.Expand)
def expand(builder, op, inputs):
    (x,), shape = inputs, tuple(op.kwargs["shape"])
    _view(builder, op, x, f"broadcast_to({{}}, {shape!r})")
    return Backward(lambda walk, g: [("array", g)])  # summed back to x's shape by the walk


@rule(ops.GetItem)
def get_item(builder, op, inputs):
    index = op.kwargs["index"]
    if len(inputs) != 1 or not is_basic_index(index) or not op.view:
        return None
    (x,) = inputs
    _view(builder, op, x, f"{{}}[{index_text(index)}]")
    handler = Backward(lambda walk, g: [("partial", index, g, True, handler.step)])
    handler.step = _first_axis_step(index, x.shape)
    return handler


def _first_axis_step(index, shape):
    """t for x[t] (also x[t, ...], x[t, :, :]): one whole step along the first axis."""
    items = index if type(index) is tuple else (index,)
    if not items or type(items[0]) is not int or not shape:
        return None
    if any(item is not Ellipsis and item != slice(None) for item in items[1:]):
        return None
    return items[0] % shape[0]


# ---------------------------------------------------------------- products


@rule(ops.MatMul)
def matmul(builder, op, inputs):
    a, b = inputs
    if a.kind == LITERAL or b.kind == LITERAL or len(a.shape) != 2 or len(b.shape) != 2:
        return None
    out = _out(builder, op)
    if out is None or not _floats(inputs, out.dtype):
        return None
    builder.program.emit([a, b], [out], [f"matmul({a.name}, {b.name}, out={out.name})"])
    need_a, need_b = op.needs or (False, False)

    def backward(walk, g):
        grad_a = None
        if need_a:
            grad_a = walk.computed(a.shape, a.dtype)
            walk.emit([g, b], [grad_a], [f"matmul({g.name}, {b.name}.T, out={grad_a.name})"])
        return [
            None if grad_a is None else ("array", grad_a),
            ("product", a, g) if need_b else None,  # a.T @ g, summed over steps at once
        ]

    return Backward(backward)


# ---------------------------------------------------------------- elementwise


def _elementwise(builder, op, inputs):
    out = _out(builder, op)
    if out is None or not _floats(inputs, out.dtype):
        return None
    return out


def _same(value, like) -> list:
    """[value] if its array could hold `like`'s result (so an output may take it over)."""
    return [value] if value.kind == COMPUTED and value.shape == like.shape else []


@rule(ops.Add, ops.Sub, ops.Mul)
def arithmetic(builder, op, inputs):
    out = _elementwise(builder, op, inputs)
    if out is None:
        return None
    a, b = inputs
    function = {ops.Add: "add", ops.Sub: "subtract", ops.Mul: "multiply"}[op.cls]
    line = f"{function}({a.name}, {b.name}, out={out.name})"
    builder.program.emit([a, b], [out], [line], _same(a, out) + _same(b, out))
    need_a, need_b = op.needs or (False, False)

    def backward(walk, g):
        if op.cls is ops.Add:
            return [("array", g), ("array", g)]
        if op.cls is ops.Sub:
            return [("array", g), ("array", _unary(walk, "negative", g)) if need_b else None]
        return [  # Mul: grad * b, grad * a
            ("array", _binary(walk, "multiply", g, b)) if need_a else None,
            ("array", _binary(walk, "multiply", g, a)) if need_b else None,
        ]

    return Backward(backward)


def _unary(walk, function, x):
    out = walk.computed(x.shape, x.dtype)
    walk.emit([x], [out], [f"{function}({x.name}, out={out.name})"], _same(x, out))
    return out


def _binary(walk, function, x, y):
    out = walk.computed(x.shape, x.dtype)
    line = f"{function}({x.name}, {y.name}, out={out.name})"
    walk.emit([x, y], [out], [line], _same(x, out))
    return out


@rule(ops.Neg)
def negative(builder, op, inputs):
    out = _elementwise(builder, op, inputs)
    if out is None:
        return None
    (a,) = inputs
    builder.program.emit([a], [out], [f"negative({a.name}, out={out.name})"], _same(a, out))
    return Backward(lambda walk, g: [("array", _unary(walk, "negative", g))])


def _tanh_slope(walk, out, g):
    """grad * (1 - out**2) as ops.elementwise._tanh_slope: 1 - out * out, then times grad."""
    slope = walk.computed(g.shape, g.dtype)
    lines = [
        f"multiply({out.name}, {out.name}, out={slope.name})",
        f"subtract(1, {slope.name}, out={slope.name})",
        f"multiply({slope.name}, {g.name}, out={slope.name})",
    ]
    walk.emit([out, g], [slope], lines, _same(out, slope))
    return slope


@rule(ops.Tanh)
def tanh(builder, op, inputs):
    out = _elementwise(builder, op, inputs)
    if out is None or not out.shape:
        return None
    (a,) = inputs
    builder.program.emit([a], [out], [f"tanh({a.name}, out={out.name})"], _same(a, out))
    return Backward(lambda walk, g: [("array", _tanh_slope(walk, out, g))])


@rule(ops.AddTanh)
def add_tanh(builder, op, inputs):
    out = _elementwise(builder, op, inputs)
    if out is None or not out.shape:  # eager takes another path for 0-d results
        return None
    a, b = inputs
    lines = [f"add({a.name}, {b.name}, out={out.name})", f"tanh({out.name}, out={out.name})"]
    builder.program.emit([a, b], [out], lines, _same(a, out) + _same(b, out))

    def backward(walk, g):
        slope = _tanh_slope(walk, out, g)
        return [("array", slope), ("array", slope)]

    return Backward(backward)


@rule(ops.Sigmoid)
def sigmoid(builder, op, inputs):
    out = _elementwise(builder, op, inputs)
    if out is None:
        return None
    (a,) = inputs
    lines = [  # ops.sigmoid: 1 / (1 + exp(-a))
        f"negative({a.name}, out={out.name})",
        f"exp({out.name}, out={out.name})",
        f"add(1, {out.name}, out={out.name})",
        f"divide(1, {out.name}, out={out.name})",
    ]
    builder.program.emit([a], [out], lines, _same(a, out))

    def backward(walk, g):  # grad * out * (1 - out)
        grad = walk.computed(g.shape, g.dtype)
        rest = walk.computed(out.shape, out.dtype)
        lines = [
            f"multiply({g.name}, {out.name}, out={grad.name})",
            f"subtract(1, {out.name}, out={rest.name})",
            f"multiply({grad.name}, {rest.name}, out={grad.name})",
        ]
        walk.emit([g, out], [grad, rest], lines, _same(g, grad))
        return [("array", grad)]

    return Backward(backward)


@rule(ops.Relu)
def relu(builder, op, inputs):
    out = _elementwise(builder, op, inputs)
    if out is None:
        return None
    (a,) = inputs
    builder.program.emit([a], [out], [f"maximum({a.name}, 0, out={out.name})"], _same(a, out))

    def backward(walk, g):  # grad * ~(out <= 0): NaN passes, as PyTorch
        grad = walk.computed(g.shape, g.dtype)
        passes = walk.computed(out.shape, np.dtype(bool))
        lines = [
            f"less_equal({out.name}, 0, out={passes.name})",
            f"invert({passes.name}, out={passes.name})",
            f"multiply({g.name}, {passes.name}, out={grad.name})",
        ]
        walk.emit([g, out], [grad, passes], lines, _same(g, grad))
        return [("array", grad)]

    return Backward(backward)


# ---------------------------------------------------------------- joining


@rule(ops.Stack)
def stack(builder, op, inputs):
    first = inputs[0]
    if op.kwargs.get("axis", 0) != 0 or any(
        v.kind == LITERAL or v.shape != first.shape or v.dtype != first.dtype for v in inputs
    ):
        return None
    out = _out(builder, op)
    if out is None:
        return None
    request = builder.program.stacking(list(inputs))
    request.whole = out

    def lines():
        if request.sequence is None:
            members = ", ".join(v.name for v in inputs)
            return [f"stack([{members}], out={out.name})"]
        code = []
        for at in range(len(inputs)):
            code += request.sequence.copy_in(request, at)
        return code

    builder.program.emit(inputs, [out], lines)

    def backward(walk, g):
        shape = first.shape
        return [
            ("array", _grad_view(walk, g, f"{{}}[{k}]", shape, True)) for k in range(len(inputs))
        ]

    return Backward(backward)


# ---------------------------------------------------------------- recurrent cells


@rule(cell_ops.LSTMCell)
def lstm_cell(builder, op, inputs):
    """The cell's own array code (cell_ops.lstm_*_into) with every array the plan's: its
    gates' gradient, written in place, is what the weights' stacked products read."""
    a, b, c = inputs
    if LITERAL in (a.kind, b.kind, c.kind) or not _exact_cell(a, b, c):
        return None
    out = _out(builder, op)
    if out is None:
        return None
    program = builder.program
    acts = program.fresh("s", COMPUTED, (4, *c.shape), a.dtype)
    tanh_c = program.fresh("s", COMPUTED, c.shape, c.dtype)
    line = (
        f"lstm_forward_into({a.name}, {b.name}, {c.name}, {out.name}, {acts.name}, {tanh_c.name})"
    )
    program.emit([a, b, c], [out, acts, tanh_c], [line])

    def backward(walk, g):
        d_gates, d_c = walk.computed(a.shape, a.dtype), walk.computed(c.shape, c.dtype)
        scratch = walk.computed((2, *c.shape), c.dtype)
        arguments = [f"{g.name}[0]", f"{g.name}[1]", c.name, f"{out.name}[1]", acts.name]
        arguments += [tanh_c.name, d_gates.name, d_c.name, scratch.name]
        line = f"lstm_backward_into({', '.join(arguments)})"
        walk.emit([g, c, out, acts, tanh_c], [d_gates, d_c, scratch], [line])
        return [("array", d_gates), ("array", d_gates), ("array", d_c)]

    return Backward(backward)


def _exact_cell(a, b, c) -> bool:
    return (
        len(c.shape) == 2
        and tuple(a.shape) == tuple(b.shape) == (c.shape[0], 4 * c.shape[1])
        and a.dtype == b.dtype == c.dtype
        and np.dtype(c.dtype).kind == "f"
    )
