"""The "mpi" backend: mpi4py's buffer methods on NumPy arrays, CuPy arrays via pinned host memory.

Every collective is a nonblocking MPI call (Iallreduce, Ibcast, Ibarrier, ...) polled against
the group's timeout (collective.wait_until), so a rank that dies or stalls makes the others
raise instead of hanging. The group works on its own duplicate of COMM_WORLD, so MPI calls a
program makes itself never match ours. The PyPI MPI wheels are not CUDA-aware: a CuPy array
is copied to pinned host memory, reduced there and copied back.
"""

from __future__ import annotations

import numpy as np

from .collective import DistBackendError, DistTimeoutError, ReduceOp, Work, wait_until, watchdog


def import_mpi():
    """mpi4py's MPI module (initialising MPI), or an ImportError that says what to install."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            f"the mpi backend needs mpi4py and an MPI library ({error}); "
            'install them with pip install -e ".[distributed]"'
        ) from error
    return MPI


def _contiguous_host(array):
    """A C-contiguous NumPy array holding `array`'s values, and how to copy it back (or None)."""
    if isinstance(array, np.ndarray):
        if array.flags.c_contiguous:
            return array, None
        host = np.ascontiguousarray(array)
        return host, lambda: np.copyto(array, host)
    import cupy
    import cupyx

    host = cupyx.empty_pinned(array.shape, array.dtype)  # from CuPy's pinned memory pool
    array.get(out=host)  # waits for the GPU work that produces the values

    def copy_back():
        array[...] = cupy.asarray(host)

    return host, copy_back


class MpiBackend:
    """A process group over MPI_COMM_WORLD (its own duplicate of it)."""

    name = "mpi"

    def __init__(self, timeout: float):
        with watchdog(timeout):  # joining the job: MPI_Init and these calls block
            mpi = import_mpi()
            self.comm = mpi.COMM_WORLD.Dup()
            node = self.comm.Split_type(mpi.COMM_TYPE_SHARED)
        self.MPI, self.timeout, self.broken = mpi, timeout, None
        self.rank, self.world_size = self.comm.Get_rank(), self.comm.Get_size()
        self.local_rank, self.local_world_size = node.Get_rank(), node.Get_size()
        node.Free()
        self._ops = {
            ReduceOp.SUM: mpi.SUM,
            ReduceOp.AVG: mpi.SUM,
            ReduceOp.PRODUCT: mpi.PROD,
            ReduceOp.MIN: mpi.MIN,
            ReduceOp.MAX: mpi.MAX,
        }

    # ------------------------------------------------------------ waiting

    def _started(self, what: str, request, finish=None) -> Work:
        def wait():
            self.wait_for(request, what)

        return Work(request.Test, wait, finish)

    def wait_for(self, request, what: str) -> None:
        """Wait for an MPI request within the timeout; a timeout leaves the group unusable."""
        try:
            wait_until(request.Test, self.timeout, f"rank {self.rank}: {what}")
        except DistTimeoutError as error:
            self.broken = str(error)
            raise

    def check(self) -> None:
        if self.broken is not None:
            raise DistBackendError(f"the process group is unusable after: {self.broken}")

    # ------------------------------------------------------------ collectives

    def all_reduce(self, array, op: ReduceOp) -> Work:
        self.check()
        if op is ReduceOp.AVG and array.dtype.kind != "f":
            raise TypeError(f"all_reduce with ReduceOp.AVG needs floating point, not {array.dtype}")
        host, copy_back = _contiguous_host(array)
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, host, op=self._ops[op])

        def finish():
            if op is ReduceOp.AVG:
                host[...] /= self.world_size
            if copy_back is not None:
                copy_back()

        return self._started(f"all_reduce of {host.size} {host.dtype} values", request, finish)

    def broadcast(self, array, src: int) -> Work:
        self.check()
        host, copy_back = _contiguous_host(array)
        request = self.comm.Ibcast(host, root=src)
        return self._started(f"broadcast of {host.size} values from rank {src}", request, copy_back)

    def barrier(self) -> Work:
        self.check()
        return self._started("barrier", self.comm.Ibarrier())

    def broadcast_bytes(self, payload: bytes | None, src: int) -> bytes:
        self.check()
        what = f"broadcast_object_list from rank {src}"
        size = np.array([len(payload) if self.rank == src else 0], dtype=np.int64)
        self.wait_for(self.comm.Ibcast(size, root=src), what)
        if self.rank == src:
            buffer = np.frombuffer(payload, dtype=np.uint8).copy()
        else:
            buffer = np.empty(int(size[0]), dtype=np.uint8)
        self.wait_for(self.comm.Ibcast(buffer, root=src), what)
        return buffer.tobytes()

    def all_gather_bytes(self, payload: bytes) -> list[bytes]:
        self.check()
        sizes = np.empty(self.world_size, dtype=np.int64)
        mine = np.array([len(payload)], dtype=np.int64)
        self.wait_for(self.comm.Iallgather(mine, sizes), "all_gather_object (sizes)")
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        gathered = np.empty(int(sizes.sum()), dtype=np.uint8)
        request = self.comm.Iallgatherv(
            np.frombuffer(payload, dtype=np.uint8), [gathered, (sizes, offsets), self.MPI.BYTE]
        )
        self.wait_for(request, "all_gather_object")
        return [gathered[o : o + s].tobytes() for o, s in zip(offsets, sizes)]

    # ------------------------------------------------------------ ending

    def abort(self, exit_code: int) -> None:
        """End every rank of the job now (MPI_Abort)."""
        self.MPI.COMM_WORLD.Abort(exit_code)

    def close(self) -> None:
        if self.broken is None:  # a pending request after a timeout would make Free fail
            self.comm.Free()
