"""A run's folder: one checkpoint, saved atomically and on Ctrl-C, and its metrics files.

The rules every command line applies: `--out` must be a folder, a new run never overwrites an
old one, `--resume` needs a run to resume and refuses one trained with other settings.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

import tinygrad_rnn as tg
from tinygrad_rnn.checkpoint import atomic_write

CHECKPOINT = "checkpoint.safetensors"


class RunError(ValueError):
    """A run folder that cannot be used as asked (the message says why and what to do)."""


def check_run_folder(folder: Path, resume: bool) -> None:
    """Refuse a folder that is a file, a new run over an old one, and a resume of nothing."""
    if folder.exists() and not folder.is_dir():
        raise RunError(f"--out {folder} is an existing file, not a run folder")
    trained = (folder / CHECKPOINT).exists()
    if trained and not resume:
        raise RunError(
            f"{folder} already holds a run: pass --resume to continue it, or choose another --out"
        )
    if resume and not trained:
        raise RunError(f"nothing to resume: {folder} holds no {CHECKPOINT}")


def save_checkpoint(folder: Path, config, state: dict) -> None:
    """Write the config and `state` (weights, optimizer, progress) atomically."""
    tg.save({"config": dataclasses.asdict(config), **state}, folder / CHECKPOINT)


def read_checkpoint(path: Path, device: str | None = None) -> dict:
    """The saved state of a run (a checkpoint or a run folder), or a RunError naming what is
    missing."""
    path = Path(path)
    if path.suffix != ".safetensors":  # a run folder
        path = path / CHECKPOINT
    if not path.exists():
        raise RunError(f"no trained run in {path.parent}: {path.name} is missing (train first)")
    state = tg.load(path, device=device)
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
        raise RunError(f"{path} is a checkpoint but holds no run config")
    return state


def config_from(state: dict, config_class: type, **overrides):
    """The dataclass `config_class` saved in `state`, or a RunError if it does not fit. A field
    added since the run was saved takes its default."""
    saved = state["config"]
    fields = {field.name for field in dataclasses.fields(config_class)}
    if not set(saved) <= fields:
        raise RunError(
            f"the checkpoint's config is not a {config_class.__name__} (another command's run?)"
        )
    return config_class(**{**saved, **overrides})


def check_same_settings(state: dict, config, must_match: Sequence[str], folder: Path) -> None:
    """Refuse to resume with settings that would make the resumed run another run."""
    saved = state["config"]
    changed = [
        f"{k} ({saved.get(k)} -> {getattr(config, k)})"
        for k in must_match
        if saved.get(k) != getattr(config, k)
    ]
    if changed:
        raise RunError(
            f"cannot resume {folder}: it was trained with other settings: " + ", ".join(changed)
        )


def resume_run(folder: Path, config, must_match: Sequence[str], model, optimizer, keys) -> dict:
    """--resume: the run's model and optimizer state loaded in place, after refusing settings
    that differ from the run's; returns the progress entries `keys` as they were saved."""
    state = read_checkpoint(folder, device=config.device)
    check_same_settings(state, config, must_match, folder)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return {k: state[k] for k in keys}


@contextmanager
def saved_on_interrupt(save: Callable[[], str], quiet: bool = False) -> Iterator[None]:
    """On Ctrl-C inside the block, call `save()` (it returns where it stands) and exit 130;
    `quiet` leaves the message to another process (rank 0 of a distributed run)."""
    try:
        yield
    except KeyboardInterrupt:
        where = save()
        if not quiet:
            print(f"\ninterrupted: saved {where}; continue with the same command and --resume")
        raise SystemExit(130) from None


def write_metrics(folder: Path, config, history: list[dict], columns: Sequence[str]) -> None:
    """metrics.csv (the given columns) and metrics.json (the config and every row)."""

    def write_csv(path):
        with open(path, "w", newline="") as file:
            writer = csv.DictWriter(file, columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(history)

    def write_json(path):
        payload = {"config": dataclasses.asdict(config), "history": history}
        path.write_text(json.dumps(payload, indent=1) + "\n")

    atomic_write(folder / "metrics.csv", write_csv)
    atomic_write(folder / "metrics.json", write_json)


def progress_bar(total: int, initial: int, description: str, enabled: bool, unit: str) -> tqdm:
    """A tqdm bar that disappears when done; None-disable keeps it off where output is no TTY."""
    return tqdm(
        total=total,
        initial=initial,
        desc=description,
        unit=unit,
        leave=False,
        disable=not enabled or None,
    )


def print_line(text: str) -> None:
    """Print without breaking a progress bar that is being drawn."""
    tqdm.write(text)


class Stopwatch:
    """Seconds spent training, wall clock and this process's CPU time, carried across an
    interruption and its resume (on a shared machine the CPU time is the steadier one)."""

    def __init__(self, already: float = 0.0, already_cpu: float = 0.0):
        self.already, self.started = already, time.perf_counter()
        self.already_cpu, self.started_cpu = already_cpu, time.process_time()

    def seconds(self) -> float:
        return self.already + time.perf_counter() - self.started

    def cpu_seconds(self) -> float:
        return self.already_cpu + time.process_time() - self.started_cpu
