"""python -m models.char_rnn {train,sample}: a character-level language model from the shell."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..common.cli import (
    Parser,
    add_device_option,
    add_eager_option,
    finite,
    positive,
    run_command,
    run_settings,
)
from ..common.runs import check_run_folder
from .networks import KINDS
from .training import Config, load_trained, sample, train


def fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    value = finite(float)(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def build_parser() -> Parser:
    parser = Parser(prog="python -m models.char_rnn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = commands.add_parser("train", help="train on a text (default: Shakespeare)")
    run.add_argument("--text", default=None, help="a UTF-8 text file (default: Shakespeare)")
    run.add_argument("--model", choices=KINDS, default="lstm", help="the recurrent layer")
    run.add_argument("--hidden", type=positive(int), default=256, help="units per layer")
    run.add_argument("--layers", type=positive(int), default=1, help="stacked layers")
    run.add_argument("--bptt", type=positive(int), default=100, help="characters per chunk")
    run.add_argument("--batch-size", type=positive(int), default=32, help="parallel streams")
    run.add_argument("--epochs", type=positive(int), default=1, help="passes over the text")
    run.add_argument("--lr", type=positive(float), default=4e-3, help="Adam's learning rate")
    run.add_argument("--clip", type=positive(float), default=5.0, help="gradient norm limit")
    run.add_argument("--seed", type=int, default=42, help="initial weights and samples")
    run.add_argument(
        "--limit", type=positive(int), default=None, help="use the first N characters only"
    )
    run.add_argument(
        "--valid-fraction", type=fraction, default=0.1, help="the end held out for validation"
    )
    run.add_argument(
        "--report-every", type=positive(int), default=100, help="steps between reports"
    )
    run.add_argument("--resume", action="store_true", help="continue the run in --out")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_eager_option(run)
    draw = commands.add_parser("sample", help="generate text from a trained run")
    draw.add_argument("--prime", default="\n", help="the text the sample continues")
    draw.add_argument("--length", type=positive(int), default=500, help="characters to draw")
    draw.add_argument("--seed", type=int, default=0, help="the random draws")
    for command in (run, draw):
        command.add_argument(
            "--temperature", type=positive(float), default=0.8, help="below 1: safer choices"
        )
        add_device_option(command)
        command.add_argument(
            "--out", default=None, help="the run's folder (default runs/char-MODEL)"
        )
    draw.add_argument("--model", choices=KINDS, default="lstm", help="picks the default --out")
    return parser


def run_folder(args) -> Path:
    return Path(args.out or f"runs/char-{args.model}")


def command_train(args) -> None:
    folder = run_folder(args)
    check_run_folder(folder, args.resume)
    if args.text is not None and not Path(args.text).is_file():
        raise ValueError(f"--text {args.text}: no such file")
    config = Config(
        text=args.text,
        model=args.model,
        hidden=args.hidden,
        layers=args.layers,
        bptt=args.bptt,
        batch_size=args.batch_size,
        epochs=args.epochs,
        lr=args.lr,
        clip=args.clip,
        seed=args.seed,
        limit=args.limit,
        valid_fraction=args.valid_fraction,
        report_every=args.report_every,
        temperature=args.temperature,
        **run_settings(args, folder),
    )
    history = train(config)
    print(f"validation {history[-1]['valid_bpc']:.3f} bits/char; metrics and plots in {folder}")


def command_sample(args) -> None:
    model, vocabulary, _ = load_trained(run_folder(args), args.device)
    print(
        sample(model, vocabulary, args.prime, args.length, args.temperature, args.seed, args.device)
    )


COMMANDS = {"train": command_train, "sample": command_sample}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(COMMANDS[args.command], args)
