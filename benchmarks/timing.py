"""Interleaved timing: every variant is measured round-robin so machine noise hits all alike."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def measure(
    variants: dict[str, Callable[[], object]], repeats: int, warmup: int = 3, settle: int = 0
) -> dict:
    """Median, min and max seconds per call of each variant, calls interleaved round-robin.

    `settle` untimed calls of a variant precede each timed one: on a machine with few cores,
    the thread pool of the library the previous variant used (PyTorch's OpenMP, NumPy's
    OpenBLAS) keeps spinning for milliseconds after its last call and slows whatever runs next.
    """
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            for _ in range(settle):
                fn()
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {
        name: {"median": statistics.median(s), "min": min(s), "max": max(s), "repeats": len(s)}
        for name, s in samples.items()
    }


def check_then_measure(
    variants: dict[str, Callable], batches: list, repeats: int, rtol: float
) -> tuple[dict, dict, dict]:
    """Training-step benchmarks: each variant's first call on batches[0] (it captures or
    compiles: timed apart), a second on batches[1], both losses checked against the first
    variant's; then the variants interleaved on batches[2]. (timing, first-call seconds,
    losses)."""
    first_calls, losses = {}, {}
    for name, step in variants.items():
        start = time.perf_counter()
        losses[name] = [step(*batches[0])]
        first_calls[name] = time.perf_counter() - start
        losses[name].append(step(*batches[1]))
    reference = next(iter(losses.values()))
    for name, values in losses.items():
        np.testing.assert_allclose(values, reference, rtol=rtol, err_msg=name)
    calls = {name: (lambda s=step: s(*batches[2])) for name, step in variants.items()}
    return measure(calls, repeats, warmup=2, settle=1), first_calls, losses


def step_rows(timing: dict, first_calls: dict, reference: str, epoch_steps: int = 0) -> list:
    """Table rows: median and range in ms, the ratio to `reference`, the first call, and, given
    `epoch_steps`, the seconds such an epoch takes at the median."""
    base = timing.get(reference, next(iter(timing.values())))["median"]
    rows = []
    for name, t in timing.items():
        row = [name, f"{t['median'] * 1e3:.1f}", f"{t['min'] * 1e3:.1f}-{t['max'] * 1e3:.1f}"]
        row.append(f"{t['median'] / base:.2f}x")
        if epoch_steps:
            row.append(f"{t['median'] * epoch_steps:.1f}")
        rows.append([*row, f"{first_calls[name]:.2f}"])
    return rows


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)))


def write_json(path: str | Path, payload: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {path}")
