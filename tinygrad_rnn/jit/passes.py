"""Passes over a program: where values live.

`place` lays values that are used stacked (the operands of a weight's stacked product, a Stack
op's inputs, the parts of a gradient taken one time step at a time) one after another in one
array, so the statement that makes each writes it there and nothing is copied to stack them.

`plan_buffers` gives every other array value a buffer, reused once the value is dead (liveness
over the statements, following views); a buffer lives from call to call, so a replay allocates
only what leaves the step (its outputs, gradients handed to `.grad`).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from .program import COMPUTED, Program, Value


class Sequence:
    """One array holding values one after another along its first axis: `slots` maps a
    position to its value, produced there (placed) or copied in before use (`copied`)."""

    def __init__(self, name: str, shape: tuple, dtype):
        self.name, self.shape, self.dtype = name, shape, dtype
        self.slots: dict[int, Value] = {}
        self.copied: set[int] = set()
        self.windows: list = []  # (value, start, count): a stacked array the program names
        self.low = self.high = 0
        self.escapes = False

    @property
    def nbytes(self) -> int:
        return (self.high - self.low) * math.prod(self.shape) * np.dtype(self.dtype).itemsize

    def slot(self, position: int) -> str:
        return f"{self.name}[{position - self.low}]"

    def window(self, start: int, count: int) -> str:
        first = start - self.low
        return f"{self.name}[{first}:{first + count}]"

    def copy_in(self, request, at: int) -> list[str]:
        """The line copying member `at` of a request into its slot, if it is not made there."""
        position = request.start + at
        if position not in self.copied:
            return []
        return [f"copyto({self.slot(position)}, {request.members[at].name})"]


class Buffer:
    """An array some values take in turn."""

    def __init__(self, name: str, shape: tuple, dtype):
        self.name, self.shape, self.dtype = name, shape, dtype
        self.values: list[Value] = []


def _writers(program: Program) -> dict:
    count: dict = defaultdict(int)
    for statement in program.statements:
        for value in statement.writes:
            count[value] += 1
    return count


def place(program: Program) -> list[Sequence]:
    """Serve every stacking request one may (see the module docs); the others stay None and
    their statements stack copies, as eager execution does."""
    writers = _writers(program)
    sequences: list[Sequence] = []
    holders: dict = defaultdict(list)  # value: [(sequence, position)]

    def placeable(value: Value, like: Value) -> bool:
        return (
            value.kind == COMPUTED
            and value.place is None
            and writers[value] == 1
            and value.contiguous is True
            and value.shape == like.shape
            and value.dtype == like.dtype
        )

    for request in program.stackings:
        members = request.members
        if any(m is None for m in members) or len(set(members)) != len(members):
            continue
        first = members[0]
        if any(m.shape != first.shape or m.dtype != first.dtype for m in members):
            continue
        candidates = {
            (id(sequence), position - k): sequence
            for k, member in enumerate(members)
            for sequence, position in holders[member]
        }
        if len(candidates) > 1:
            continue
        if candidates:
            (((_, offset), sequence),) = candidates.items()
        else:
            sequence = Sequence(f"seq{len(sequences)}", tuple(first.shape), first.dtype)
            sequences.append(sequence)
            offset = 0
        count = len(members)
        if sequence.slots and (offset > sequence.high or offset + count < sequence.low):
            continue  # would leave a gap
        if any(
            sequence.slots.get(offset + k, member) is not member for k, member in enumerate(members)
        ):
            continue
        for k, member in enumerate(members):
            position = offset + k
            if position in sequence.slots:
                continue
            sequence.slots[position] = member
            holders[member].append((sequence, position))
            if placeable(member, first):
                member.place = (sequence, position)
            else:
                sequence.copied.add(position)
        sequence.low = min(sequence.slots)
        sequence.high = max(sequence.slots) + 1
        request.sequence, request.start = sequence, offset
        if request.whole is not None:
            request.whole.place = (sequence, offset, count)
            sequence.windows.append((request.whole, offset, count))
    for sequence in sequences:
        sequence.escapes = any(
            value.escapes for value in sequence.slots.values() if value.place is not None
        )
    for request in program.stackings:
        if request.sequence is not None and request.whole is not None and request.whole.escapes:
            request.sequence.escapes = True
    return sequences


def plan_buffers(program: Program) -> list[Buffer]:
    """Give each array value that is neither placed nor leaving the step a buffer; a buffer
    whose value is dead (no later statement reads it or a view of it) serves the next value of
    its shape and dtype. An output may take over an input's buffer where the statement allows
    it (`reusable`) and the input dies there; a scratch array never does."""
    statements = program.statements
    last: dict = {}
    for i, statement in enumerate(statements):
        for value in (*statement.reads, *statement.writes):
            for root in value.roots:
                last[root] = i
    pool: dict = defaultdict(list)
    buffers: list[Buffer] = []
    storage: dict = {}

    def take(value: Value) -> None:
        key = (tuple(value.shape), np.dtype(value.dtype))
        if pool[key]:
            buffer = pool[key].pop()
        else:
            buffer = Buffer(f"buf{len(buffers)}", *key)
            buffers.append(buffer)
        buffer.values.append(value)
        storage[value] = buffer

    def free(value: Value) -> None:
        buffer = storage.get(value)
        if buffer is not None and buffer.values[-1] is value:
            pool[(buffer.shape, buffer.dtype)].append(buffer)

    for i, statement in enumerate(statements):
        new = [
            v
            for v in statement.writes
            if v.kind == COMPUTED and v.place is None and not v.escapes and v not in storage
        ]
        for value in new:
            if last[value] == i:  # scratch: it must not share an input's array
                take(value)
        for value in statement.reusable:
            if last.get(value) == i:
                free(value)
                last[value] = -1  # freed already
        for value in new:
            if value not in storage:
                take(value)
        for value in (*statement.reads, *statement.writes):
            for root in value.roots:
                if last.get(root) == i:
                    free(root)
                    last[root] = -1
    return buffers
