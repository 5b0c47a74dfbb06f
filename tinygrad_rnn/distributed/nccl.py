"""The "nccl" backend: CuPy arrays reduced by NCCL between GPUs, one GPU per rank on a node.

NCCL runs on a stream of its own, ordered after the work already queued on the current stream
(an event), and the current stream waits for it before reading the result, so the caller's
stream order holds. Its unique id goes from rank 0 to the others over MPI, which also carries
what NCCL does not: barriers, Python objects, and NumPy arrays (a float64 loss total). The
PyPI NCCL wheel (nvidia-nccl-cu12) provides the library. As with MPI, every wait polls against
the timeout; a timeout aborts the communicator (ncclCommAbort) so no kernel waits forever.
"""

from __future__ import annotations

import numpy as np

from .collective import DistBackendError, DistTimeoutError, ReduceOp, Work, wait_until, watchdog
from .mpi import MpiBackend


class NcclBackend:
    """A process group whose CuPy arrays go through NCCL (and the rest through MPI)."""

    name = "nccl"

    def __init__(self, timeout: float):
        import cupy
        from cupy.cuda import nccl

        self.host = MpiBackend(timeout)
        self.timeout, self.broken, self.cupy, self.nccl = timeout, None, cupy, nccl
        self.rank, self.world_size = self.host.rank, self.host.world_size
        self.local_rank, self.local_world_size = self.host.local_rank, self.host.local_world_size
        gpus = cupy.cuda.runtime.getDeviceCount()
        if self.local_world_size > gpus:
            raise DistBackendError(
                f"{self.local_world_size} ranks on this node but {gpus} GPU(s): NCCL needs one "
                "GPU per rank; start fewer ranks, or use the mpi backend"
            )
        cupy.cuda.Device(self.local_rank).use()
        unique_id = nccl.get_unique_id() if self.rank == 0 else None
        payload = np.array(unique_id, dtype=np.int8).tobytes() if self.rank == 0 else None
        unique_id = tuple(np.frombuffer(self.host.broadcast_bytes(payload, 0), dtype=np.int8))
        unique_id = tuple(map(int, unique_id))
        with watchdog(timeout):  # ncclCommInitRank blocks until every rank has called it
            self.comm = nccl.NcclCommunicator(self.world_size, unique_id, self.rank)
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self._types = {
            np.dtype(np.float16): nccl.NCCL_FLOAT16,
            np.dtype(np.float32): nccl.NCCL_FLOAT32,
            np.dtype(np.float64): nccl.NCCL_FLOAT64,
            np.dtype(np.int32): nccl.NCCL_INT32,
            np.dtype(np.int64): nccl.NCCL_INT64,
            np.dtype(np.uint8): nccl.NCCL_UINT8,
        }
        self._ops = {
            ReduceOp.SUM: nccl.NCCL_SUM,
            ReduceOp.AVG: nccl.NCCL_SUM,  # divided after: NCCL_AVG needs NCCL 2.10
            ReduceOp.PRODUCT: nccl.NCCL_PROD,
            ReduceOp.MIN: nccl.NCCL_MIN,
            ReduceOp.MAX: nccl.NCCL_MAX,
        }

    def _on_stream(self, what: str, array, launch) -> Work:
        """Run `launch(buffer)` on NCCL's stream after the caller's queued work; the Work's
        wait makes the caller's stream wait for it and writes a staged copy back."""
        if self.broken is not None:
            raise DistBackendError(f"the process group is unusable after: {self.broken}")
        cupy = self.cupy
        if array.dtype not in self._types:
            raise TypeError(f"the nccl backend cannot send {array.dtype} arrays")
        buffer = array if array.flags.c_contiguous else cupy.ascontiguousarray(array)
        caller = cupy.cuda.get_current_stream()
        ready = cupy.cuda.Event(disable_timing=True)
        ready.record(caller)
        self.stream.wait_event(ready)
        launch(buffer)
        done = cupy.cuda.Event(disable_timing=True)
        done.record(self.stream)

        def wait():
            try:
                wait_until(lambda: done.done, self.timeout, f"rank {self.rank}: {what}")
            except DistTimeoutError as error:
                self.broken = str(error)
                self.comm.abort()
                raise

        def finish():
            caller.wait_event(done)
            if buffer is not array:
                array[...] = buffer

        return Work(lambda: done.done, wait, finish)

    def all_reduce(self, array, op: ReduceOp) -> Work:
        if isinstance(array, np.ndarray):
            return self.host.all_reduce(array, op)
        if op is ReduceOp.AVG and array.dtype.kind != "f":
            raise TypeError(f"all_reduce with ReduceOp.AVG needs floating point, not {array.dtype}")
        stream = self.stream.ptr

        def launch(buffer):
            kind = self._types[buffer.dtype]
            self.comm.allReduce(
                buffer.data.ptr, buffer.data.ptr, buffer.size, kind, self._ops[op], stream
            )
            if op is ReduceOp.AVG:
                with self.stream:
                    buffer /= self.world_size

        return self._on_stream(f"all_reduce of {array.size} {array.dtype} values", array, launch)

    def broadcast(self, array, src: int) -> Work:
        if isinstance(array, np.ndarray):
            return self.host.broadcast(array, src)

        def launch(buffer):
            kind = self._types[buffer.dtype]
            self.comm.bcast(buffer.data.ptr, buffer.size, kind, src, self.stream.ptr)

        return self._on_stream(f"broadcast from rank {src}", array, launch)

    def barrier(self) -> Work:
        return self.host.barrier()

    def broadcast_bytes(self, payload: bytes | None, src: int) -> bytes:
        return self.host.broadcast_bytes(payload, src)

    def all_gather_bytes(self, payload: bytes) -> list[bytes]:
        return self.host.all_gather_bytes(payload)

    def abort(self, exit_code: int) -> None:
        self.comm.abort()
        self.host.abort(exit_code)

    def close(self) -> None:
        if self.broken is None:
            self.comm.destroy()
        self.host.close()
