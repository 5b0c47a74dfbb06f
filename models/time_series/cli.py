"""python -m models.time_series {train,generate}: the book's time-series RNN from the shell."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..common.cli import (
    Parser,
    add_device_option,
    add_eager_option,
    positive,
    run_command,
    run_settings,
)
from ..common.runs import check_run_folder
from .networks import VARIANTS
from .reports import plot_creative
from .series import RESOLUTION, T_MAX, T_MIN, time_series
from .training import Config, generate, load_trained, train


def window(text: str) -> tuple[int, int]:
    """An argparse type: 't_min:t_max', two time steps with t_min <= t_max."""
    parts = text.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected t_min:t_max (e.g. 2:4), got {text!r}")
    t_min, t_max = int(parts[0]), int(parts[1])
    if t_min > t_max:
        raise argparse.ArgumentTypeError(f"t_min must not exceed t_max, got {text}")
    return t_min, t_max


def build_parser() -> Parser:
    parser = Parser(prog="python -m models.time_series", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = commands.add_parser("train", help="train (the book's settings by default)")
    run.add_argument("--variant", choices=VARIANTS, default="projection", help="output layer")
    run.add_argument("--iterations", type=positive(int), default=1500, help="training steps")
    run.add_argument("--batch-size", type=positive(int), default=50, help="series per step")
    run.add_argument("--steps", type=positive(int), default=20, help="time steps per series")
    run.add_argument("--hidden", type=positive(int), default=100, help="ReLU units")
    run.add_argument("--lr", type=positive(float), default=1e-3, help="Adam's learning rate")
    run.add_argument("--seed", type=int, default=42, help="initial weights and batches")
    run.add_argument(
        "--window",
        type=window,
        default=None,
        help="the cost reads outputs t_min..t_max only (default: all steps)",
    )
    run.add_argument("--resume", action="store_true", help="continue the run in --out")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_eager_option(run)
    generate = commands.add_parser("generate", help="creative sequences from a trained run")
    generate.add_argument("--length", type=positive(int), default=300, help="values to generate")
    for command in (run, generate):
        add_device_option(command)
        command.add_argument(
            "--out", default=None, help="the run's folder (default runs/time-series-VARIANT)"
        )
    generate.add_argument(
        "--variant", choices=VARIANTS, default="projection", help="picks the default --out"
    )
    return parser


def run_folder(args) -> Path:
    return Path(args.out or f"runs/time-series-{args.variant}")


def command_train(args) -> None:
    folder = run_folder(args)
    check_run_folder(folder, args.resume)
    t_min, t_max = args.window or (0, args.steps - 1)
    if t_max >= args.steps:
        raise ValueError(f"--window {t_min}:{t_max} does not fit --steps {args.steps}")
    config = Config(
        variant=args.variant,
        iterations=args.iterations,
        batch_size=args.batch_size,
        steps=args.steps,
        hidden=args.hidden,
        lr=args.lr,
        seed=args.seed,
        window=(t_min, t_max),
        **run_settings(args, folder),
    )
    history = train(config)
    print(f"final MSE {history[-1]['mse']:.4f}; metrics and plots in {folder}")


def command_generate(args) -> None:
    folder = run_folder(args)
    model, config = load_trained(folder, args.device)
    real_start = T_MIN + (T_MAX - T_MIN) / 3  # the book's second seed: a stretch of the series
    seeds = {
        "creative sequence seeded with zeros": [0.0] * config.steps,
        "seeded with a stretch of the series": time_series(
            real_start + RESOLUTION * np.arange(config.steps)
        ),
    }
    sequences = {
        title: generate(model, seed, args.length, args.device) for title, seed in seeds.items()
    }
    plot_creative(sequences, config.steps, folder / "creative.png")
    print(f"wrote {folder / 'creative.png'} ({args.length} generated values per sequence)")


COMMANDS = {"train": command_train, "generate": command_generate}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(COMMANDS[args.command], args)
