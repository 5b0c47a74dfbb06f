"""The book's series t*sin(t)/3 + 2*sin(5t) on t in [0, 30], and its training batches."""

from __future__ import annotations

import numpy as np

T_MIN, T_MAX, RESOLUTION = 0.0, 30.0, 0.1
# The book's test instance (its figures): 21 points from t = 12.2.
INSTANCE_START = 12.2


def time_series(t: np.ndarray) -> np.ndarray:
    """The series at times t (any shape)."""
    return t * np.sin(t) / 3 + 2 * np.sin(t * 5)


def training_batch(seed: int, iteration: int, batch_size: int, steps: int):
    """(inputs, targets), each float32 (B, steps, 1): random stretches of the series, the
    targets one step ahead. The stretch depends only on (seed, iteration), so a resumed run
    sees the batches an uninterrupted one would have."""
    rng = np.random.default_rng([seed, iteration])
    start = rng.random((batch_size, 1)) * (T_MAX - T_MIN - steps * RESOLUTION)
    times = start + np.arange(steps + 1) * RESOLUTION
    values = time_series(times).astype(np.float32)
    return values[:, :-1, None], values[:, 1:, None]


def instance(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(times (steps + 1,), values (steps + 1,)) of the book's test instance."""
    times = INSTANCE_START + np.arange(steps + 1) * RESOLUTION
    return times, time_series(times)
