"""Interleaved timing: every variant is measured round-robin so machine noise hits all alike."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path


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
