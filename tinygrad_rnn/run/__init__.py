"""Run an unmodified PyTorch program on tinygrad_rnn:

    python -m tinygrad_rnn.run SCRIPT [ARGS...]      (or: tinygrad-rnn SCRIPT [ARGS...])

`torch` and its submodules resolve to tinygrad_rnn (tinygrad_rnn.run.aliases), and the script
runs as `python SCRIPT ARGS` would run it: as `__main__`, with sys.argv = [SCRIPT, *ARGS], its
folder first on sys.path, the same exit status, and tracebacks that start in the script. A
part of PyTorch that is not here stops the program with one line, "FILE:LINE: what is not
supported: what to use instead", unless the program catches the error (an unsupported
import is a ModuleNotFoundError, an unsupported name an AttributeError).
"""

from __future__ import annotations

import os
import signal
import sys
import types
from importlib.machinery import SourceFileLoader

from ..unsupported import Unsupported
from .aliases import install

USAGE = "usage: python -m tinygrad_rnn.run SCRIPT [ARGS...]  (or: tinygrad-rnn SCRIPT [ARGS...])"
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv: list[str] | None = None) -> int:
    """Run the script named by argv[0] with the arguments after it; returns its exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    install()
    return run_script(argv[0], argv[1:])


def run_script(script: str, args: list[str]) -> int:
    """Execute `script` as __main__, as the python command would; returns the exit status
    (SystemExit from the script propagates as it would)."""
    path = os.path.abspath(script)
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as error:
        print(f"{sys.executable}: can't open file {path!r}: {error}", file=sys.stderr)
        return 2
    main_module = types.ModuleType("__main__")
    main_module.__dict__.update(
        __file__=path, __builtins__=__builtins__, __loader__=SourceFileLoader("__main__", path)
    )
    sys.modules["__main__"] = main_module
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(path)
    try:
        exec(compile(source, path, "exec"), main_module.__dict__)
    except SystemExit:
        raise
    except BaseException as error:  # report it as python would, from the script's frames on
        return _report(error, path)
    return 0


def _report(error: BaseException, path: str) -> int:
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_frame.f_code.co_filename == __file__:
        traceback = traceback.tb_next
    if isinstance(error, Unsupported):
        print(f"{_where(traceback, path)}: {error}", file=sys.stderr)
        return 1
    sys.excepthook(type(error), error.with_traceback(traceback), traceback)
    if isinstance(error, KeyboardInterrupt):  # python dies of the signal, for its parent
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return 1


def _where(traceback, path: str) -> str:
    """FILE:LINE of the innermost frame in the program's own code (not this library's)."""
    where = f"{os.path.relpath(path)}:1"
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if not filename.startswith((_PACKAGE, "<")):
            where = f"{os.path.relpath(filename)}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return where
