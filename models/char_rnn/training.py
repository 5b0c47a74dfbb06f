"""Stateful truncated BPTT over a long text, validation bits per character, and sampling.

The text is cut into B contiguous streams, read `bptt` characters at a time; the recurrent
state is carried from one chunk to the next and detached between them (the graph of a chunk
is freed after its update). A run lives in one folder: checkpoint.safetensors (saved
atomically at every report, at the end of every epoch and on Ctrl-C, with the carried state,
so a resumed run continues exactly where it stopped), metrics.csv/json, curves.png,
bptt_graph.* and bptt_heatmap.png.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import F, nn, optim
from tinygrad_rnn.viz import GradientTrace

from ..common import runs
from ..common.runs import CHECKPOINT
from . import reports
from .corpus import Vocabulary, load_text
from .networks import CharRNN

BITS_PER_NAT = 1 / math.log(2)
PROBE_STREAMS = 8  # the heatmap's fixed chunk: the validation text's first streams


@dataclass
class Config:
    text: str | None = None  # None: the Shakespeare corpus
    model: str = "lstm"
    hidden: int = 256
    layers: int = 1
    bptt: int = 100
    batch_size: int = 32
    epochs: int = 1
    lr: float = 4e-3
    clip: float = 5.0
    seed: int = 42
    limit: int | None = None
    valid_fraction: float = 0.1
    report_every: int = 100
    sample_length: int = 300
    temperature: float = 0.8
    device: str = "cpu"
    out: str = "runs/char-lstm"
    progress: bool = True
    resume: bool = False
    compiled: bool = True  # the step compiled by tg.jit (--eager: False; the same numbers)


# Changing these between a run and its resume would make the resumed run a different run.
MUST_MATCH = ("text", "model", "hidden", "layers", "bptt", "batch_size", "lr", "clip", "seed")
MUST_MATCH += ("limit", "valid_fraction")


def split_text(text: str, limit: int | None, valid_fraction: float) -> tuple[str, str]:
    """(training text, validation text): the first N characters, the last part held out."""
    text = text[:limit] if limit else text
    cut = int(len(text) * (1 - valid_fraction))
    if cut < 2 or len(text) - cut < 2:
        raise ValueError(
            f"{len(text)} characters are too few to hold out {valid_fraction:.0%} for validation"
        )
    return text[:cut], text[cut:]


def streams(encoded: np.ndarray, batch_size: int) -> np.ndarray:
    """int (N,) -> (B, N // B): B contiguous streams, read side by side."""
    length = len(encoded) // batch_size
    if length < 2:
        raise ValueError(f"{len(encoded)} characters cannot fill {batch_size} streams")
    return encoded[: batch_size * length].reshape(batch_size, length)


def chunk_starts(streams: np.ndarray, bptt: int) -> range:
    """Where each chunk starts; a chunk reads [start, start + bptt) and predicts one ahead."""
    return range(0, streams.shape[1] - 1, bptt)


def chunk_tensors(model: CharRNN, streams: np.ndarray, start: int, bptt: int, device: str):
    """A chunk's one-hot inputs (B, T, V) and the characters they predict (B * T,)."""
    inputs = streams[:, start : start + bptt]
    targets = streams[:, start + 1 : start + bptt + 1]
    inputs = inputs[:, : targets.shape[1]]
    return model.one_hot(inputs, device), tg.tensor(targets.reshape(-1), device=device)


def sequence_loss(model: CharRNN, inputs: tg.Tensor, targets: tg.Tensor, state):
    """(mean cross-entropy in nats over the chunk, the state after it)."""
    logits, state = model(inputs, state)
    return F.cross_entropy(logits.reshape(-1, model.vocabulary_size), targets), state


def chunk_loss(model: CharRNN, streams: np.ndarray, start: int, bptt: int, state, device: str):
    """(mean cross-entropy in nats over the chunk, the state after it)."""
    return sequence_loss(model, *chunk_tensors(model, streams, start, bptt, device), state)


def make_step(model: CharRNN, optimizer, clip: float):
    """One update on a chunk: (loss, the state after it, detached: carried, not
    backpropagated)."""

    def step(inputs: tg.Tensor, targets: tg.Tensor, state):
        loss, state = sequence_loss(model, inputs, targets, state)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss, nn.utils.detach_state(state)

    return step


def bits_per_character(model: CharRNN, streams: np.ndarray, bptt: int, device: str) -> float:
    """Mean cross-entropy in bits over every predicted character of the streams."""
    model.eval()
    total, count, state = 0.0, 0, None
    with tg.no_grad():
        for start in chunk_starts(streams, bptt):
            loss, state = chunk_loss(model, streams, start, bptt, state, device)
            characters = streams.shape[0] * min(bptt, streams.shape[1] - 1 - start)
            total, count = total + loss.item() * characters, count + characters
    model.train()
    return total / count * BITS_PER_NAT


def sample(model, vocabulary, prime: str, length: int, temperature: float, seed, device="cpu"):
    """prime followed by `length` characters drawn one at a time from softmax(logits / T)."""
    if not prime:
        raise ValueError("the prime text must hold at least one character")
    rng = np.random.default_rng(seed)
    drawn = []
    model.eval()
    with tg.no_grad():
        logits, state = model(model.one_hot(vocabulary.encode(prime)[None], device))
        for _ in range(length):
            scaled = logits[0, -1].detach().cpu().numpy().astype(np.float64) / temperature
            probabilities = np.exp(scaled - scaled.max())
            drawn.append(rng.choice(len(vocabulary), p=probabilities / probabilities.sum()))
            logits, state = model(model.one_hot(np.array([[drawn[-1]]]), device), state)
    model.train()
    return prime + vocabulary.decode(drawn)


def gradient_probe(model: CharRNN, valid: np.ndarray, config: Config):
    """|dC/dh_t| and |dC/dY_t| over one chunk of validation text, from a zero state."""
    trace = GradientTrace(model.rnn)
    probe = valid[:PROBE_STREAMS, : config.bptt + 1]
    logits, _ = model(model.one_hot(probe[:, :-1], config.device))
    trace.watch_outputs(logits)
    loss = F.cross_entropy(
        logits.reshape(-1, model.vocabulary_size),
        tg.tensor(probe[:, 1:].reshape(-1), device=config.device),
    )
    model.zero_grad()
    loss.backward()
    norms = trace.norms()
    model.zero_grad()
    return norms


def build_model(config: Config, vocabulary_size: int) -> CharRNN:
    model = CharRNN(vocabulary_size, config.model, config.hidden, config.layers, config.seed)
    return model.to(config.device)


def prime_for(vocabulary: Vocabulary) -> str:
    return "\n" if "\n" in vocabulary.index else vocabulary.characters[0]


def train(config: Config, on_step: Callable[[int, int], None] | None = None) -> list[dict]:
    """Train; returns the reported rows (epoch, step, train and validation bits/char)."""
    folder = Path(config.out)
    folder.mkdir(parents=True, exist_ok=True)
    train_text, valid_text = split_text(load_text(config.text), config.limit, config.valid_fraction)
    vocabulary = Vocabulary(train_text + valid_text)
    train_streams = streams(vocabulary.encode(train_text), config.batch_size)
    valid_streams = streams(vocabulary.encode(valid_text), config.batch_size)
    starts = chunk_starts(train_streams, config.bptt)
    model = build_model(config, len(vocabulary))
    optimizer = optim.Adam(model.parameters(), lr=config.lr)
    progress = {"epoch": 0, "chunk": 0, "step": 0, "state": None, "history": []}
    progress.update(loss_sum=0.0, loss_count=0, seconds=0.0, cpu_seconds=0.0)
    if config.resume:
        progress = runs.resume_run(folder, config, MUST_MATCH, model, optimizer, progress)
        print(f"resuming {folder} at epoch {progress['epoch']}, chunk {progress['chunk']}")
    clock = runs.Stopwatch(progress["seconds"], progress["cpu_seconds"])
    step = make_step(model, optimizer, config.clip)
    step = tg.jit(step) if config.compiled else step

    def save() -> str:
        progress.update(seconds=clock.seconds(), cpu_seconds=clock.cpu_seconds())
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), **progress}
        runs.save_checkpoint(folder, config, {**state, "vocabulary": vocabulary.characters})
        return f"{folder / CHECKPOINT} at epoch {progress['epoch']}, chunk {progress['chunk']}"

    def report(epoch: int) -> None:
        state_norms, output_norms = gradient_probe(model, valid_streams, config)
        row = {
            "epoch": epoch,
            "step": progress["step"],
            "train_bpc": progress["loss_sum"] / max(progress["loss_count"], 1) * BITS_PER_NAT,
            "valid_bpc": bits_per_character(model, valid_streams, config.bptt, config.device),
            "seconds": clock.seconds(),
            "cpu_seconds": clock.cpu_seconds(),
            "state_grad_norms": state_norms.tolist(),
            "output_grad_norms": output_norms.tolist(),
        }
        progress["history"].append(row)
        progress.update(loss_sum=0.0, loss_count=0)
        runs.print_line(reports.report_line(row))

    with runs.saved_on_interrupt(save):
        while progress["epoch"] < config.epochs:
            epoch = progress["epoch"]
            bar = runs.progress_bar(
                len(starts), progress["chunk"], f"epoch {epoch}", config.progress, "chunk"
            )
            for index in range(progress["chunk"], len(starts)):
                chunk = chunk_tensors(
                    model, train_streams, starts[index], config.bptt, config.device
                )
                loss, progress["state"] = step(*chunk, progress["state"])
                progress["loss_sum"] += loss.item()
                progress["loss_count"] += 1
                progress.update(chunk=index + 1, step=progress["step"] + 1)
                bar.update()
                bar.set_postfix(bpc=f"{loss.item() * BITS_PER_NAT:.3f}")
                if progress["step"] % config.report_every == 0 and index + 1 < len(starts):
                    report(epoch)
                    save()
                    runs.write_metrics(folder, config, progress["history"], reports.COLUMNS)
                if on_step is not None:
                    on_step(epoch, index)
            bar.close()
            report(epoch)
            text = sample(
                model,
                vocabulary,
                prime_for(vocabulary),
                config.sample_length,
                config.temperature,
                [config.seed, epoch],
                config.device,
            )
            progress["history"][-1]["sample"] = text
            runs.print_line(f"--- sample after epoch {epoch} ---\n{text}\n---")
            progress.update(epoch=epoch + 1, chunk=0, state=None)
            save()
            runs.write_metrics(folder, config, progress["history"], reports.COLUMNS)
            reports.write_figures(folder, config, progress["history"])
    return progress["history"]


def load_trained(folder: Path, device: str = "cpu") -> tuple[CharRNN, Vocabulary, Config]:
    """The model saved in a run folder, its vocabulary, and the config it was trained with."""
    state = runs.read_checkpoint(folder, device=device)
    config = runs.config_from(state, Config, device=device)
    vocabulary = Vocabulary(state["vocabulary"])
    model = build_model(config, len(vocabulary))
    model.load_state_dict(state["model"])
    return model, vocabulary, config
