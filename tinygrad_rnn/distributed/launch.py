"""What a training command needs to run as one process or as N ranks under mpiexec.

`training_ranks(distributed, device)` returns an object with the same methods either way, so
a training loop calls them unconditionally: one process does what it always did, and N ranks
- refuse to start under mpiexec without `distributed` (N copies would train into one folder);
- use BLAS threads so that ranks x threads <= cores on each machine;
- write files on rank 0 alone, then meet at a barrier;
- resume on rank 0 and broadcast the state (model, optimizer, progress) to the others;
- split each global batch across the ranks and report the global loss and accuracy;
- stop together after the same step on Ctrl-C, and end the whole job if any rank fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..checkpoint import CheckpointError
from ..data.batches import Batches
from . import process_group as pg
from .batches import DistributedBatches
from .collective import ReduceOp
from .ddp import DistributedDataParallel
from .failure import DeferredInterrupt, ExitEndsJob

# launchers tell each process how many were started: MPICH/Intel MPI (PMI), Open MPI, PMIx
_WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")
_BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# errors rank 0 may meet while loading a checkpoint, raised again on every rank
_SHARED_ERRORS = {e.__name__: e for e in (ValueError, CheckpointError, FileNotFoundError)}


def launched_world_size() -> int:
    """How many processes the MPI launcher started (1 when not under mpiexec)."""
    for name in _WORLD_SIZE_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def limit_blas_threads(ranks_on_this_machine: int) -> int:
    """Give each rank cores // ranks BLAS threads (at least 1); returns that number.

    Two ranks with two threads each on two cores ran 8-9x slower than with one each.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, (cores or 1) // max(1, ranks_on_this_machine))
    for name in _BLAS_VARIABLES:  # for libraries loaded later and for child processes
        os.environ[name] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without it only libraries loaded from now on follow the variables
        return threads
    threadpool_limits(limits=threads)
    return threads


class SingleProcess:
    """One process: every method does what a plain training loop does."""

    rank, world_size, writes = 0, 1, True

    def __init__(self):
        if launched_world_size() > 1:
            raise ValueError(
                f"started by mpiexec as one of {launched_world_size()} processes, but without "
                "--distributed: each would train the same model into the same folder; add "
                "--distributed, or start one process without mpiexec"
            )

    def wrap(self, model):
        return model

    def batches(self, images, labels, batch_size: int, seed: int, device: str) -> Batches:
        return Batches(images, labels, batch_size, seed=seed, device=device)

    def on_rank_zero(self, write: Callable, *args, **kwargs) -> None:
        write(*args, **kwargs)

    def rank_zero_first(self, load: Callable, *args):
        return load(*args)

    def rank_zero_sees(self, path: Path) -> bool:
        return Path(path).exists()

    def from_rank_zero(self, load: Callable, model, optimizer) -> dict:
        return load()

    def batch_totals(self, loss, correct, batch) -> tuple[float, float]:
        """(mean loss, accuracy) of the batch just trained on."""
        return loss.item(), correct.item() / len(batch[1])

    def stop_if_interrupted(self) -> None:
        pass

    def finish(self) -> None:
        pass


class Ranks(SingleProcess):
    """This process as one of N ranks training one model together (see the module docs)."""

    def __init__(self, device: str, timeout: float | None = None):
        pg.init_process_group("nccl" if device == "cuda" else "mpi", timeout=timeout)
        self.group = pg.default_group()
        self.rank, self.world_size = self.group.rank, self.group.world_size
        self.writes = self.rank == 0
        self.blas_threads = limit_blas_threads(self.group.local_world_size)
        self.exit_ends_job = ExitEndsJob(self.rank, self.group.abort)
        self.interrupt = DeferredInterrupt(on_second=lambda: self.group.abort(130))
        self.stop = False
        if self.writes:
            print(
                f"{self.world_size} ranks ({self.group.name}), "
                f"{self.blas_threads} BLAS thread(s) each"
            )

    def wrap(self, model):
        return DistributedDataParallel(model)

    def batches(self, images, labels, batch_size: int, seed: int, device: str):
        return DistributedBatches(
            images,
            labels,
            batch_size,
            rank=self.rank,
            world_size=self.world_size,
            seed=seed,
            device=device,
        )

    def on_rank_zero(self, write: Callable, *args, **kwargs) -> None:
        """Rank 0 calls `write`; then every rank waits until it is done."""
        if self.writes:
            write(*args, **kwargs)
        pg.barrier()

    def rank_zero_first(self, load: Callable, *args):
        """Rank 0 calls `load` first (filling caches), then the others."""
        if self.writes:
            result = load(*args)
            pg.barrier()
            return result
        pg.barrier()
        return load(*args)

    def rank_zero_sees(self, path: Path) -> bool:
        """Whether `path` exists, as rank 0 sees it (the others may not share its disk)."""
        answer = [Path(path).exists() if self.writes else None]
        pg.broadcast_object_list(answer, src=0)
        return answer[0]

    def from_rank_zero(self, load: Callable, model, optimizer) -> dict:
        """Rank 0 runs `load()` (a resume: it fills model and optimizer and returns the
        progress); the others receive the same state, or raise the same error."""
        message: list = [None]
        if self.writes:
            try:
                progress = load()
                message = [(None, progress, model.state_dict(), optimizer.state_dict())]
            except tuple(_SHARED_ERRORS.values()) as error:  # also their subclasses
                kind = next(n for n, cls in _SHARED_ERRORS.items() if isinstance(error, cls))
                message = [(kind, str(error), None, None)]
        pg.broadcast_object_list(message, src=0)
        error, progress, model_state, optimizer_state = message[0]
        if error is not None:  # every rank stops here with the same error: none is left waiting
            self.finish()
            raise _SHARED_ERRORS[error](progress)
        if not self.writes:
            model.load_state_dict(model_state)
            optimizer.load_state_dict(optimizer_state)
        return progress

    def batch_totals(self, loss, correct, batch) -> tuple[float, float]:
        """The global batch's mean loss and accuracy (`loss` is this rank's scaled sum, see
        DistributedBatches); also learns whether any rank was interrupted."""
        hits = correct.item() if batch.rows else 0
        totals = np.array([loss.item(), hits, batch.rows, self.interrupt.requested], np.float64)
        self.group.all_reduce(totals, ReduceOp.SUM).wait()
        self.stop = bool(totals[3])
        return float(totals[0] / self.world_size), float(totals[1] / totals[2])

    def stop_if_interrupted(self) -> None:
        """Raise KeyboardInterrupt on every rank, after the same step, if any got Ctrl-C."""
        if self.stop:
            raise KeyboardInterrupt

    def finish(self) -> None:
        """The run ended as planned (or saved after Ctrl-C): exiting no longer aborts."""
        self.interrupt.close()
        self.exit_ends_job.disarm()
        pg.destroy_process_group()


def training_ranks(distributed: bool, device: str = "cpu") -> SingleProcess:
    """N ranks under mpiexec when `distributed`, else one process (refused under mpiexec)."""
    return Ranks(device) if distributed else SingleProcess()
