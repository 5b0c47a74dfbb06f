"""Failure handling: a failing rank ends the whole job, and Ctrl-C stops every rank together.

Under plain `python` a rank that raises leaves the others waiting in their next collective
(chainer/chainermn#236). Three tools, from the most general to the most specific:
- the abort hook (installed by init_process_group for mpi and nccl): an uncaught exception
  is printed, with its rank, and then MPI_Abort ends every rank within a second;
- `ExitEndsJob`, for a program that catches its errors and exits with a status (as a command
  line does): until it is disarmed at the end of a successful run, leaving the interpreter
  aborts the job;
- `DeferredInterrupt`: Ctrl-C (which MPICH's mpiexec forwards to every rank) only sets a
  flag, which the ranks combine at their next step so all of them stop after the same one.
"""

from __future__ import annotations

import atexit
import signal
import sys
import threading
from collections.abc import Callable


def install_abort_hook(rank: int, world_size: int, abort: Callable[[int], None]) -> Callable:
    """Make an uncaught exception print its traceback, then `abort` every rank (status 1, or
    130 for KeyboardInterrupt). Returns a function that puts the previous hook back."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        sys.stdout.flush()
        sys.stderr.write(f"[rank {rank} of {world_size}] uncaught {kind.__name__}: ")
        sys.stderr.write("ending every rank of the job\n")
        previous(kind, value, traceback)
        sys.stderr.flush()
        abort(130 if issubclass(kind, KeyboardInterrupt) else 1)

    sys.excepthook = hook

    def restore():
        if sys.excepthook is hook:
            sys.excepthook = previous

    return restore


class ExitEndsJob:
    """Until `disarm()`, the interpreter exiting (for whatever reason) aborts the whole job."""

    def __init__(self, rank: int, abort: Callable[[int], None]):
        self.rank, self.abort, self.armed = rank, abort, True
        atexit.register(self._at_exit)  # runs before mpi4py's own exit handler (LIFO)

    def disarm(self) -> None:
        self.armed = False
        atexit.unregister(self._at_exit)

    def _at_exit(self) -> None:
        if self.armed:
            sys.stdout.flush()
            sys.stderr.write(f"[rank {self.rank}] exiting before the run ended: ending the job\n")
            sys.stderr.flush()
            self.abort(1)


class DeferredInterrupt:
    """Ctrl-C sets `requested` instead of raising; a second Ctrl-C calls `on_second` (by
    default it raises KeyboardInterrupt).

    The first lets a training loop finish its step and agree with the other ranks on where
    to stop; the second is the way out of a rank that no longer reaches a step.
    """

    def __init__(self, on_second: Callable[[], None] | None = None):
        self.requested = False
        self._on_second = on_second
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)

    def _on_interrupt(self, signum, frame) -> None:
        if not self.requested:
            self.requested = True
        elif self._on_second is not None:
            self._on_second()
        else:
            raise KeyboardInterrupt

    def close(self) -> None:
        """Put the previous Ctrl-C handler back."""
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
