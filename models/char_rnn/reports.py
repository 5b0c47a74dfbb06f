"""What a character-model run prints and draws."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygrad_rnn import viz
from tinygrad_rnn.checkpoint import atomic_write

from ..common.plots import plt, save_figure

COLUMNS = ("epoch", "step", "train_bpc", "valid_bpc", "seconds", "cpu_seconds")
GRAPH_STEPS = 8  # the unrolled graph shows the first steps of a chunk


def report_line(row: dict) -> str:
    return (
        f"epoch {row['epoch']}  step {row['step']}  train {row['train_bpc']:.3f} bits/char  "
        f"validation {row['valid_bpc']:.3f} bits/char  ({row['seconds']:.0f} s, "
        f"{row['cpu_seconds']:.0f} s CPU)"
    )


def write_figures(folder: Path, config, history: list[dict]) -> None:
    """curves.png, bptt_graph.gv/.svg/.png and bptt_heatmap.png."""
    figure, axis = plt.subplots(figsize=(6, 4))
    steps = [row["step"] for row in history]
    axis.plot(steps, [row["train_bpc"] for row in history], marker="o", label="training")
    axis.plot(steps, [row["valid_bpc"] for row in history], marker="o", label="validation")
    axis.set(xlabel="training step (chunk)", ylabel="bits per character", title=config.model)
    axis.legend()
    save_figure(figure, folder / "curves.png")
    last = history[-1]
    shown = min(GRAPH_STEPS, len(last["state_grad_norms"]))
    graph = viz.unrolled_graph(
        shown,
        state_grads=last["state_grad_norms"][:shown],
        output_grads=last["output_grad_norms"][:shown],
        detached_start=True,
        title=f"Truncated BPTT: the first {shown} of {config.bptt} steps of a chunk, step "
        f"{last['step']}\nthe state carried in from the previous chunk is detached: no "
        "gradient goes back through it",
    )
    viz.render(graph, folder / "bptt_graph")
    atomic_write(
        folder / "bptt_heatmap.png",
        lambda path: viz.gradient_heatmap(
            steps,
            np.array([row["state_grad_norms"] for row in history]),
            np.array([row["output_grad_norms"] for row in history]),
            path,
            iteration_label="training step",
        ),
    )
