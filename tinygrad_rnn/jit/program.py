"""A captured step as a program: values, and statements that read and write them.

`build(recorder)` turns a record (record.py) into a Program. Each recorded op becomes one or
more statements: hot ops through a rule (rules.py) that writes NumPy calls into a destination
array the buffer plan chooses; any other op through its own Function, called as in eager
execution. Each backward pass becomes the statements the engine's walk would run, with its
bookkeeping (which gradient is summed into which, in which order) worked out once here
(backward.py). Passes (passes.py) then place values and plan buffers; a lowering prints the
statements as Python (lowering.py).

Values are named for the reader: `arg0` an argument, `ext0` a tensor read afresh at every call
(a parameter), `t12` the result of recorded op 12, `g3` a gradient, `f12` the Function of an op
run as in eager execution.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .record import CONSTANT, EXTERNAL, SLOT, RecordedBackward, RecordedCall, RecordedOp

ARGUMENT, EXTERNAL_TENSOR, LITERAL = "argument", "external", "literal"
COMPUTED, OBJECT, VIEW = "computed", "object", "view"


class Value:
    """An array (or object) of the program. `kind`: ARGUMENT, EXTERNAL_TENSOR (read from
    `source.array`), LITERAL (its source text is `name`), COMPUTED (written by statements into
    the array the buffer plan gives it), OBJECT (assigned from a Python expression: the result
    of an op run as in eager execution) or VIEW (`view` applied to `base`)."""

    __slots__ = (
        "base",
        "contiguous",
        "dtype",
        "escapes",
        "kind",
        "name",
        "place",
        "roots",
        "shape",
        "source",
        "view",
    )

    def __init__(self, name, kind, shape=None, dtype=None, contiguous=True, source=None):
        self.name, self.kind, self.shape, self.dtype = name, kind, shape, dtype
        self.contiguous, self.source = contiguous, source
        self.base = self.view = self.place = None
        self.escapes = False
        # the COMPUTED values whose memory this one may share (liveness follows them)
        self.roots: frozenset = frozenset((self,)) if kind == COMPUTED else frozenset()

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    def __repr__(self) -> str:
        return self.name


class Statement:
    """Lines of code reading `reads` and defining (or updating) `writes`. `lines` is a list of
    strings, or a function giving them once passes have placed values. `reusable`: inputs whose
    array an output may take over when they die here (the lines stay right if it does)."""

    __slots__ = ("lines", "reads", "reusable", "writes")

    def __init__(self, reads, writes, lines, reusable=()):
        self.reads, self.writes, self.lines, self.reusable = reads, writes, lines, reusable


class Stacking:
    """A request that `members` lie one after another along a new first axis of one array
    (the operands of a stacked product, a Stack op's inputs, the time steps of a gradient):
    passes.place tries to have each member written there in the first place."""

    __slots__ = ("members", "sequence", "start", "whole")

    def __init__(self, members: list[Value]):
        self.members = members
        self.sequence = None  # passes.Sequence where placed, else None: stack copies
        self.start = 0  # position of members[0] in it
        self.whole = None  # the value that is the stacked array, if the program has one

    def window(self) -> str:
        """Source text of the stacked array: the placed sequence's slice."""
        return self.sequence.window(self.start, len(self.members))


class Program:
    """What `build` makes: statements in order, the values the caller supplies and reads, the
    objects the code refers to by name, and the stacking requests for passes.place."""

    def __init__(self):
        self.statements: list[Statement] = []
        self.arguments: list[Value] = []
        self.externals: dict[int, Value] = {}  # id(tensor): value
        self.outputs: dict[int, Value] = {}  # slot: value
        self.namespace: dict = {}  # names the generated code uses, bound to objects
        self.stackings: list[Stacking] = []
        self.call_names: list[str] = []  # the replayable calls, as the code names them
        self.check_names: list[str] = []  # ops run for an effect (a check), as named
        self.uncapturable: list[str] = []  # ops a CUDA graph cannot hold (device copies)
        self.counts = {"ops": 0, "rules": 0, "backwards": 0, "calls": 0}
        self._names = itertools.count()

    def fresh(self, prefix: str, kind, shape=None, dtype=None, contiguous=True) -> Value:
        return Value(f"{prefix}{next(self._names)}", kind, shape, dtype, contiguous)

    def emit(self, reads, writes, lines, reusable=()) -> None:
        self.statements.append(Statement(list(reads), list(writes), lines, list(reusable)))

    def bind(self, prefix: str, obj) -> str:
        """A name under which the generated code reaches `obj`."""
        name = f"{prefix}{next(self._names)}"
        self.namespace[name] = obj
        return name

    def literal(self, value) -> str:
        """Source text for a keyword or constant argument: itself where it reads back as
        Python, else a bound name."""
        text = source_literal(value)
        return text if text is not None else self.bind("k", value)

    def view(self, base: Value, expression: str, layout: tuple, name=None, always=True) -> Value:
        """A view of `base` (`expression` formats it, as "{}.T"), defined by a statement; where
        `base` keeps its array from call to call and `expression` always gives a view (not a
        copy), the lowering binds it once instead."""
        shape, dtype, contiguous = layout
        value = Value(name or f"v{next(self._names)}", VIEW, shape, dtype, contiguous)
        value.base, value.view, value.roots = base, expression, base.roots
        value.source = always
        self.emit([base], [value], None)
        return value

    def stacking(self, members: list[Value]) -> Stacking:
        request = Stacking(members)
        self.stackings.append(request)
        return request


def source_literal(value) -> str | None:
    """`value` as source text, for plain Python constants (numbers, strings, None, ..., slices,
    NumPy dtypes and tuples of these); None for anything else."""
    if value is None or value is Ellipsis or type(value) in (bool, int, str):
        return repr(value)
    if type(value) is float:
        return repr(value) if math.isfinite(value) else f"float('{value}')"
    if isinstance(value, np.dtype):
        return f"dtype('{value.name}')"
    if type(value) is slice:
        parts = [source_literal(p) for p in (value.start, value.stop, value.step)]
        return None if None in parts else f"slice({', '.join(parts)})"
    if type(value) is tuple:
        parts = [source_literal(p) for p in value]
        if None in parts:
            return None
        return f"({', '.join(parts)}{',' if len(parts) == 1 else ''})"
    return None


def index_text(index) -> str:
    """A basic index (ints, slices, None, Ellipsis) as it reads inside brackets."""
    items = index if type(index) is tuple else (index,)
    parts = []
    for item in items:
        if item is Ellipsis:
            parts.append("...")
        elif type(item) is slice:
            step = "" if item.step is None else f":{item.step}"
            start = "" if item.start is None else str(item.start)
            stop = "" if item.stop is None else str(item.stop)
            parts.append(f"{start}:{stop}{step}")
        else:
            parts.append(repr(item))
    if type(index) is tuple and len(parts) == 1:
        return parts[0] + ","
    return ", ".join(parts) if parts else "()"


class Builder:
    """Turns a record into a Program: values for slots, statements for ops, calls and passes."""

    def __init__(self, recorder, rules: dict, backward_builder):
        self.recorder, self.rules, self.backward_builder = recorder, rules, backward_builder
        self.program = Program()
        self.slot_values: dict[int, Value] = {}
        self.handlers: dict[int, object] = {}  # op index: what runs its backward

    def build(self, output_slots: set):
        program = self.program
        for position, slot in enumerate(self.recorder.arguments):
            value = Value(f"arg{position}", ARGUMENT, *self.recorder.layouts[slot])
            value.source = position
            self.slot_values[slot] = value
            program.arguments.append(value)
        for event in self.recorder.events:
            if type(event) is RecordedOp:
                self.op(event)
            elif type(event) is RecordedBackward:
                self.backward_builder(self, event)
                program.counts["backwards"] += 1
            else:
                self.call(event)
        for slot in sorted(output_slots):
            value = self.slot_values[slot]
            program.outputs[slot] = value
            for root in value.roots:
                root.escapes = True  # the caller keeps it: a fresh array every call
        return program

    def value_of(self, source) -> Value:
        kind, x = source
        if kind == SLOT:
            return self.slot_values[x]
        if kind == EXTERNAL:
            value = self.program.externals.get(id(x))
            if value is None:
                array = x.array
                value = Value(f"ext{len(self.program.externals)}", EXTERNAL_TENSOR)
                value.shape, value.dtype = array.shape, array.dtype
                value.contiguous = bool(array.flags.c_contiguous)
                value.source = x
                self.program.externals[id(x)] = value
            return value
        assert kind == CONSTANT
        return Value(self.program.literal(x), LITERAL, source=x)

    def op(self, op: RecordedOp) -> None:
        self.program.counts["ops"] += 1
        if not op.cls.capturable:
            self.program.uncapturable.append(op.cls.__name__)
        inputs = [self.value_of(source) for source in op.sources]
        rule = self.rules.get(op.cls)
        handler = rule(self, op, inputs) if rule is not None else None
        if handler is not None:
            self.program.counts["rules"] += 1
        else:
            handler = self.run_as_eager(op, inputs)
        if op.needs is not None:
            self.handlers[op.index] = handler

    def output(self, op: RecordedOp, kind=COMPUTED) -> Value:
        """The value op `op` defines, named t<index>, with its recorded layout."""
        value = Value(f"t{op.index}", kind, *self.recorder.layouts[op.out])
        self.slot_values[op.out] = value
        return value

    def run_as_eager(self, op: RecordedOp, inputs: list[Value]):
        """An op without a rule: its Function's forward, called as eager execution calls it."""
        program = self.program
        out = self.output(op, OBJECT)
        out.roots = frozenset().union(*(v.roots for v in inputs))  # it may return a view
        cls = program.bind(op.cls.__name__ + "_", op.cls)
        if not op.cls.pure:
            program.check_names.append(cls)
        arguments = [v.name for v in inputs]
        arguments += [f"{k}={program.literal(v)}" for k, v in op.kwargs.items()]
        call = f".forward({', '.join(arguments)})"
        if op.needs is None:
            program.emit(inputs, [out], [f"{out.name} = {_as_array(f'{cls}(){call}', out)}"])
            return None
        function = Value(f"f{op.index}", OBJECT)
        function.roots = out.roots
        lines = [
            f"{function.name} = {cls}()",
            f"{out.name} = {_as_array(function.name + call, out)}",
            f"{function.name}.needs_input_grad = {op.needs!r}",
        ]
        program.emit(inputs, [out, function], lines)
        return EagerBackward(function, out, len(inputs))

    def call(self, event: RecordedCall) -> None:
        method = event.method
        owner = type(event.args[0]).__name__.lower() if event.args else "call"
        name = self.program.bind(f"{owner}_{method.__name__}_", _bound(event))
        self.program.call_names.append(name)
        self.program.emit([], [], [f"{name}()  # replayable call: runs live"])
        self.program.counts["calls"] += 1


def _as_array(expression: str, out: Value) -> str:
    """NumPy reduces to scalars where eager execution keeps 0-d arrays (dispatch.apply)."""
    return f"asarray({expression})" if len(out.shape) == 0 else expression


def _bound(event: RecordedCall):
    method, args, kwargs = event.method, event.args, event.kwargs
    return lambda: method(*args, **kwargs)


class EagerBackward:
    """The backward of an op run as in eager execution: its Function's own backward."""

    def __init__(self, function: Value, out: Value, inputs: int):
        self.function, self.out, self.inputs = function, out, inputs
