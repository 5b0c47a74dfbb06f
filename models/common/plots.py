"""matplotlib for files only (no display), and figures written atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

from tinygrad_rnn.checkpoint import atomic_write

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the file-only backend


def save_figure(figure, path: Path) -> None:
    """Write `figure` to `path` (format from its suffix) atomically, then free it."""
    figure.tight_layout()
    atomic_write(path, lambda temporary: figure.savefig(temporary, format=Path(path).suffix[1:]))
    plt.close(figure)


__all__ = ["plt", "save_figure"]
