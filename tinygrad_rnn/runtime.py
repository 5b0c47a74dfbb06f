"""Process-wide settings PyTorch programs make: threads, determinism, matmul precision, and
`compile`. The engine is deterministic and computes float32 products in float32 already, so
those settings are recorded for programs that read them back and change nothing else."""

from __future__ import annotations

import os
import warnings

_settings = {
    "threads": None,
    "interop_threads": None,
    "deterministic": False,
    "warn_only": False,
    "matmul_precision": "highest",
}


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def set_num_threads(threads: int) -> None:
    """Limit the BLAS threads NumPy uses (through threadpoolctl, where it is installed)."""
    if threads <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {threads}")
    _settings["threads"] = int(threads)
    try:
        import threadpoolctl
    except ImportError:  # nothing to apply the limit with: it is still reported back
        return
    threadpoolctl.threadpool_limits(int(threads))


def get_num_threads() -> int:
    return _settings["threads"] or _cpu_count()


def set_num_interop_threads(threads: int) -> None:
    """Recorded: there is no inter-op thread pool here."""
    _settings["interop_threads"] = int(threads)


def get_num_interop_threads() -> int:
    return _settings["interop_threads"] or _cpu_count()


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded: every op here is deterministic already."""
    _settings["deterministic"], _settings["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _settings["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _settings["warn_only"]


def set_float32_matmul_precision(precision: str) -> None:
    """Recorded: float32 products are computed in float32 ("highest") whatever is set."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
            "set_float32_matmul_precision call has no effect.",
            stacklevel=2,
        )
        return
    _settings["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _settings["matmul_precision"]


def compile(model=None, **options):  # noqa: A001 - PyTorch's name
    """torch.compile: the model or function itself, run eagerly (same results; `tg.jit` is
    this library's capture and replay). Works as `compile(model)` and as a decorator."""
    if model is None:
        return lambda fn: fn
    return model
