"""A recorded backward pass as statements: the engine's walk (autograd.backward) worked out once.

Which node's gradient is summed into which, and in what order, is fixed by the record, so the
bookkeeping the engine does at every step (is this gradient a product still waiting, a part of
a larger array, an array someone else holds?) is done here once, and only the arithmetic is
emitted. Every choice mirrors `autograd.accumulate`: the same sums in the same order, products
stacked in the same chunks, so a compiled step computes what eager execution computes. Two
things are done differently, with equal results: a weight's stacked products read operands
that were written into one time-stacked array in the first place (passes.place), and a
gradient made of one part per time step (x[t] for every t) is written part by part into its
place instead of being added into zeros (the sign of a zero may differ: 0 + -0 is +0).
"""

from __future__ import annotations

from .. import autograd
from .program import COMPUTED, LITERAL, OBJECT, Value, index_text


class _Pending:
    """A gradient still arriving: `value` (owned: made here, so it may be added into in place)
    or products waiting to be summed at once."""

    __slots__ = ("owned", "pairs", "value")

    def __init__(self, value=None, owned=False, pairs=None):
        self.value, self.owned, self.pairs = value, owned, pairs


def build_backward(builder, plan) -> None:
    """Emit the statements of one recorded backward pass into builder's program."""
    _Walk(builder, plan).run()


class _Walk:
    def __init__(self, builder, plan):
        self.builder, self.plan, self.program = builder, plan, builder.program
        self.covers = _covers(builder, plan)

    # ------------------------------------------------------------ values and statements

    def computed(self, shape, dtype) -> Value:
        return self.program.fresh("g", COMPUTED, tuple(shape), dtype)

    def obj(self, shape=None, dtype=None, contiguous=None) -> Value:
        return self.program.fresh("g", OBJECT, shape, dtype, contiguous)

    def emit(self, reads, writes, lines, reusable=()) -> None:
        self.program.emit(reads, writes, lines, list(reusable))

    # ------------------------------------------------------------ the walk

    def run(self) -> None:
        plan, program = self.plan, self.program
        root = Value(program.bind("ones", plan.root_grad), LITERAL, plan.root_grad.shape)
        root.dtype = plan.root_grad.dtype
        states: list = [None] * plan.size
        states[-1] = _Pending(root)
        for position, index, leaf, parents in plan.steps:
            state = states[position]
            if state is None:
                continue
            states[position] = None
            grad, owned = self.materialize(state)
            if leaf is not None:
                self.deposit(leaf, grad, owned)
                continue
            handler = self.builder.handlers[index]
            if hasattr(handler, "backward"):
                contributions = handler.backward(self, grad)
            else:
                contributions = self.eager_backward(handler, grad, plan.returned[index])
            for target, contribution in zip(parents, contributions):
                if target is not None and contribution is not None:
                    self.accumulate(states, *target, contribution)

    def materialize(self, state: _Pending) -> tuple:
        if state.pairs is not None:
            return self.evaluate(state.pairs), True
        return state.value, state.owned

    def deposit(self, leaf, grad: Value, owned: bool) -> None:
        """The leaf's `.grad` (a tensor fn reached, or the argument at position `leaf`)."""
        name = f"tensors[{leaf}]" if type(leaf) is int else self.program.bind("leaf", leaf)
        if owned:
            for root in grad.roots:
                root.escapes = True  # the leaf may keep it as its .grad
        self.emit([grad], [], [f"deposit({name}, {grad.name}, {owned})"])

    def eager_backward(self, handler, grad: Value, returned: list) -> list:
        """The backward of an op run as in eager execution: its Function's own (the lowering
        drops the Function after its last use, as the engine releases it)."""
        function = handler.function
        results, names = [], []
        for kind in returned:
            if kind is None:
                results.append(None)
                names.append("_")
                continue
            if kind[0] == "array":
                value = self.obj(*kind[1])
                contribution = ("array", value)
            else:  # a PartialGrad or a ProductGrad object, added as eager execution does
                value = self.obj()
                contribution = ("eager " + kind[0], value)
            value.roots = grad.roots | function.roots  # it may be a view of either
            results.append(contribution)
            names.append(value.name)
        targets = ", ".join(names) + ("," if len(names) == 1 else "")
        writes = [c[1] for c in results if c is not None]
        self.emit([grad, function], writes, [f"{targets} = {function.name}.backward({grad.name})"])
        return results

    # ------------------------------------------------------------ autograd.accumulate, once

    def accumulate(self, states, position, shape, dtype, contribution) -> None:
        kind, state = contribution[0], states[position]
        if kind in ("product", "eager product"):
            pair = contribution[1:]
            if state is None:
                states[position] = _Pending(pairs=[pair])
                return
            if state.pairs is not None:
                state.pairs.append(pair)
                return
            contribution = ("array", self.evaluate([pair]))
            kind = "array"
        elif state is not None and state.pairs is not None:
            state = states[position] = _Pending(self.evaluate(state.pairs), True)
        if kind == "partial":
            states[position] = self.add_part(position, state, shape, dtype, *contribution[1:])
            return
        if kind == "eager partial":
            states[position] = self.add_eager_part(state, dtype, contribution[1])
            return
        value = contribution[1]
        if tuple(value.shape) != tuple(shape):
            reduced = self.obj(tuple(shape), value.dtype)
            self.emit([value], [reduced], [f"{reduced.name} = sum_to({value.name}, {shape!r})"])
            value = reduced
        if value.dtype != dtype:
            cast = self.obj(value.shape, dtype, value.contiguous)
            cast.roots = value.roots
            line = f"{cast.name} = {value.name}.astype({self.program.literal(dtype)})"
            self.emit([value], [cast], [line])
            value = cast
        if state is None:
            states[position] = _Pending(value)
        elif state.owned:
            self.emit([state.value, value], [state.value], [_add_into(state.value, value)])
        else:
            total = self.computed(shape, dtype)
            line = f"add({state.value.name}, {value.name}, out={total.name})"
            self.emit([state.value, value], [total], [line], [state.value, value])
            states[position] = _Pending(total, True)

    def add_part(self, position, state, shape, dtype, index, part: Value, basic, step):
        """PartialGrad.add_into: zeros (or a copy of what arrived) plus `part` at `index`."""
        cover = self.covers.get(position)
        if cover is not None:  # one part per step, covering everything: write it in place
            request = cover
            request.members[step] = part

            def lines(request=request, step=step, part=part):
                if request.sequence is None:
                    return [f"{request.whole.name}[{step}] = {part.name}"]
                return request.sequence.copy_in(request, step)

            self.emit([part], [request.whole], lines)
            return _Pending(request.whole, True)
        if part.dtype != dtype:
            cast = self.obj(part.shape, dtype, part.contiguous)
            self.emit([part], [cast], [f"{cast.name} = {part.name}.astype({dtype.name!r})"])
            part = cast
        region = index_text(index)
        if state is None:
            full = self.computed(shape, dtype)
            lines = [f"{full.name}.fill(0)", f"{full.name}[{region}] += {part.name}"]
            self.emit([part], [full], lines)
        elif not state.owned:
            full = self.computed(shape, dtype)
            lines = [
                f"copyto({full.name}, {state.value.name})",
                f"{full.name}[{region}] += {part.name}",
            ]
            self.emit([state.value, part], [full], lines)
        else:
            full = state.value
            self.emit([full, part], [full], [f"{full.name}[{region}] += {part.name}"])
        return _Pending(full, True)

    def add_eager_part(self, state, dtype, part: Value) -> _Pending:
        full = self.obj()
        previous = "None" if state is None else state.value.name
        owned = state is not None and state.owned
        reads = [part] if state is None else [part, state.value]
        dtype = self.program.literal(dtype)
        line = f"{full.name} = add_part({part.name}, {previous}, {owned}, {dtype})"
        self.emit(reads, [full], [line])
        return _Pending(full, True)

    # ------------------------------------------------------------ ProductGrad.evaluate, once

    def evaluate(self, pairs: list) -> Value:
        """sum_k a_k.T @ right_k over `pairs` (the walk's order), as ProductGrad.evaluate."""
        pairs = pairs[::-1]
        chunk = autograd.PRODUCT_CHUNK
        out = None
        for start in range(0, len(pairs), chunk):
            product = self.product(pairs[start : start + chunk])
            if out is None:
                out = product
            else:
                self.emit([out, product], [out], [_add_into(out, product)])
        return out

    def product(self, pairs: list) -> Value:
        if any(len(pair) == 1 for pair in pairs) or any(
            a.contiguous is None or right.contiguous is None for a, right in pairs
        ):
            return self.runtime_product(pairs)
        (a, right), rest = pairs[0], pairs[1:]
        out = self.computed((a.shape[1], right.shape[1]), right.dtype)
        if rest and _stackable([a for a, _ in pairs]) and _stackable([r for _, r in pairs]):
            self.stacked_product(pairs, out)
            return out
        lines = [f"matmul({a.name}.T, {right.name}, out={out.name})"]
        reads = [a, right]
        if rest:
            term = self.computed(out.shape, out.dtype)
            for a, right in rest:
                lines.append(f"matmul({a.name}.T, {right.name}, out={term.name})")
                lines.append(_add_into(out, term))
                reads += [a, right]
            self.emit(reads, [out, term], lines)
        else:
            self.emit(reads, [out], lines)
        return out

    def stacked_product(self, pairs: list, out: Value) -> None:
        lefts = self.program.stacking([a for a, _ in pairs])
        rights = self.program.stacking([r for _, r in pairs])
        count, (inner, rows), columns = len(pairs), pairs[0][0].shape, pairs[0][1].shape[1]

        def lines():
            code = []
            stacked = []
            for request, width in ((lefts, rows), (rights, columns)):
                if request.sequence is None:
                    members = ", ".join(m.name for m in request.members)
                    stacked.append(f"stack([{members}]).reshape({count * inner}, {width})")
                else:
                    for at in range(count):
                        code += request.sequence.copy_in(request, at)
                    stacked.append(f"{request.window()}.reshape({count * inner}, {width})")
            code.append(f"matmul({stacked[0]}.T, {stacked[1]}, out={out.name})")
            return code

        reads = [a for a, _ in pairs] + [r for _, r in pairs]
        self.emit(reads, [out], lines)

    def runtime_product(self, pairs: list) -> Value:
        """Operands whose layout is known only at run time: eager execution's own function."""
        lefts, rights, reads = [], [], []
        for pair in pairs:
            if len(pair) == 1:  # a ProductGrad object an op run as in eager execution made
                lefts.append(f"{pair[0].name}.lefts[0]")
                rights.append(f"{pair[0].name}.rights[0]")
                reads.append(pair[0])
            else:
                lefts.append(f"{pair[0].name}.T")
                rights.append(pair[1].name)
                reads += pair
        out = self.obj(contiguous=True)
        line = f"{out.name} = stacked_product([{', '.join(lefts)}], [{', '.join(rights)}])"
        self.emit(reads, [out], [line])
        return out


def _add_into(total: Value, term: Value) -> str:
    return f"add({total.name}, {term.name}, out={total.name})"


def _stackable(values: list) -> bool:
    """What the backend's stack requires: one shape and dtype, C-contiguous."""
    first = values[0]
    return all(v.contiguous and v.shape == first.shape and v.dtype == first.dtype for v in values)


def _covers(builder, plan) -> dict:
    """Gradients made of one part per index along the first axis, each index once and nothing
    else (the projection of every time step, x[t]): position -> the stacking of its parts,
    whose members the walk fills in as the parts arrive."""
    steps: dict[int, list] = {}
    spoiled = set()
    for _, index, leaf, parents in plan.steps:
        if leaf is not None:
            continue
        step = getattr(builder.handlers[index], "step", None)
        returned = plan.returned.get(index) or ()
        for k, target in enumerate(parents):
            if target is None or k >= len(returned) or returned[k] is None:
                continue
            if step is None or returned[k][0] != "partial":
                spoiled.add(target[0])
            else:
                steps.setdefault(target[0], []).append((step, target))
    covers = {}
    for position, found in steps.items():
        shape, dtype = tuple(found[0][1][1]), found[0][1][2]
        if position in spoiled or not shape or sorted(s for s, _ in found) != list(range(shape[0])):
            continue
        request = builder.program.stacking([None] * shape[0])
        request.whole = builder.program.fresh("g", COMPUTED, shape, dtype)
        covers[position] = request
    return covers
