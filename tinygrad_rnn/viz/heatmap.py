"""|dC/dh_t| and |dC/dY_t| over time steps and training iterations, as one PNG."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np


def gradient_heatmap(
    iterations: Sequence[int],
    state_norms: np.ndarray,
    output_norms: np.ndarray,
    path: str | os.PathLike,
    window: tuple[int, int] | None = None,
    iteration_label: str = "training iteration",
) -> None:
    """Two heatmaps, rows = iterations (I,), columns = time steps: state_norms (I, T) and
    output_norms (I, T) on a log colour scale; exact zeros (no gradient) are drawn white."""
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    state_norms, output_norms = np.atleast_2d(state_norms), np.atleast_2d(output_norms)
    figure = Figure(figsize=(11, 0.25 * len(iterations) + 2.6))
    axes = figure.subplots(1, 2, sharey=True)
    for axis, norms, title in (
        (axes[0], state_norms, "|dC/dh_t|: gradient reaching each state"),
        (axes[1], output_norms, "|dC/dY_t|: gradient reaching each output"),
    ):
        positive = norms[norms > 0]
        scale = LogNorm(positive.min(), positive.max()) if positive.size else None
        image = axis.imshow(
            np.ma.masked_less_equal(norms, 0),
            aspect="auto",
            interpolation="nearest",
            cmap="viridis",
            norm=scale,
        )
        axis.set(title=title, xlabel="time step t")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_yticks(range(len(iterations)), [str(i) for i in iterations])
        if positive.size:
            figure.colorbar(image, ax=axis)
    axes[0].set_ylabel(iteration_label)
    if window is not None:  # the outputs the cost reads
        for axis in axes:
            axis.axvspan(window[0] - 0.5, window[1] + 0.5, fill=False, edgecolor="red", lw=1.5)
    window_note = "; red box: the outputs the cost reads" if window is not None else ""
    figure.suptitle(f"BPTT: white cells received exactly zero gradient{window_note}")
    figure.tight_layout()
    figure.savefig(os.fspath(path), format="png")
