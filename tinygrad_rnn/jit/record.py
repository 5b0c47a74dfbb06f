"""Capture: the recorder that writes down one run of a function as data.

While `tinygrad_rnn.jit` captures, the engine reports to the recorder every op it runs (with
where its inputs come from and the layout of what it made), the plan of every backward pass
(which node's gradient goes where, in topological order, and what kind of gradient each node's
backward returned) and every call marked replayable (an optimizer's step and zero_grad). The
compiler (program.py) turns that record into a program.
"""

from __future__ import annotations

from ..autograd import AccumulateGrad, JitError, PartialGrad, ProductGrad
from ..dispatch import TENSOR_TYPES
from ..tensor import Tensor

SLOT, EXTERNAL, CONSTANT, GRAD = 0, 1, 2, 3


def layout(array) -> tuple:
    """(shape, dtype, C-contiguous): what the compiler needs to know of an array."""
    return array.shape, array.dtype, bool(array.flags.c_contiguous)


def is_view_of(data, source) -> bool:
    """Whether `data` shares `source`'s memory the way a view op's result does (the test that
    dispatch uses to link views)."""
    owner = getattr(source, "base", None)
    base = getattr(data, "base", None)
    return data is source or base is source or (owner is not None and base is owner)


class RecordedOp:
    """One op as it ran: its Function class, where each input came from ((SLOT, slot),
    (EXTERNAL, tensor) or (CONSTANT, value)), its keyword arguments, the slot of its result,
    which inputs needed a gradient (None outside the graph) and whether the result was a
    view of the first input."""

    __slots__ = ("cls", "index", "kwargs", "needs", "out", "sources", "view")

    def __init__(self, cls, sources, kwargs, out, index, needs, view):
        self.cls, self.sources, self.kwargs = cls, sources, kwargs
        self.out, self.index, self.needs, self.view = out, index, needs, view


class RecordedBackward:
    """One backward pass, as the engine walked it: `steps` in walk order, each (position, op
    index, None, parents) for an op or (position, None, leaf, None) for a leaf (a tensor, or
    the position of the argument it is: each call's own), where parents holds (position,
    shape, dtype) or None per input; `returned[op index]` what that op's backward returned
    per input: None, ("array", layout), ("partial", basic) or ("product",)."""

    __slots__ = ("retain", "returned", "root_grad", "size", "steps")

    def __init__(self, root_grad, steps, size, retain):
        self.root_grad, self.steps, self.size, self.retain = root_grad, steps, size, retain
        self.returned: dict[int, list] = {}


class RecordedCall:
    """A replayable call (an optimizer's step, zero_grad), run live in every replay."""

    __slots__ = ("args", "kwargs", "method")

    def __init__(self, method, args, kwargs):
        self.method, self.args, self.kwargs = method, args, kwargs


def _returned(result):
    if result is None:
        return None
    if type(result) is PartialGrad:
        return ("partial", result.basic)
    if type(result) is ProductGrad:
        return ("product",)
    return ("array", layout(result))


class Recorder:
    """Writes down one run of fn: `events` in order, and the layout of every slot (a tensor
    fn received or an op made)."""

    def __init__(self, arguments: list[Tensor]):
        self.events: list = []
        self.slots: dict[int, int] = {}
        self.devices: list[str] = []
        self.layouts: list[tuple] = []
        self.node_keys: dict[int, int] = {}
        self.leaf_keys: dict[int, int] = {}
        self.keep: list = []  # everything whose id() is a key, kept alive while recording
        self.ops = 0
        self.arguments = [self._new_slot(t) for t in arguments]
        self.argument_positions = {id(t): k for k, t in enumerate(arguments)}
        self.backwards: list[RecordedBackward] = []

    def _new_slot(self, tensor: Tensor) -> int:
        self.keep.append(tensor)
        self.slots[id(tensor)] = len(self.devices)
        self.devices.append(tensor.device)
        self.layouts.append(layout(tensor.array))
        return len(self.devices) - 1

    def source(self, x):
        if type(x) in TENSOR_TYPES:
            slot = self.slots.get(id(x))
            if slot is not None:
                return SLOT, slot
            self.keep.append(x)
            return EXTERNAL, x
        return CONSTANT, x

    # ------------------------------------------------------------ called by the engine

    def op(self, cls, inputs, kwargs, out: Tensor) -> None:
        node = out._node
        needs = None
        if node is not None:
            self.keep.append(node)
            self.node_keys[id(node)] = self.ops
            needs = list(node.needs_input_grad)
        sources = [self.source(x) for x in inputs]
        first = inputs[0] if inputs else None
        view = bool(cls.view and type(first) in TENSOR_TYPES and is_view_of(out.array, first.array))
        event = RecordedOp(cls, sources, kwargs, self._new_slot(out), self.ops, needs, view)
        self.events.append(event)
        self.ops += 1

    def _key(self, node) -> int:
        if type(node) is AccumulateGrad:
            if id(node.tensor) not in self.leaf_keys:
                self.keep.append(node.tensor)
                self.leaf_keys[id(node.tensor)] = -1 - len(self.leaf_keys)
            return self.leaf_keys[id(node.tensor)]
        if id(node) not in self.node_keys:
            raise JitError(
                "backward reaches a graph built outside the captured function: "
                "compute everything the loss depends on inside it"
            )
        return self.node_keys[id(node)]

    def backward(self, order: list, position: dict, grad, retain_graph: bool) -> None:
        if type(order[-1]) is AccumulateGrad:
            raise JitError("backward() on a leaf tensor cannot be captured")
        steps = []
        for i in range(len(order) - 1, -1, -1):
            node = order[i]
            if node.retains is not None:
                raise JitError("retain_grad() (and track_hidden_grads) cannot be captured")
            if node.hooks:
                raise JitError("gradient hooks (register_hook) cannot be captured")
            if type(node) is AccumulateGrad:
                self._key(node)  # registers the leaf, for grad_owner
                argument = self.argument_positions.get(id(node.tensor))
                steps.append((i, None, node.tensor if argument is None else argument, None))
                continue
            parents = tuple(
                None
                if parent is None
                else (position[id(parent)], parent.output_shape, parent.output_dtype)
                for parent in node.parents
            )
            steps.append((i, self._key(node), None, parents))
        # the root gradient is ones (explicit gradients are refused), never written to
        plan = RecordedBackward(grad, steps, len(order), retain_graph)
        self.backwards.append(plan)
        self.events.append(plan)

    def returned(self, node, results) -> None:
        """What `node`'s backward just returned, in the pass being recorded."""
        self.backwards[-1].returned[self.node_keys[id(node)]] = [_returned(r) for r in results]

    def grad_owner(self, tensor: Tensor):
        """The leaf whose `.grad` `tensor` is, among the leaves backward reached (the position
        of the argument it is, if it is one), else None."""
        leaves = (t for t in self.keep if type(t) in TENSOR_TYPES and id(t) in self.leaf_keys)
        leaf = next((leaf for leaf in leaves if leaf.grad is tensor), None)
        return self.argument_positions.get(id(leaf), leaf)

    def finish(self, output) -> None:
        """Drop dead ops and forget capture-time objects."""
        kept = set()
        output_slots(output, kept)
        self._drop_dead_ops(kept)
        self.keep, self.slots, self.node_keys, self.leaf_keys = [], {}, {}, {}

    def _drop_dead_ops(self, live_slots: set) -> None:
        """Ops whose result nothing reads and no backward needs (say, an RNN's stacked outputs
        when only its last state is used) are not replayed."""
        in_plans = {step[1] for plan in self.backwards for step in plan.steps}
        live = []
        for event in reversed(self.events):
            if type(event) is RecordedOp:
                if not (event.out in live_slots or event.index in in_plans or not event.cls.pure):
                    continue
                live_slots.update(slot for kind, slot in event.sources if kind == SLOT)
            live.append(event)
        self.events = live[::-1]

    def call(self, method, args, kwargs) -> None:
        self.events.append(RecordedCall(method, args, kwargs))


# ---------------------------------------------------------------- signatures and outputs


def flatten(value, tensors: list):
    """A hashable description of `value` with every tensor replaced by its position (and its
    layout: a compiled step is specialised to the strides it was captured with)."""
    if isinstance(value, Tensor):
        tensors.append(value)
        array = value.array
        return (
            "tensor",
            array.shape,
            array.dtype,
            array.strides,
            value.device,
            value.requires_grad,
        )
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(flatten(v, tensors) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, flatten(v, tensors)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        raise JitError(
            f"jit arguments must be tensors or hashable values, not "
            f"{type(value).__name__}; pass arrays as tensors"
        ) from None
    return ("value", value)


def describe_output(value, recorder: Recorder):
    if isinstance(value, Tensor):
        leaf = recorder.grad_owner(value)
        return (GRAD, leaf) if leaf is not None else recorder.source(value)
    if isinstance(value, (list, tuple)):
        return (type(value), [describe_output(v, recorder) for v in value])
    if isinstance(value, dict):
        return (dict, {k: describe_output(v, recorder) for k, v in value.items()})
    return CONSTANT, value


def output_slots(description, slots: set) -> None:
    kind, payload = description
    if kind == SLOT:
        slots.add(payload)
    elif isinstance(kind, type):  # a container: its payload is a dict or a list
        for value in payload.values() if kind is dict else payload:
            output_slots(value, slots)


def rebuild_output(description, arrays: dict, devices: list, arguments: list):
    """fn's result, with each slot's tensor made from `arrays[slot]`."""
    kind, payload = description
    if kind == SLOT:
        return Tensor._make(arrays[payload], devices[payload], False, None)
    if kind == GRAD:  # a leaf's .grad: the one this call's backward left there
        return (arguments[payload] if type(payload) is int else payload).grad
    if kind in (EXTERNAL, CONSTANT):
        return payload
    if kind is dict:
        return {k: rebuild_output(v, arrays, devices, arguments) for k, v in payload.items()}
    items = [rebuild_output(v, arrays, devices, arguments) for v in payload]
    return kind(*items) if hasattr(kind, "_fields") else kind(items)  # namedtuples too
