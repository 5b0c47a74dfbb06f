"""jit on "cuda": a recorded step replayed as CUDA graphs.

On a GPU each small op costs ~10 µs of host time to launch, so an unrolled RNN step is
launch-bound. Here the array work between two replayable calls (an optimizer's step,
zero_grad) is captured once into a CUDA graph and later launched as one unit. The replayable
calls, and the handing of each leaf's gradient to `.grad`, run in Python between launches
exactly as in a plain replay, so step counters, learning-rate schedules and gradient
accumulation behave as in eager mode.

What a graph needs, and what happens without it:
- every op must be capturable: no host synchronisation (reading a value, copying between
  devices). An op that only checks its input on the host (cross_entropy's label check) runs
  outside the graphs, on a stream of its own, when what it checks is an argument; it raises
  before any replayable call or gradient changes what the user sees. Anything else makes the
  capture fail, and the record is replayed without graphs (jit warns, saying why);
- the graph reads fixed device addresses: the arguments are copied into buffers of its own at
  every call, and every other tensor it reads (parameters, constants) must keep its array, as
  in-place updates do. A replaced array is noticed before the launch: at the start of a call
  the graph is captured anew; a replayable call that replaces one mid-step raises JitError;
- outputs are copied out of the graph's memory, so a returned tensor keeps its value; a leaf's
  `.grad` is the graph's own array, rewritten by the next call (as in PyTorch's CUDA graphs).
"""

from __future__ import annotations

import contextlib

from ..autograd import JitError
from .record import EXTERNAL, SLOT, _Op, run_event


class CaptureError(Exception):
    """Why a record cannot be replayed as CUDA graphs."""


class _Segment:
    __slots__ = ("deposits", "graph")

    def __init__(self, graph, deposits):
        self.graph, self.deposits = graph, deposits


class GraphReplay:
    """A record captured as CUDA graphs (see the module docs); `run` replays it."""

    def __init__(self, recorder, arguments: list, outputs: set):
        import cupy

        self.pool = cupy.cuda.MemoryPool()  # the graphs' memory: used by nothing else
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self.check_stream = cupy.cuda.Stream(non_blocking=True)
        self.copied = cupy.cuda.Event(disable_timing=True)  # the arguments are in place
        with cupy.cuda.using_allocator(self.pool.malloc):
            self.buffers = [tensor.array.copy() for tensor in arguments]
        self.outputs = outputs
        self.checks: list = []  # host checks of arguments, run before the launches
        self.steps: list = []  # a _Segment or a replayable call, in order
        self.reads: dict = {}  # id(tensor): (tensor, the array the graphs read)
        self.values = self._capture(recorder)

    def _capture(self, recorder) -> list:
        values, functions = recorder.start(self.buffers)
        argument_of = {slot: i for i, slot in enumerate(recorder.arguments)}
        pending: list = []
        for event in recorder.events:
            if type(event) is tuple:  # a replayable call: runs live between the graphs
                if pending:
                    self.steps.append(self._capture_segment(pending, values, functions))
                    pending = []
                self.steps.append(event)
            elif type(event) is _Op and not event.cls.pure:
                self._add_check(event, values, argument_of)
            else:
                if type(event) is _Op:
                    if not event.cls.capturable:
                        raise CaptureError(f"{event.cls.__name__} cannot run inside a CUDA graph")
                    for kind, tensor in event.sources:
                        if kind == EXTERNAL:
                            self.reads[id(tensor)] = (tensor, tensor.array)
                pending.append(event)
        if pending:
            self.steps.append(self._capture_segment(pending, values, functions))
        return values

    def _add_check(self, event, values: list, argument_of: dict) -> None:
        """An op that checks its first input on the host and passes it through."""
        sources = []
        for kind, x in event.sources:
            if kind == SLOT and x not in argument_of:
                raise CaptureError(
                    f"{event.cls.__name__} checks a value computed inside the step on the host"
                )
            sources.append((kind, argument_of[x] if kind == SLOT else x))
        self.checks.append((event.cls, sources, event.kwargs))
        kind, first = event.sources[0]
        values[event.out] = values[first] if kind == SLOT else first.array

    def _capture_segment(self, events: list, values: list, functions: list) -> _Segment:
        import cupy

        deposits: list = []

        def deposit(leaf, grad, owned):
            deposits.append((leaf, grad, owned))

        stream = self.stream
        with stream, cupy.cuda.using_allocator(self.pool.malloc):
            stream.begin_capture()
            try:
                for event in events:
                    run_event(event, values, functions, deposit)
            except Exception as error:
                with contextlib.suppress(Exception):  # invalidated: nothing to keep
                    stream.end_capture()
                raise CaptureError(f"{type(error).__name__}: {error}") from error
            try:  # CUDA may only now report an operation that a capture cannot hold
                graph = stream.end_capture()
            except Exception as error:
                raise CaptureError(f"{type(error).__name__}: {error}") from error
        return _Segment(graph, deposits)

    def stale(self) -> bool:
        """Whether a tensor the graphs read has had its array replaced since the capture."""
        return any(tensor.array is not array for tensor, array in self.reads.values())

    def run(self, arguments: list) -> list:
        """Copy the arguments in, launch the graphs and run the calls in order; the checks run
        while the first graph computes, and before anything changes a tensor the user sees."""
        for buffer, tensor in zip(self.buffers, arguments):
            buffer[...] = tensor.array
        self.copied.record()
        unchecked = bool(self.checks)
        for step in self.steps:
            if type(step) is not _Segment:
                if unchecked:
                    unchecked = self._check(arguments)
                method, args, kwargs = step
                method(*args, **kwargs)
                continue
            if self.stale():
                raise JitError(
                    "a replayable call replaced the array of a tensor that the step reads; "
                    "update tensors in place (param.array[...] = ...) inside a jitted step"
                )
            step.graph.launch()  # writes only the graphs' own memory
            if unchecked:
                unchecked = self._check(arguments)
            for leaf, grad, owned in step.deposits:
                leaf._deposit_grad(grad, owned)
        values = list(self.values)
        for slot in self.outputs:
            values[slot] = values[slot].copy()
        return values

    def _check(self, arguments: list) -> bool:
        """Run the host checks on a stream of their own, so waiting for their answer does not
        wait for a graph already launched. Returns False (nothing left unchecked)."""
        with self.check_stream:
            self.check_stream.wait_event(self.copied)
            for cls, sources, kwargs in self.checks:
                arrays = [
                    arguments[x].array if kind == SLOT else x.array if kind == EXTERNAL else x
                    for kind, x in sources
                ]
                cls().forward(*arrays, **kwargs)
        return False
