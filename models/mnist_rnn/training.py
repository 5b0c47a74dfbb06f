"""Training, evaluation and prediction for the MNIST sequence classifiers.

A run lives in one folder: checkpoint.safetensors (saved atomically after every epoch and on
Ctrl-C), metrics.csv and metrics.json, curves.png and grad_norms.png. `resume` continues from
the checkpoint at the exact batch where it stopped: the batch order depends only on the seed and
the epoch, so the result equals an uninterrupted run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import F, optim
from tinygrad_rnn.data import load_dataset, to_pixels
from tinygrad_rnn.distributed.launch import training_ranks

from ..common import runs
from ..common.runs import CHECKPOINT
from . import reports
from .networks import build_model

VALIDATION = 5_000  # the book holds out the first 5,000 training images
EVAL_BATCH = 1_000


@dataclass
class Config:
    model: str = "basic"
    epochs: int = 10
    batch_size: int = 150
    lr: float = 1e-3
    device: str = "cpu"
    seed: int = 42
    dataset: str = "mnist"
    limit: int | None = None
    out: str = "runs/mnist-basic"
    progress: bool = True
    resume: bool = False
    jit: bool = True  # the training step compiled by tg.jit (--eager: False)
    distributed: bool = False


# Where a run stands: saved in every checkpoint, restored by a resume.
PROGRESS = {
    "epoch": 0,
    "batch": 0,
    "history": (),
    "epoch_seconds": 0.0,
    "loss_sum": 0.0,
    "last_batch_accuracy": 0.0,
}

# Changing these between a run and its resume would make the resumed run a different run.
MUST_MATCH = ("model", "batch_size", "lr", "seed", "dataset", "limit")


@dataclass
class Data:
    train_images: np.ndarray
    train_labels: np.ndarray
    valid_images: np.ndarray
    valid_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_data(dataset: str, limit: int | None = None) -> Data:
    images, labels = load_dataset(dataset, "train")
    test_images, test_labels = load_dataset(dataset, "test")
    train = slice(VALIDATION, None if limit is None else VALIDATION + limit)
    return Data(
        images[train],
        labels[train],
        images[:VALIDATION],
        labels[:VALIDATION],
        test_images,
        test_labels,
    )


def predict_classes(model, images: np.ndarray, device: str) -> np.ndarray:
    """Predicted class of every image, in batches, without building a graph."""
    model.eval()
    predictions = []
    with tg.no_grad():
        for start in range(0, len(images), EVAL_BATCH):
            pixels = tg.as_tensor(to_pixels(images[start : start + EVAL_BATCH]), device=device)
            predictions.append(model(pixels).argmax(dim=1).cpu().numpy())
    model.train()
    return np.concatenate(predictions) if predictions else np.zeros(0, dtype=np.int64)


def accuracy(model, images, labels, device) -> float:
    return float((predict_classes(model, images, device) == labels).mean())


def gradient_norms_over_time(model, images: np.ndarray, labels: np.ndarray, device: str):
    """|dL/dh_t| for every layer and time step on one batch (no update): vanishing or not."""
    model.rnn.track_hidden_grads = True
    x = tg.as_tensor(to_pixels(images), device=device)
    y = tg.as_tensor(labels.astype(np.int64), device=device)
    F.cross_entropy(model(x), y).backward()
    norms = model.rnn.hidden_grad_norms()
    model.rnn.track_hidden_grads = False
    model.rnn.hidden_states = []
    model.zero_grad()
    return norms


def make_step(model, optimizer):
    """One training step on a batch: returns (loss, number of correct predictions).

    `scale` is given for a rank's part of a global batch (--distributed): the loss is then
    the part's summed loss times `scale`, which makes the ranks' average the global mean.
    """

    def step(x: tg.Tensor, y: tg.Tensor, scale: float | None = None):
        logits = model(x)
        if scale is None:
            loss = F.cross_entropy(logits, y)
        else:
            loss = F.cross_entropy(logits, y, reduction="sum") * scale
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, (logits.argmax(dim=1) == y).sum()

    return step


def save_checkpoint(folder: Path, config: Config, model, optimizer, progress: dict) -> None:
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), **progress}
    runs.save_checkpoint(folder, config, state)


def train(config: Config, on_batch: Callable[[int, int], None] | None = None) -> list[dict]:
    """Train as the book does; returns the per-epoch history. Ctrl-C saves and exits (130).

    With `config.distributed`, each rank trains on its part of every global batch; rank 0
    alone writes files and reports, and returns the history (the others return []).
    """
    folder = Path(config.out)
    ranks = training_ranks(config.distributed, config.device)
    ranks.on_rank_zero(folder.mkdir, parents=True, exist_ok=True)
    data = ranks.rank_zero_first(load_data, config.dataset, config.limit)
    model = build_model(config.model, config.seed, config.device)
    optimizer = optim.Adam(model.parameters(), lr=config.lr)
    batches = ranks.batches(
        data.train_images, data.train_labels, config.batch_size, config.seed, config.device
    )
    progress = dict(PROGRESS)
    progress["history"] = []
    if config.resume:
        load = functools.partial(
            runs.resume_run, folder, config, MUST_MATCH, model, optimizer, PROGRESS
        )
        progress = ranks.from_rank_zero(load, model, optimizer)
        if ranks.writes:
            print(f"resuming {folder} at epoch {progress['epoch']}, batch {progress['batch']}")
    probe = (data.valid_images[: config.batch_size], data.valid_labels[: config.batch_size])
    step = make_step(ranks.wrap(model), optimizer)
    step = tg.jit(step) if config.jit else step

    clock = runs.Stopwatch(progress["epoch_seconds"])

    def save_interrupted() -> str:
        progress["epoch_seconds"] = clock.seconds()
        ranks.on_rank_zero(save_checkpoint, folder, config, model, optimizer, progress)
        ranks.finish()
        return f"{folder / CHECKPOINT} at epoch {progress['epoch']}, batch {progress['batch']}"

    with runs.saved_on_interrupt(save_interrupted, quiet=not ranks.writes):
        while progress["epoch"] < config.epochs:
            epoch, clock = progress["epoch"], runs.Stopwatch(progress["epoch_seconds"])
            bar = runs.progress_bar(
                len(batches),
                progress["batch"],
                f"epoch {epoch}",
                config.progress and ranks.writes,
                "batch",
            )
            for index, batch in enumerate(
                batches.epoch(epoch, progress["batch"]), start=progress["batch"]
            ):
                loss, correct = step(*batch)
                loss, batch_accuracy = ranks.batch_totals(loss, correct, batch)
                progress["batch"], progress["loss_sum"] = index + 1, progress["loss_sum"] + loss
                progress["last_batch_accuracy"] = batch_accuracy
                bar.set_postfix(
                    loss=f"{progress['loss_sum'] / progress['batch']:.4f}",
                    img_per_s=f"{progress['batch'] * config.batch_size / clock.seconds():.0f}",
                )
                bar.update()
                if on_batch is not None:
                    on_batch(epoch, index)
                ranks.stop_if_interrupted()
            bar.close()
            row = {
                "epoch": epoch,
                "train_loss": progress["loss_sum"] / max(progress["batch"], 1),
                "last_batch_accuracy": progress["last_batch_accuracy"],
                "valid_accuracy": accuracy(
                    model, data.valid_images, data.valid_labels, config.device
                ),
                "test_accuracy": accuracy(model, data.test_images, data.test_labels, config.device),
                "seconds": clock.seconds(),
                "grad_norms": gradient_norms_over_time(model, *probe, config.device).tolist(),
            }
            progress["history"].append(row)
            if ranks.writes:
                runs.print_line(reports.book_line(row))
            progress.update(epoch=epoch + 1, batch=0, epoch_seconds=0.0, loss_sum=0.0)
            ranks.on_rank_zero(save_checkpoint, folder, config, model, optimizer, progress)
            ranks.on_rank_zero(reports.write_all, folder, config, progress["history"])
    ranks.finish()
    return progress["history"] if ranks.writes else []


def load_trained(checkpoint: Path, device: str = "cpu"):
    """The model saved in a checkpoint (or a run folder), and the config it was trained with."""
    state = runs.read_checkpoint(checkpoint, device=device)
    config = runs.config_from(state, Config, device=device)
    model = build_model(config.model, config.seed, device)
    model.load_state_dict(state["model"])
    return model, config


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[true, predicted]."""
    return np.bincount(labels * classes + predictions, minlength=classes * classes).reshape(
        classes, classes
    )
