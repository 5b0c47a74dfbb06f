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

from ..autograd import Capture, JitError
from ..grad_mode import GradMode
from ..tensor import Tensor
from .record import Recorder, describe_output, flatten, output_slots, rebuild_output

# ---------------------------------------------------------------- the public wrapper


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
        key = (flatten(args, tensors), flatten(kwargs, tensors), GradMode.enabled)
        record = self.records.get(key)
        if record is not None:
            values = self._replay(record, tensors)
            return rebuild_output(record.output, values, record.recorder.devices)
        if Capture.recorder is not None:
            raise JitError("a jitted function cannot be captured inside another one")
        recorder = Recorder(tensors)
        Capture.recorder = recorder
        try:
            result = self.fn(*args, **kwargs)
        finally:
            Capture.recorder = None
        output = describe_output(result, recorder)
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
            output_slots(record.output, outputs)
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
