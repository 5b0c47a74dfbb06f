"""What every backend shares: ReduceOp, the error types, Work handles and the timed wait.

A collective that never completes is the usual way a data-parallel job dies (a rank crashed,
stalled, or called collectives in another order), and a blocking MPI or NCCL call would wait
forever. So no backend ever blocks: each starts a nonblocking operation and `wait_until` polls
it against the group's deadline, then raises `DistTimeoutError` on the waiting rank. The few
calls that cannot be polled (joining the job) run under a `watchdog` that ends the process.
"""

from __future__ import annotations

import contextlib
import enum
import faulthandler
import os
import time
from collections.abc import Callable

# Spin (yielding the core) this long before sleeping between polls: while the other ranks are
# in the collective too, a shared-memory transfer only progresses while this rank polls it.
_SPIN_SECONDS = 1.0
_SLEEP_SECONDS = 0.001


class ReduceOp(enum.Enum):
    """How all_reduce combines the ranks' values (PyTorch's names)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class DistError(RuntimeError):
    """Base of the errors this package raises (PyTorch's name)."""


class DistBackendError(DistError):
    """The backend failed, or the group is unusable after an earlier failure."""


class DistTimeoutError(DistBackendError):
    """A collective waited longer than the group's timeout for the other ranks.

    PyTorch reports this as a DistBackendError; the subclass lets a program tell it apart.
    """


class Work:
    """The handle of a collective started with async_op=True (PyTorch's name)."""

    def __init__(self, test: Callable[[], bool], wait: Callable[[], None], finish=None):
        self._test, self._wait, self._finish, self._done = test, wait, finish, False

    def is_completed(self) -> bool:
        """Whether the collective has finished (this also lets it progress)."""
        if not self._done and self._test():
            self._complete()
        return self._done

    def wait(self) -> bool:
        """Block until the collective finishes or the group's timeout passes (then raise)."""
        if not self._done:
            self._wait()
            self._complete()
        return True

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()


class CompletedWork(Work):
    """A collective that finished when it was started (a world of one, a staged copy)."""

    def __init__(self, finish=None):
        super().__init__(lambda: True, lambda: None, finish)


def wait_until(done: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `done()` until it is true; raise DistTimeoutError after `timeout` seconds."""
    if done():
        return
    start = time.monotonic()
    while not done():
        waited = time.monotonic() - start
        if waited > timeout:
            raise DistTimeoutError(
                f"{what} waited {waited:.1f} s for the other ranks (timeout {timeout:g} s): "
                "a rank has died or stalled, or the ranks call collectives in different orders"
            )
        if waited < _SPIN_SECONDS:
            os.sched_yield()
        else:
            time.sleep(_SLEEP_SECONDS)


@contextlib.contextmanager
def watchdog(timeout: float):
    """End this process if the block (a call that cannot be polled: MPI_Init, NCCL's setup)
    has not returned after `timeout` seconds; with this rank gone, mpiexec ends the job.

    faulthandler's timer runs in C, so it fires even while the block holds the GIL; it
    prints where every thread stood ("Timeout (h:mm:ss)!" and the stacks) before exiting.
    """
    faulthandler.dump_traceback_later(timeout, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def seconds(timeout) -> float:
    """A timeout given as a timedelta (PyTorch's type) or a number of seconds, in seconds."""
    value = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
    if not value > 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    return value
