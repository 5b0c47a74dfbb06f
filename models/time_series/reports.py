"""What a time-series run draws: the book's figures of the series, one instance and the
model's predictions, the creative sequences, and BPTT made visible."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import viz
from tinygrad_rnn.checkpoint import atomic_write

from ..common.plots import plt, save_figure
from .series import RESOLUTION, T_MAX, T_MIN, instance, time_series

COLUMNS = ("iteration", "mse", "seconds")


def write_run_figures(folder: Path, model, config, history: list[dict]) -> None:
    """predictions.png, bptt_graph.gv/.svg/.png and bptt_heatmap.png."""
    plot_predictions(model, config, folder / "predictions.png")
    if not history:
        return
    last = history[-1]
    graph = viz.unrolled_graph(
        config.steps,
        tuple(config.window),
        state_grads=last["state_grad_norms"],
        output_grads=last["output_grad_norms"],
        title=f"BPTT at iteration {last['iteration']}: cost = MSE over Y({config.window[0]})"
        f"..Y({config.window[1]})\nred: gradient flowing back (thicker = larger); "
        "grey dashed: no gradient",
    )
    viz.render(graph, folder / "bptt_graph")
    atomic_write(
        folder / "bptt_heatmap.png",
        lambda path: viz.gradient_heatmap(
            [row["iteration"] for row in history],
            np.array([row["state_grad_norms"] for row in history]),
            np.array([row["output_grad_norms"] for row in history]),
            path,
            window=tuple(config.window),
        ),
    )


def plot_predictions(model, config, path: Path) -> None:
    """Left: the series and one training instance; right: that instance, its targets and the
    model's one-step-ahead predictions (the book's figures 14-7 and 14-8)."""
    times, values = instance(config.steps)
    model.eval()
    with tg.no_grad():
        inputs = tg.tensor(values[:-1].reshape(1, -1, 1).astype(np.float32), device=config.device)
        predictions = model(inputs).detach().cpu().numpy().reshape(-1)
    model.train()
    figure, (whole, close) = plt.subplots(1, 2, figsize=(11, 4))
    t = np.linspace(T_MIN, T_MAX, int((T_MAX - T_MIN) / RESOLUTION))
    whole.plot(t, time_series(t), label=r"$t \cdot \sin(t) / 3 + 2 \cdot \sin(5t)$")
    whole.plot(times[:-1], values[:-1], "b-", linewidth=3, label="a training instance")
    whole.set(title="A time series (generated)", xlabel="time")
    whole.legend(loc="lower left", fontsize="small")
    close.plot(times[:-1], values[:-1], "bo", markersize=8, label="instance")
    close.plot(times[1:], values[1:], "w*", markeredgecolor="k", markersize=12, label="target")
    close.plot(times[1:], predictions, "r.", markersize=10, label="prediction")
    close.set(title="The model's one-step-ahead predictions", xlabel="time")
    close.legend(loc="upper left", fontsize="small")
    save_figure(figure, path)


def plot_creative(sequences: dict[str, np.ndarray], steps: int, path: Path) -> None:
    """One panel per creative sequence; the seed (first `steps` values) drawn apart."""
    figure, axes = plt.subplots(1, len(sequences), figsize=(11, 4), squeeze=False)
    for axis, (title, sequence) in zip(axes[0], sequences.items()):
        t = np.arange(len(sequence))
        axis.plot(t[:steps], sequence[:steps], "b-", linewidth=3, label="seed")
        axis.plot(t[steps - 1 :], sequence[steps - 1 :], "r-", label="generated")
        axis.set(title=title, xlabel="time step")
        axis.legend(fontsize="small")
    save_figure(figure, path)
