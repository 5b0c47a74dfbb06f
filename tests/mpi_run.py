"""Starting `mpiexec -n N` from a test, with a time limit, and skipping where MPI is missing."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def mpiexec_path() -> str | None:
    beside_python = Path(sys.executable).parent / "mpiexec"
    return str(beside_python) if beside_python.exists() else shutil.which("mpiexec")


needs_mpi = pytest.mark.skipif(
    mpiexec_path() is None or importlib.util.find_spec("mpi4py") is None,
    reason='needs mpi4py and mpiexec: pip install -e ".[distributed]"',
)


class Job:
    """A running `mpiexec -n ranks python ...`; `finish()` waits and returns (rc, out, err)."""

    def __init__(self, ranks: int, *args: str, limit: float = 120, env: dict | None = None):
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MPIEXEC_TIMEOUT": str(int(limit)),  # mpiexec itself ends a job that hangs
            **(env or {}),
        }
        self.limit, self.started = limit, time.monotonic()
        command = [mpiexec_path(), "-n", str(ranks), sys.executable, *args]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def interrupt(self) -> None:
        """Ctrl-C, as a terminal sends it to mpiexec (which forwards it to every rank)."""
        self.process.send_signal(signal.SIGINT)

    def finish(self) -> tuple[int, str, str]:
        try:
            out, err = self.process.communicate(timeout=self.limit + 30)
        except subprocess.TimeoutExpired:
            self.process.terminate()  # mpiexec cleans up its ranks on SIGTERM
            out, err = self.process.communicate(timeout=30)
        self.seconds = time.monotonic() - self.started
        return self.process.returncode, out, err


def mpiexec(ranks: int, *args: str, limit: float = 120, env: dict | None = None):
    """Run `mpiexec -n ranks python args...`; returns (rc, stdout, stderr, seconds)."""
    job = Job(ranks, *args, limit=limit, env=env)
    rc, out, err = job.finish()
    return rc, out, err, job.seconds
