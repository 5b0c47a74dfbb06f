"""Argument parsing and error reporting shared by the command lines: every mistake a user can
make ends in one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable

import tinygrad_rnn as tg
from tinygrad_rnn.data import DatasetUnavailableError, IDXError

# Set to 1 to see the traceback of an unexpected error instead of its one-line summary.
DEBUG_VARIABLE = "TINYGRAD_RNN_DEBUG"


class Parser(argparse.ArgumentParser):
    """Bad arguments end in one line on stderr, not a usage block; --help shows defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(kind, text: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):  # float("nan") and float("inf") parse, but train nothing
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def finite(kind: type = float) -> Callable[[str], float]:
    """An argparse type: a finite number of `kind` (nan and inf refused)."""

    def parse(text: str):
        return _number(kind, text)

    parse.__name__ = kind.__name__
    return parse


def positive(kind: type = float) -> Callable[[str], float]:
    """An argparse type: a finite number of `kind` above zero."""

    def parse(text: str):
        value = _number(kind, text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def add_device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to run")


def add_eager_option(parser: argparse.ArgumentParser) -> None:
    """--eager: the training step op by op, instead of compiled by tg.jit (the default; the
    same numbers, faster)."""
    parser.add_argument(
        "--eager",
        action="store_true",
        help="run the training step op by op instead of compiled (tinygrad_rnn.jit, the default)",
    )


def run_settings(args: argparse.Namespace, folder) -> dict:
    """The Config fields a model's command line takes from the shared options (--device, the
    run folder, --no-progress, --resume, --eager)."""
    return dict(
        device=args.device,
        out=str(folder),
        progress=not args.no_progress,
        resume=args.resume,
        compiled=not args.eager,
    )


# Errors a user can cause (missing files, bad data, refused settings): reported as they are.
EXPECTED_ERRORS = (
    DatasetUnavailableError,
    tg.CheckpointError,
    IDXError,
    OSError,
    ValueError,
)


def run_command(command: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run `command(args)`; any error becomes one line on stderr and exit status 1."""
    if getattr(args, "device", "cpu") == "cuda" and not tg.cuda_is_available():
        return fail("--device cuda needs CuPy and a CUDA GPU, and none is usable here")
    try:
        command(args)
    except EXPECTED_ERRORS as error:
        return fail(str(error) or type(error).__name__)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE) == "1":
            raise
        summary = " ".join(str(error).split())  # one line, whatever the message holds
        return fail(
            f"unexpected {type(error).__name__}: {summary} "
            f"(set {DEBUG_VARIABLE}=1 to see the traceback)"
        )
    return 0


def fail(message: str) -> int:
    """Print `error: message` on stderr; return the exit status 1."""
    print(f"error: {message}", file=sys.stderr)
    return 1
