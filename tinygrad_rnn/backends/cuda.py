"""torch.backends.cuda's path: the matmul precision flags, recorded (this library's CUDA
products do not use TF32 or reduced-precision reductions either way)."""

from __future__ import annotations

from types import SimpleNamespace

from .. import backend

matmul = SimpleNamespace(
    allow_tf32=False,
    allow_fp16_reduced_precision_reduction=True,
    allow_bf16_reduced_precision_reduction=True,
)


def is_built() -> bool:
    """Whether CuPy, which runs this library's CUDA work, could be used."""
    return backend.cuda_is_available()
