"""The pipeline: a record becomes a program, passes place its values, a lowering compiles it."""

from __future__ import annotations

from .backward import build_backward
from .lowering import Compiled, numpy_namespace
from .passes import place, plan_buffers
from .program import Builder
from .record import Recorder, output_slots
from .rules import RULES


def compile_record(recorder: Recorder, output) -> Compiled:
    """The compiled step for one capture; `output` describes fn's result (record.py)."""
    slots: set = set()
    output_slots(output, slots)
    program = Builder(recorder, RULES, build_backward).build(slots)
    sequences = place(program)
    buffers = plan_buffers(program)
    if "cuda" in recorder.devices or _reads_cuda(program):
        from .cuda import KernelFusion, cuda_namespace

        return Compiled(program, sequences, buffers, cuda_namespace(), "cuda", KernelFusion())
    return Compiled(program, sequences, buffers, numpy_namespace())


def _reads_cuda(program) -> bool:
    return any(value.source.device == "cuda" for value in program.externals.values())
