"""Capture and replay: `step = tinygrad_rnn.jit(fn)` records what fn does once, then replays it.

The first call with a given input signature (the shapes, dtypes and devices of the tensor
arguments, the values of the other arguments, and whether grad mode is on) runs fn eagerly
while a recorder writes down, in order, every op it runs (with where its inputs come from),
the plan of every backward pass (which node's gradient goes where, already in topological
order), and every call marked replayable (an optimizer's step and zero_grad, a scheduler's
step). Later calls with that signature replay the record on the new inputs: the same array
math, without building tensors, graphs or topological orders again.

The rules, so that a replay never silently differs from running fn:
- a new signature is captured anew (each signature keeps its own record);
- fn must not read tensor values on the host (item(), numpy(), `if tensor:`), draw random
  numbers (randn, dropout), retain intermediate gradients, or pass an explicit gradient to
  backward: any of these raises JitError during the capture;
- only tensor ops and replayable calls are replayed; other Python side effects of fn (printing,
  appending to a list) happen once, at capture, and Python state that fn reads (a module's
  `training` flag, a learning rate in a closure) is frozen: call `reset()` after changing it;
- tensors fn reaches without taking them as arguments (a module's parameters, constants made
  inside fn) are read afresh at every replay, so in-place updates are seen;
- the outputs of a replay carry no graph.

On "cuda", replays from the second on launch the record as CUDA graphs (see cuda_graph.py
for what that adds to these rules).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from .autograd import AccumulateGrad, Capture, JitError, ProductGrad, accumulate
from .dispatch import TENSOR_TYPES as _TENSOR_TYPES
from .grad_mode import GradMode
from .tensor import Tensor

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
        _output_slots(output, kept)
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


# ---------------------------------------------------------------- the public wrapper


def _flatten(value, tensors: list):
    """A hashable description of `value` with every tensor replaced by its position."""
    if isinstance(value, Tensor):
        tensors.append(value)
        return ("tensor", value.shape, value.dtype.name, value.device, value.requires_grad)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_flatten(v, tensors) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _flatten(v, tensors)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        raise JitError(
            f"jit arguments must be tensors or hashable values, not "
            f"{type(value).__name__}; pass arrays as tensors"
        ) from None
    return ("value", value)


def _describe_output(value, recorder: Recorder):
    if isinstance(value, Tensor):
        leaf = recorder.grad_owner(value)
        return (GRAD, leaf) if leaf is not None else recorder.source(value)
    if isinstance(value, (list, tuple)):
        return (type(value), [_describe_output(v, recorder) for v in value])
    if isinstance(value, dict):
        return (dict, {k: _describe_output(v, recorder) for k, v in value.items()})
    return CONSTANT, value


def _output_slots(description, slots: set) -> None:
    kind, payload = description
    if kind == SLOT:
        slots.add(payload)
    elif isinstance(kind, type):  # a container: its payload is a dict or a list
        for value in payload.values() if kind is dict else payload:
            _output_slots(value, slots)


def _rebuild_output(description, values: list, devices: list):
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
        return {k: _rebuild_output(v, values, devices) for k, v in payload.items()}
    items = [_rebuild_output(v, values, devices) for v in payload]
    return kind(*items) if hasattr(kind, "_fields") else kind(items)  # namedtuples too


class _Record:
    """One captured signature: its recorder, how to rebuild fn's output, and its CUDA graphs."""

    __slots__ = ("graph", "graph_error", "output", "recorder", "replays")

    def __init__(self, recorder: Recorder, output):
        self.recorder, self.output, self.replays = recorder, output, 0
        self.graph = None
        self.graph_error = None if "cuda" in recorder.devices else "not on a CUDA device"


class Jitted:
    """fn, captured once per input signature and replayed after that (see the module docs)."""

    def __init__(self, fn, cuda_graphs: bool = True):
        self.fn = fn
        self.cuda_graphs = cuda_graphs
        self.records: dict = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        tensors: list[Tensor] = []
        key = (_flatten(args, tensors), _flatten(kwargs, tensors), GradMode.enabled)
        record = self.records.get(key)
        if record is not None:
            values = self._replay(record, tensors)
            return _rebuild_output(record.output, values, record.recorder.devices)
        if Capture.recorder is not None:
            raise JitError("a jitted function cannot be captured inside another one")
        recorder = Recorder(tensors)
        Capture.recorder = recorder
        try:
            result = self.fn(*args, **kwargs)
        finally:
            Capture.recorder = None
        output = _describe_output(result, recorder)
        recorder.finish(output)
        self.records[key] = _Record(recorder, output)
        return result

    def _replay(self, record: _Record, tensors: list) -> list:
        """A plain replay, or on "cuda" (from the second replay on, once every kernel has been
        compiled and loaded) a launch of the record's CUDA graphs; see cuda_graph.py."""
        record.replays += 1
        if record.graph is not None and record.graph.stale():
            record.graph = None  # a tensor it reads has a new array: capture anew
        wanted = self.cuda_graphs and record.graph_error is None
        if record.graph is None and wanted and record.replays > 1:
            from .cuda_graph import CaptureError, GraphReplay

            outputs: set = set()
            _output_slots(record.output, outputs)
            try:
                record.graph = GraphReplay(record.recorder, tensors, outputs)
            except CaptureError as error:
                record.graph_error = str(error)
                warnings.warn(
                    f"jit replays {getattr(self.fn, '__name__', 'fn')} without CUDA graphs: "
                    f"{error}",
                    RuntimeWarning,
                    stacklevel=3,
                )
        if record.graph is not None:
            return record.graph.run(tensors)
        return record.recorder.replay(tensors)

    @property
    def captures(self) -> int:
        """How many input signatures have been captured."""
        return len(self.records)

    @property
    def graphed(self) -> int:
        """How many captured signatures replay as CUDA graphs."""
        return sum(record.graph is not None for record in self.records.values())

    def reset(self) -> None:
        """Forget every capture: call it after changing Python state that fn reads (say,
        switching a model between train() and eval()), so the next call captures anew."""
        self.records.clear()


def jit(fn=None, *, cuda_graphs: bool = True):
    """Capture `fn` (tensors in, tensors out) on its first call, replay it on the next ones.

    On "cuda", replays run as CUDA graphs unless `cuda_graphs=False` (see cuda_graph.py).
    Usable as `@jit` or `@jit(cuda_graphs=False)`.
    """
    if fn is None:
        return functools.partial(jit, cuda_graphs=cuda_graphs)
    return Jitted(fn, cuda_graphs)
