"""Lowering: a planned program printed as Python over NumPy (or CuPy) and compiled.

The result is two functions a person can read (`Compiled.source`): `allocate()`, the buffer
plan as code (each buffer, the values that take it in turn, the views bound once), and
`run(arguments)`, the step as straight-line calls with `out=` destinations. The names they use
(add, matmul, tanh, ...) are bound to NumPy's functions for "cpu" and CuPy's for "cuda".
"""

from __future__ import annotations

import itertools
import linecache

import numpy as np

from .. import autograd, cell_ops
from ..backend import sum_to
from .program import COMPUTED, OBJECT, VIEW, Program

ARRAY_FUNCTIONS = (
    "add",
    "subtract",
    "multiply",
    "divide",
    "negative",
    "tanh",
    "exp",
    "maximum",
    "less_equal",
    "invert",
    "broadcast_to",
    "stack",
    "copyto",
    "empty",
    "asarray",
    "dtype",
)

_compiled_count = itertools.count()


def add_part(part, previous, owned: bool, dtype):
    """A PartialGrad object added into the gradient so far, as autograd.accumulate adds it."""
    if part.grad.dtype != dtype:
        part.grad = part.grad.astype(dtype)
    return part.add_into(previous, owned)


def deposit(leaf, grad, owned: bool) -> None:
    """A leaf's gradient handed to its `.grad` (and its post-accumulate-grad hooks)."""
    leaf._deposit_grad(grad, owned)


def numpy_namespace() -> dict:
    """What the generated code's names mean on "cpu"."""
    namespace = {name: getattr(np, name) for name in ARRAY_FUNCTIONS}
    namespace.update(
        matmul=np.matmul,
        lstm_forward_into=cell_ops.lstm_forward_into,
        lstm_backward_into=cell_ops.lstm_backward_into,
        sum_to=sum_to,
        stacked_product=autograd.stacked_product,
        add_part=add_part,
        deposit=deposit,
    )
    return namespace


class Compiled:
    """A lowered program: `run(arrays)` returns {slot: array} for fn's output slots."""

    def __init__(self, program, sequences, buffers, namespace, device="cpu", rewrite=None):
        self.program, self.sequences, self.buffers = program, sequences, buffers
        self.device, self.rewrite = device, rewrite
        self.namespace = {**namespace, **program.namespace}
        self.output_slots = list(program.outputs)
        self.persistent: set = set()
        self._bind_persistent()
        allocate, run = self._write_allocate(), self._write_run()
        head = f"# {describe(program)}\n# {self._describe_memory()}\n\n"
        self.source = head + allocate + "\n\n" + run
        filename = f"<tinygrad_rnn.jit {next(_compiled_count)}>"
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        exec(compile(self.source, filename, "exec"), self.namespace)
        self.namespace.update(self.namespace["allocate"]())
        self._run = self.namespace["run"]

    def run(self, arrays: list, tensors: list) -> dict:
        """{slot: array} of fn's outputs, given the arguments' arrays and tensors (the leaves
        whose gradients backward hands over)."""
        return dict(zip(self.output_slots, self._run(arrays, tensors)))

    def bind_kernel(self, factory, key) -> str:
        """A name for the kernel `factory(*key)` in the generated code's namespace."""
        name = f"kernel{sum(n.startswith('kernel') for n in self.namespace)}"
        self.namespace[name] = factory(*key)
        return name

    @property
    def persistent_bytes(self) -> int:
        """Bytes of the buffers kept from call to call."""
        sizes = [b.values[0].nbytes for b in self.buffers]
        sizes += [s.nbytes for s in self.sequences if not s.escapes]
        return sum(sizes)

    def _describe_memory(self) -> str:
        values = sum(len(b.values) for b in self.buffers)
        kept = [s for s in self.sequences if not s.escapes]
        return (
            f"{len(self.buffers)} buffers for {values} values and {len(kept)} time-stacked "
            f"arrays, {self.persistent_bytes / 2**20:.2f} MiB kept from call to call"
        )

    # ------------------------------------------------------------ where each value lives

    def _bind_persistent(self) -> None:
        """Values whose array is the same object at every call: bound once by allocate()."""
        for buffer in self.buffers:
            self.persistent.update(buffer.values)
        for statement in self.program.statements:
            for value in statement.writes:
                if value.kind == COMPUTED and value.place is not None:
                    if not value.place[0].escapes:
                        self.persistent.add(value)
                elif value.kind == VIEW and value.source and value.base in self.persistent:
                    self.persistent.add(value)

    def _write_allocate(self) -> str:
        lines = ["def allocate():", '    """The buffer plan: arrays kept from call to call."""']
        for sequence in self.sequences:
            if sequence.escapes:
                continue
            lines += _sequence_lines(sequence)
        for buffer in self.buffers:
            shape, dtype = buffer.shape, buffer.dtype.name
            lines.append(f"    {buffer.name} = empty({shape!r}, dtype('{dtype}'))")
            names = " = ".join(v.name for v in buffer.values)
            lines.append(f"    {names} = {buffer.name}")
        for statement in self.program.statements:
            for value in statement.writes:
                if value.kind == VIEW and value in self.persistent:
                    lines.append(f"    {value.name} = {value.view.format(value.base.name)}")
        lines.append("    return locals()")
        return "\n".join(lines)

    def _write_run(self) -> str:
        program = self.program
        statements = program.statements
        last_read: dict = {}
        for i, statement in enumerate(statements):
            for value in statement.reads:
                last_read[value] = i
        for value in program.outputs.values():
            last_read[value] = len(statements)
        externals = list(program.externals.values())
        for external in externals:
            self.namespace[f"tensor_{external.name}"] = external.source
        lines = ["def run(arguments, tensors):"]
        if program.arguments:
            names = ", ".join(v.name for v in program.arguments)
            lines.append(f"    {names}{',' if len(program.arguments) == 1 else ''} = arguments")
        lines += [f"    {e.name} = tensor_{e.name}.array" for e in externals]
        allocated: set = set()
        for i, statement in enumerate(statements):
            keep = {v.name for v in statement.writes if last_read.get(v, -1) > i}
            body = self._statement_lines(statement, allocated, keep)
            lines += [f"    {line}" for line in body]
            if body and body[-1].endswith("# replayable call: runs live"):
                lines += [
                    f"    {e.name} = tensor_{e.name}.array  # read afresh after the call"
                    for e in externals
                    if last_read.get(e, -1) > i
                ]
            dead = [
                v.name
                for v in (*statement.reads, *statement.writes)
                if v.kind == OBJECT and last_read.get(v, i) <= i and v.name != "_"
            ]
            if dead:
                lines.append(f"    del {', '.join(sorted(set(dead)))}")
        outputs = [program.outputs[slot].name for slot in self.output_slots]
        lines.append(f"    return ({', '.join(outputs)}{',' if len(outputs) == 1 else ''})")
        return "\n".join(lines)

    def _statement_lines(self, statement, allocated: set, keep: set) -> list[str]:
        if statement.lines is None:  # a view
            (value,) = statement.writes
            if value in self.persistent:
                return []
            return [f"{value.name} = {value.view.format(value.base.name)}"]
        lines = []
        for value in statement.writes:
            if value.kind != COMPUTED or value in self.persistent or value in allocated:
                continue
            allocated.add(value)
            if value.place is not None:
                sequence = value.place[0]
                if sequence not in allocated:
                    allocated.add(sequence)
                    lines += [line.strip() for line in _sequence_lines(sequence)]
            else:
                shape, dtype = tuple(value.shape), np.dtype(value.dtype).name
                lines.append(
                    f"{value.name} = empty({shape!r}, dtype('{dtype}'))  # leaves the step"
                )
        body = statement.lines() if callable(statement.lines) else statement.lines
        if self.rewrite is not None:
            body = self.rewrite(self, statement, body, keep)
        return lines + body


def _sequence_lines(sequence) -> list[str]:
    """Allocate a sequence and bind the values placed in it (slots and windows)."""
    shape = (sequence.high - sequence.low, *sequence.shape)
    dtype = np.dtype(sequence.dtype).name
    lines = [f"    {sequence.name} = empty({shape!r}, dtype('{dtype}'))"]
    for position in range(sequence.low, sequence.high):
        value = sequence.slots[position]
        if value.place is not None and value.place[0] is sequence:
            lines.append(f"    {value.name} = {sequence.slot(position)}")
    for value, start, count in sequence.windows:
        lines.append(f"    {value.name} = {sequence.window(start, count)}")
    return lines


def describe(program: Program) -> str:
    """A one-line summary of a program, for the head of its source."""
    counts = program.counts
    return (
        f"{counts['ops']} recorded ops ({counts['rules']} written out, the others run by their "
        f"Function), {counts['backwards']} backward pass(es), {counts['calls']} replayable calls"
    )
