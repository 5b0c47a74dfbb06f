"""Capture: the recorder that writes down one run of a function, and the plain replay of a record.

While `tinygrad_rnn.jit` captures, the engine reports to the recorder every op it runs (with
where its inputs come from), the plan of every backward pass (which node's gradient goes where,
in topological order) and every call marked replayable (an optimizer's step and zero_grad).
"""

from __future__ import annotations

import numpy as np

from ..autograd import AccumulateGrad, JitError, ProductGrad, accumulate
from ..dispatch import TENSOR_TYPES as _TENSOR_TYPES
from ..tensor import Tensor

SLOT, EXTERNAL, CONSTANT, GRAD = 0, 1, 2, 3


class _Op:
    __slots__ = ("cls", "index", "kwargs", "needs", "out", "release", "sources")

    def __init__(self, cls, sources, kwargs, out, index, needs):
        self.cls, self.sources, self.kwargs = cls, sources, kwargs
        self.out, self.index, self.needs = out, index, needs
        self.release = ()  # slots no later op reads: dropped once this op has run


class _Plan:
    """One backward pass, as the engine walks it: `steps` in reverse topological order, each
    (position, op index, None, parents) for an op or (position, None, leaf tensor, None) for
    a leaf, where parents holds (position, shape, dtype) or None per input."""

    __slots__ = ("retain", "root_grad", "size", "steps")

    def __init__(self, root_grad, steps, size, retain):
        self.root_grad, self.steps, self.size, self.retain = root_grad, steps, size, retain


class Recorder:
    """Writes down one run of fn; `replay` runs the record again on new arguments."""

    def __init__(self, arguments: list[Tensor]):
        self.events: list = []
        self.slots: dict[int, int] = {}
        self.devices: list[str] = []
        self.node_keys: dict[int, int] = {}
        self.leaf_keys: dict[int, int] = {}
        self.keep: list = []  # everything whose id() is a key, kept alive while recording
        self.ops = 0
        self.arguments = [self._new_slot(t) for t in arguments]

    def _new_slot(self, tensor: Tensor) -> int:
        self.keep.append(tensor)
        self.slots[id(tensor)] = len(self.devices)
        self.devices.append(tensor.device)
        return len(self.devices) - 1

    def source(self, x):
        if type(x) in _TENSOR_TYPES:
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
            needs = node.needs_input_grad
        sources = [self.source(x) for x in inputs]
        self.events.append(_Op(cls, sources, kwargs, self._new_slot(out), self.ops, needs))
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
                steps.append((i, None, node.tensor, None))
                continue
            parents = tuple(
                None
                if parent is None
                else (position[id(parent)], parent.output_shape, parent.output_dtype)
                for parent in node.parents
            )
            steps.append((i, self._key(node), None, parents))
        # the root gradient is ones (explicit gradients are refused), never written to
        self.events.append(_Plan(grad, steps, len(order), retain_graph))

    def grad_owner(self, tensor: Tensor):
        """The leaf whose `.grad` `tensor` is, among the leaves backward reached, else None."""
        leaves = (t for t in self.keep if type(t) in _TENSOR_TYPES and id(t) in self.leaf_keys)
        return next((leaf for leaf in leaves if leaf.grad is tensor), None)

    def finish(self, output) -> None:
        """Drop dead ops, plan when each array may be freed, forget capture-time objects."""
        kept = set()
        output_slots(output, kept)
        self._drop_dead_ops(set(kept))
        last_use = {}
        for event in self.events:
            if type(event) is _Op:
                for kind, slot in event.sources:
                    if kind == SLOT:
                        last_use[slot] = event
                last_use.setdefault(event.out, event)
        for slot, event in last_use.items():
            if slot not in kept:
                event.release += (slot,)
        self.keep, self.slots, self.node_keys, self.leaf_keys = [], {}, {}, {}

    def _drop_dead_ops(self, live_slots: set) -> None:
        """Ops whose result nothing reads and no backward needs (say, an RNN's stacked outputs
        when only its last state is used) are not replayed."""
        in_plans = {
            step[1] for event in self.events if type(event) is _Plan for step in event.steps
        }
        live = []
        for event in reversed(self.events):
            if type(event) is _Op and not (
                event.out in live_slots or event.index in in_plans or not event.cls.pure
            ):
                continue
            if type(event) is _Op:
                live_slots.update(slot for kind, slot in event.sources if kind == SLOT)
            live.append(event)
        self.events = live[::-1]

    def call(self, method, args, kwargs) -> None:
        self.events.append((method, args, kwargs))

    # ------------------------------------------------------------ replay

    def start(self, arguments: list) -> tuple[list, list]:
        """The value of every slot (the arguments' arrays filled in) and every op's Function."""
        values = [None] * len(self.devices)
        for slot, array in zip(self.arguments, arguments):
            values[slot] = array
        return values, [None] * self.ops

    def replay(self, arguments: list[Tensor]) -> list:
        values, functions = self.start([t.array for t in arguments])
        for event in self.events:
            run_event(event, values, functions)
        return values


def run_event(event, values: list, functions: list, deposit=None) -> None:
    """Replay one recorded event: an op, a backward plan, or a replayable call."""
    if type(event) is _Op:
        arrays = [
            values[x] if kind == SLOT else x.array if kind == EXTERNAL else x
            for kind, x in event.sources
        ]
        fn = event.cls()
        data = fn.forward(*arrays, **event.kwargs)
        if isinstance(data, np.generic):
            data = np.asarray(data)
        values[event.out] = data
        for slot in event.release:
            values[slot] = None
        if event.needs is not None:
            fn.needs_input_grad = event.needs
            functions[event.index] = fn
    elif type(event) is _Plan:
        _run_plan(event, functions, deposit)
    else:
        method, args, kwargs = event
        method(*args, **kwargs)


def _run_plan(plan: _Plan, functions: list, deposit=None) -> None:
    """The engine's backward walk (autograd.backward) over a recorded plan.

    A leaf's gradient goes to `leaf._deposit_grad`, or to `deposit(leaf, grad, owned)` if given.
    """
    grads, owned = [None] * plan.size, [False] * plan.size
    grads[-1] = plan.root_grad
    for i, index, leaf, parents in plan.steps:
        grad = grads[i]
        if grad is None:
            continue
        if type(grad) is ProductGrad:
            grad, owned[i] = grad.evaluate(), True
        grads[i] = None
        if leaf is not None:
            if deposit is None:
                leaf._deposit_grad(grad, owned[i])
            else:
                deposit(leaf, grad, owned[i])
            continue
        for target, parent_grad in zip(parents, functions[index].backward(grad)):
            if target is not None and parent_grad is not None:
                accumulate(grads, owned, *target[:1], parent_grad, *target[1:])
        if not plan.retain:
            functions[index] = None


# ---------------------------------------------------------------- signatures and outputs


def flatten(value, tensors: list):
    """A hashable description of `value` with every tensor replaced by its position."""
    if isinstance(value, Tensor):
        tensors.append(value)
        return ("tensor", value.shape, value.dtype.name, value.device, value.requires_grad)
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


def rebuild_output(description, values: list, devices: list):
    kind, payload = description
    if kind == SLOT:
        return Tensor._make(values[payload], devices[payload], False, None)
    if kind == GRAD:  # a leaf's .grad: the one this replay's backward left there
        return payload.grad
    if kind == EXTERNAL:
        return payload
    if kind == CONSTANT:
        return payload
    if kind is dict:
        return {k: rebuild_output(v, values, devices) for k, v in payload.items()}
    items = [rebuild_output(v, values, devices) for v in payload]
    return kind(*items) if hasattr(kind, "_fields") else kind(items)  # namedtuples too
