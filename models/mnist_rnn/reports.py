"""What a run writes: the book's per-epoch line, metrics as CSV and JSON, and two plots."""

from __future__ import annotations

from pathlib import Path

from ..common.plots import plt, save_figure
from ..common.runs import write_metrics

COLUMNS = (
    "epoch",
    "train_loss",
    "last_batch_accuracy",
    "valid_accuracy",
    "test_accuracy",
    "seconds",
)


def book_line(row: dict) -> str:
    """The book's line (epoch, last batch, validation and test accuracy) plus the time."""
    return (
        f"{row['epoch']:3d}  Last batch accuracy: {row['last_batch_accuracy']:.4f}  "
        f"Validation accuracy: {row['valid_accuracy']:.4f}  "
        f"Test accuracy: {row['test_accuracy']:.4f}  ({row['seconds']:.1f} s)"
    )


def write_all(folder: Path, config, history: list[dict]) -> None:
    write_metrics(folder, config, history, COLUMNS)
    plot_curves(history, folder / "curves.png")
    plot_gradient_norms(history, folder / "grad_norms.png")


def plot_curves(history: list[dict], path: Path) -> None:
    epochs = [row["epoch"] for row in history]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axis.plot(epochs, [row["train_loss"] for row in history], marker="o")
    loss_axis.set(xlabel="epoch", ylabel="mean training loss", title="loss")
    for key in ("valid_accuracy", "test_accuracy"):
        accuracy_axis.plot(
            epochs, [row[key] for row in history], marker="o", label=key.split("_")[0]
        )
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    accuracy_axis.legend()
    save_figure(figure, path)


def plot_gradient_norms(history: list[dict], path: Path) -> None:
    """|dL/dh_t| against t, one line per layer, for the first and the latest epoch."""
    figure, axis = plt.subplots(figsize=(6, 4))
    shown = [history[0]] if len(history) == 1 else [history[0], history[-1]]
    for row, style in zip(shown, ("--", "-")):
        for layer, norms in enumerate(row["grad_norms"]):
            axis.plot(range(len(norms)), norms, style, label=f"epoch {row['epoch']}, layer {layer}")
    axis.set(
        xlabel="time step t",
        ylabel="|dL/dh_t|",
        yscale="log",
        title="gradient reaching each hidden state",
    )
    axis.legend(fontsize="small")
    save_figure(figure, path)
