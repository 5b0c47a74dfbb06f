"""Training the time-series RNN as the book does, with the cost over a window of outputs.

A run lives in one folder: checkpoint.safetensors (saved atomically at every report and on
Ctrl-C), metrics.csv and metrics.json, predictions.png, and BPTT made visible:
bptt_graph.svg/.png (the unrolled graph with the edges that carried gradient) and
bptt_heatmap.png (|dC/dh_t| and |dC/dY_t| over steps and iterations). Batches depend only on
the seed and the iteration, so a resumed run ends with the weights of an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import optim
from tinygrad_rnn.viz import GradientTrace

from ..common import runs
from ..common.runs import CHECKPOINT
from . import reports
from .networks import SeriesRNN
from .series import training_batch

PROBE_ITERATION = 2**40  # seeds the fixed batch whose gradients the heatmap shows


@dataclass
class Config:
    variant: str = "projection"
    iterations: int = 1500
    batch_size: int = 50
    steps: int = 20
    hidden: int = 100
    lr: float = 1e-3
    seed: int = 42
    window: tuple[int, int] = (0, 19)
    report_every: int = 100
    device: str = "cpu"
    out: str = "runs/time-series-projection"
    progress: bool = True
    resume: bool = False
    compiled: bool = True  # the step compiled by tg.jit (--eager: False; the same numbers)


# Changing these between a run and its resume would make the resumed run a different run.
MUST_MATCH = ("variant", "batch_size", "steps", "hidden", "lr", "seed", "window")


def window_mse(predictions: tg.Tensor, targets: tg.Tensor, window: tuple[int, int]) -> tg.Tensor:
    """Mean squared error over outputs t_min..t_max only; predictions, targets (B, T, 1)."""
    t_min, t_max = window
    return ((predictions[:, t_min : t_max + 1] - targets[:, t_min : t_max + 1]) ** 2).mean()


def build_model(config: Config) -> SeriesRNN:
    return SeriesRNN(config.variant, config.hidden, config.seed).to(config.device)


def gradient_probe(model: SeriesRNN, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """|dC/dh_t| and |dC/dY_t|, (T,) each, on a fixed batch, without changing the weights."""
    x, y = training_batch(config.seed, PROBE_ITERATION, config.batch_size, config.steps)
    trace = GradientTrace(model.rnn)
    predictions = trace.watch_outputs(model(tg.tensor(x, device=config.device)))
    model.zero_grad()
    window_mse(predictions, tg.tensor(y, device=config.device), config.window).backward()
    norms = trace.norms()
    model.zero_grad()
    return norms


def make_step(model: SeriesRNN, optimizer, window: tuple[int, int]):
    """One Adam step on a batch (x, y), both (B, T, 1); returns the loss before the step."""

    def step(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
        loss = window_mse(model(x), y, window)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def train(config: Config, on_iteration: Callable[[int], None] | None = None) -> list[dict]:
    """Train; returns the reported rows (iteration, mse, seconds, gradient norms)."""
    folder = Path(config.out)
    folder.mkdir(parents=True, exist_ok=True)
    model = build_model(config)
    optimizer = optim.Adam(model.parameters(), lr=config.lr)
    progress = {"iteration": 0, "history": [], "seconds": 0.0}
    if config.resume:
        progress = runs.resume_run(folder, config, MUST_MATCH, model, optimizer, progress)
        print(f"resuming {folder} at iteration {progress['iteration']}")
    clock = runs.Stopwatch(progress["seconds"])
    step = make_step(model, optimizer, config.window)
    step = tg.jit(step) if config.compiled else step

    def save() -> str:
        progress["seconds"] = clock.seconds()
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), **progress}
        runs.save_checkpoint(folder, config, state)
        return f"{folder / CHECKPOINT} at iteration {progress['iteration']}"

    bar = runs.progress_bar(
        config.iterations, progress["iteration"], config.variant, config.progress, "it"
    )
    with runs.saved_on_interrupt(save):
        while progress["iteration"] < config.iterations:
            iteration = progress["iteration"]
            x, y = (
                tg.tensor(a, device=config.device)
                for a in training_batch(config.seed, iteration, config.batch_size, config.steps)
            )
            step(x, y)
            progress["iteration"] = iteration + 1
            bar.update()
            if iteration % config.report_every == 0 or iteration + 1 == config.iterations:
                with tg.no_grad():  # the book evaluates the batch after the step
                    mse = window_mse(model(x), y, config.window).item()
                state_norms, output_norms = gradient_probe(model, config)
                row = {
                    "iteration": iteration,
                    "mse": mse,
                    "seconds": clock.seconds(),
                    "state_grad_norms": state_norms.tolist(),
                    "output_grad_norms": output_norms.tolist(),
                }
                progress["history"].append(row)
                runs.print_line(f"{iteration}\tMSE: {mse:.6g}")
                bar.set_postfix(mse=f"{mse:.4f}")
                save()
                runs.write_metrics(folder, config, progress["history"], reports.COLUMNS)
            if on_iteration is not None:
                on_iteration(iteration)
    bar.close()
    reports.write_run_figures(folder, model, config, progress["history"])
    return progress["history"]


def load_trained(folder: Path, device: str = "cpu") -> tuple[SeriesRNN, Config]:
    """The model saved in a run folder, and the config it was trained with."""
    state = runs.read_checkpoint(folder, device=device)
    config = runs.config_from(state, Config, device=device)
    model = build_model(config)
    model.load_state_dict(state["model"])
    return model, config


def generate(model: SeriesRNN, seed_values: np.ndarray, length: int, device: str = "cpu"):
    """Run the model on its own predictions: seed_values (T,) then `length` new values,
    each the last output for the latest T values (the book's creative loop); (T + length,)."""
    steps, sequence = len(seed_values), [float(v) for v in seed_values]
    model.eval()
    with tg.no_grad():
        for _ in range(length):
            window = np.array(sequence[-steps:], dtype=np.float32).reshape(1, steps, 1)
            sequence.append(model(tg.tensor(window, device=device))[0, -1, 0].item())
    model.train()
    return np.array(sequence)
