"""The CUDA lowering: a compiled step on CuPy, fused kernels, and CUDA graphs of it.

The program is the CPU's, with its names bound to CuPy (`cuda_namespace`): matmuls go to
cuBLAS through our own handle (CuPy refuses cuBLAS while a stream is captured), stacks to a
kernel that takes its sources' addresses as arguments. Every statement made only of
elementwise calls is fused (fusion.py) into one generated ElementwiseKernel, so a tanh cell's
step is one launch forward and one backward.

On a GPU each launch costs ~10 µs of host time, so from the second call on the step runs as
CUDA graphs (`GraphedStep`): the array work between two replayable calls (an optimizer's step,
zero_grad) is captured once into a graph and later launched as one unit. The replayable calls,
and the handing of each leaf's gradient to `.grad`, run in Python between launches exactly as
in a plain call, so step counters, schedules and gradient accumulation behave as in eager mode.

What a graph needs, and what happens without it:
- every statement must be capturable: no host synchronisation (reading a value, copying between
  devices). An op that only checks its input on the host (cross_entropy's label check) runs
  outside the graphs, on a stream of its own, when what it checks is an argument; it raises
  before any replayable call or gradient changes what the user sees. Anything else makes the
  capture fail, and the step runs without graphs (jit warns, saying why);
- the graph reads fixed device addresses: the arguments are copied into buffers of its own at
  every call, and every tensor it reads from outside (parameters, constants) must keep its
  array, as in-place updates do. A replaced array is noticed before the launch: at the start
  of a call the graph is captured anew; a replayable call that replaces one mid-step raises
  JitError;
- outputs are copied out of the graph's memory, so a returned tensor keeps its value; a leaf's
  `.grad` is the graph's own array, rewritten by the next call (as in PyTorch's CUDA graphs).

Written for CuPy 13/14 and CUDA 12/13 and tested only where a GPU is lent (`pytest -m gpu`).
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import autograd, cell_ops
from ..autograd import JitError
from ..backend import sum_to
from .fusion import fuse
from .lowering import ARRAY_FUNCTIONS, add_part, deposit


class CaptureError(Exception):
    """Why a compiled step cannot run as CUDA graphs."""


def cuda_namespace() -> dict:
    """What the generated code's names mean on "cuda"."""
    import cupy

    from ..backend.cuda import cublas, fused

    namespace = {name: getattr(cupy, name) for name in ARRAY_FUNCTIONS if name != "dtype"}

    def matmul(a, b, out=None):
        result = cublas.matmul(a, b, out=out)
        return cupy.matmul(a, b, out=out) if result is None else result

    def stack(arrays, out=None):
        result = fused.stack(arrays, out=out)
        return cupy.stack(arrays, out=out) if result is None else result

    namespace.update(
        dtype=np.dtype,
        matmul=matmul,
        lstm_forward_into=cell_ops.lstm_forward_into,
        lstm_backward_into=cell_ops.lstm_backward_into,
        stack=stack,
        sum_to=sum_to,
        stacked_product=autograd.stacked_product,
        add_part=add_part,
        deposit=deposit,
    )
    return namespace


class KernelFusion:
    """The Compiled hook that turns an elementwise statement into one kernel launch."""

    def __init__(self):
        self.kernels: dict = {}  # (parameters, body): the kernel's bound name

    def __call__(self, compiled, statement, lines: list[str], keep: set[str]) -> list[str]:
        arrays = [*statement.reads, *statement.writes]
        if not lines or any(
            getattr(v, "dtype", None) is not None and np.dtype(v.dtype).kind == "b"
            for v in statement.reads
        ):
            return lines
        dtypes = {np.dtype(v.dtype) for v in arrays if v.dtype is not None and v.kind != "literal"}
        dtypes.discard(np.dtype(bool))
        fused_statement = fuse(lines, keep) if len(dtypes) == 1 else None
        if fused_statement is None or len(lines) < 2:
            return lines
        inputs, outputs, body = fused_statement.c_source()
        key = (inputs, outputs, body)
        if key not in self.kernels:
            self.kernels[key] = compiled.bind_kernel(_elementwise_kernel, key)
        names = [n for n in fused_statement.inputs if n not in fused_statement.outputs]
        names += list(fused_statement.outputs)
        return [f"{self.kernels[key]}({', '.join(names)})  # fused: {len(lines)} calls"]


def _elementwise_kernel(inputs: str, outputs: str, body: str):
    import cupy

    name = f"tinygrad_rnn_fused_{abs(hash((inputs, outputs, body))) % 10**12}"
    return cupy.ElementwiseKernel(inputs, outputs, body, name)


class _Argument:
    """Stands for the argument at `position` while capturing: a leaf whose gradient each
    launch hands to that call's own argument."""

    __slots__ = ("position",)

    def __init__(self, position: int):
        self.position = position


class _Segment:
    __slots__ = ("deposits", "graph")

    def __init__(self, graph, deposits):
        self.graph, self.deposits = graph, deposits


class GraphedStep:
    """A compiled step captured as CUDA graphs (see the module docs); `run` launches them."""

    def __init__(self, compiled, arguments: list):
        import cupy

        if compiled.program.uncapturable:
            raise CaptureError(f"{compiled.program.uncapturable[0]} cannot run inside a CUDA graph")

        self.pool = cupy.cuda.MemoryPool()  # the graphs' memory: used by nothing else
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self.check_stream = cupy.cuda.Stream(non_blocking=True)
        self.copied = cupy.cuda.Event(disable_timing=True)  # the arguments are in place
        with cupy.cuda.using_allocator(self.pool.malloc):
            self.buffers = [tensor.array.copy() for tensor in arguments]
        self.checks: list = []  # host checks of arguments, run before the launches
        self.steps: list = []  # a _Segment or a replayable call, in order
        self.reads = [(v.source, v.source.array) for v in compiled.program.externals.values()]
        self.outputs = self._capture(compiled)

    def _capture(self, compiled) -> dict:
        import cupy

        namespace, stream = compiled.namespace, self.stream
        deposits: list = []
        swapped = {"deposit": lambda leaf, grad, owned: deposits.append((leaf, grad, owned))}

        def boundary(call):
            def split():
                self.steps.append(_Segment(stream.end_capture(), list(deposits)))
                deposits.clear()
                self.steps.append(call)
                stream.begin_capture()

            return split

        for name in compiled.program.call_names:
            swapped[name] = boundary(namespace[name])
        for name in compiled.program.check_names:
            swapped[name] = self._deferred_check(namespace[name])
        saved = {name: namespace[name] for name in swapped}
        namespace.update(swapped)
        try:
            with stream, cupy.cuda.using_allocator(self.pool.malloc):
                stream.begin_capture()
                try:
                    outputs = compiled.run(
                        self.buffers, [_Argument(k) for k in range(len(self.buffers))]
                    )
                except Exception as error:
                    with contextlib.suppress(Exception):  # invalidated: nothing to keep
                        stream.end_capture()
                    raise CaptureError(f"{type(error).__name__}: {error}") from error
                try:  # CUDA may only now report an operation that a capture cannot hold
                    self.steps.append(_Segment(stream.end_capture(), list(deposits)))
                except Exception as error:
                    raise CaptureError(f"{type(error).__name__}: {error}") from error
        finally:
            namespace.update(saved)
        return outputs

    def _deferred_check(self, cls):
        """In place of an op that checks its first input on the host and passes it through:
        the check, noted to run on the arguments before each launch."""
        graph = self

        class Deferred:
            def forward(self, *arrays, **kwargs):
                sources = []
                for array in arrays:
                    matches = [i for i, b in enumerate(graph.buffers) if b is array]
                    if hasattr(array, "shape") and not matches:
                        raise CaptureError(
                            f"{cls.__name__} checks a value computed inside the step on the host"
                        )
                    sources.append((True, matches[0]) if matches else (False, array))
                graph.checks.append((cls, sources, kwargs))
                return arrays[0]

        return Deferred

    def stale(self) -> bool:
        """Whether a tensor the graphs read has had its array replaced since the capture."""
        return any(tensor.array is not array for tensor, array in self.reads)

    def run(self, arguments: list) -> dict:
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
                step()
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
                if type(leaf) is _Argument:
                    leaf = arguments[leaf.position]
                leaf._deposit_grad(grad, owned)
        return {slot: array.copy() for slot, array in self.outputs.items()}

    def _check(self, arguments: list) -> bool:
        """Run the host checks on a stream of their own, so waiting for their answer does not
        wait for a graph already launched. Returns False (nothing left unchecked)."""
        with self.check_stream:
            self.check_stream.wait_event(self.copied)
            for cls, sources, kwargs in self.checks:
                arrays = [arguments[x].array if is_argument else x for is_argument, x in sources]
                cls().forward(*arrays, **kwargs)
        return False
