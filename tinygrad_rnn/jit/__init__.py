"""Capture and compile: `step = tinygrad_rnn.jit(fn)` records what fn does once, then runs a
program compiled from the record.

The first call with a given input signature (the shapes, dtypes, strides and devices of the
tensor arguments, the values of the other arguments, and whether grad mode is on) runs fn
eagerly while a recorder writes down, in order, every op it runs (with where its inputs come
from), the plan of every backward pass (which node's gradient goes where, in topological
order), and every call marked replayable (an optimizer's step and zero_grad, a scheduler's
step). The record is then compiled (record.py -> program.py -> passes.py -> lowering.py): the
same array math as straight-line Python, each result written into a buffer planned once,
time-stacked operands written in place for a weight's stacked gradient product, and the
engine's gradient bookkeeping worked out ahead. `step.source()` prints it. Later calls with
that signature run the compiled program on the new inputs.

A compiled call computes what eager execution computes with the same operations in the same
order: on the CPU the recurrent layers, cells, losses and optimizers give the same bits (see
backward.py for the sign of a zero). An op left to its own Function (batch norm, say) may get
its gradient in a planned buffer laid out otherwise than eager's array (contiguous where eager
had a transposed view); NumPy then sums its reductions in another order, and results agree to
rounding (the tests bound it per dtype).

The rules, so that a compiled call never silently differs from running fn:
- a new signature is captured anew (each signature keeps its own program), and so is one
  whose tensors read from outside (below) have changed shape, dtype or strides;
- fn must not read tensor values on the host (item(), numpy(), `if tensor:`), draw random
  numbers (randn, dropout), retain intermediate gradients, change tensors in place (add_,
  x[i] = v, +=: write them out of place), or pass an explicit gradient to backward: any of
  these raises JitError during the capture;
- only tensor ops and replayable calls are replayed; other Python side effects of fn (printing,
  appending to a list) happen once, at capture, and Python state that fn reads (a module's
  `training` flag, a learning rate in a closure) is frozen: call `reset()` after changing it;
- tensors fn reaches without taking them as arguments (a module's parameters, constants made
  inside fn) are read afresh at every call (and after every replayable call), so in-place
  updates are seen;
- post-accumulate-grad hooks run live, once per leaf per backward, when its gradient is final;
- the outputs of a call carry no graph and are the caller's own arrays; a compiled step keeps
  its buffers between calls, so one step object must not run in two threads at once.

On "cuda", calls from the second on launch the program as CUDA graphs (cuda.py says what that
adds to these rules).
"""

from __future__ import annotations

import functools
import time
import warnings

from ..autograd import Capture, JitError
from ..grad_mode import GradMode
from ..tensor import Tensor
from .compiler import compile_record
from .record import Recorder, describe_output, flatten, rebuild_output

__all__ = ["JitError", "Jitted", "jit"]


class _Record:
    """One captured signature: its compiled program, how to rebuild fn's output, the layouts
    of the tensors it reads from outside, and on "cuda" its graphs."""

    __slots__ = (
        "compile_seconds",
        "compiled",
        "devices",
        "externals",
        "graph",
        "graph_error",
        "output",
        "replays",
    )

    def __init__(self, compiled, recorder: Recorder, output, compile_seconds: float):
        self.compiled, self.output, self.devices = compiled, output, recorder.devices
        self.compile_seconds = compile_seconds  # record to program to code, after the capture
        self.externals = [
            (value.source, (value.shape, value.dtype, value.source.array.strides))
            for value in compiled.program.externals.values()
        ]
        self.replays = 0
        self.graph = None
        self.graph_error = None if compiled.device == "cuda" else "not on a CUDA device"

    def current(self) -> bool:
        """Whether every tensor read from outside still has the layout it was compiled for."""
        for tensor, (shape, dtype, strides) in self.externals:
            array = tensor.array
            if array.shape != shape or array.dtype != dtype or array.strides != strides:
                return False
        return True


class Jitted:
    """fn, captured once per input signature and run compiled after that (see the module docs)."""

    def __init__(self, fn, cuda_graphs: bool = True):
        self.fn = fn
        self.cuda_graphs = cuda_graphs
        self.records: dict = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        tensors: list[Tensor] = []
        key = (flatten(args, tensors), flatten(kwargs, tensors), GradMode.enabled)
        record = self.records.get(key)
        if record is not None and record.current():
            arrays = self._run(record, tensors)
            return rebuild_output(record.output, arrays, record.devices, tensors)
        if Capture.recorder is not None:
            raise JitError("a jitted function cannot be captured inside another one")
        recorder = Recorder(tensors)
        Capture.recorder = recorder
        try:
            result = self.fn(*args, **kwargs)
        finally:
            Capture.recorder = None
        start = time.perf_counter()
        output = describe_output(result, recorder)
        recorder.finish(output)
        compiled = compile_record(recorder, output)
        seconds = time.perf_counter() - start
        self.records[key] = _Record(compiled, recorder, output, seconds)
        return result

    def _run(self, record: _Record, tensors: list) -> dict:
        """The compiled program, or on "cuda" (from the second call on, once every kernel has
        been compiled and loaded) a launch of its CUDA graphs; see cuda.py."""
        record.replays += 1
        if record.graph is not None and record.graph.stale():
            record.graph = None  # a tensor it reads has a new array: capture anew
        wanted = self.cuda_graphs and record.graph_error is None
        if record.graph is None and wanted and record.replays > 1:
            from .cuda import CaptureError, GraphedStep

            try:
                record.graph = GraphedStep(record.compiled, tensors)
            except CaptureError as error:
                record.graph_error = str(error)
                warnings.warn(
                    f"jit runs {getattr(self.fn, '__name__', 'fn')} without CUDA graphs: {error}",
                    RuntimeWarning,
                    stacklevel=3,
                )
        if record.graph is not None:
            return record.graph.run(tensors)
        return record.compiled.run([t.array for t in tensors], tensors)

    @property
    def captures(self) -> int:
        """How many input signatures have been captured."""
        return len(self.records)

    @property
    def graphed(self) -> int:
        """How many captured signatures run as CUDA graphs."""
        return sum(record.graph is not None for record in self.records.values())

    def source(self) -> str:
        """The Python each captured signature was compiled to (a buffer plan and a step)."""
        if not self.records:
            return "# nothing captured yet: call the function once"
        return "\n\n".join(record.compiled.source for record in self.records.values())

    def reset(self) -> None:
        """Forget every capture: call it after changing Python state that fn reads (say,
        switching a model between train() and eval()), so the next call captures anew."""
        self.records.clear()


def jit(fn=None, *, cuda_graphs: bool = True):
    """Capture `fn` (tensors in, tensors out) on its first call, run it compiled on the next.

    On "cuda", calls run as CUDA graphs unless `cuda_graphs=False` (see cuda.py).
    Usable as `@jit` or `@jit(cuda_graphs=False)`.
    """
    if fn is None:
        return functools.partial(jit, cuda_graphs=cuda_graphs)
    return Jitted(fn, cuda_graphs)
