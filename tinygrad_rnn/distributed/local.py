"""The "local" backend: a world of one process, without MPI (unit tests, single-process runs).

Every collective is already complete: all_reduce leaves the values as they are (the sum, mean,
min or max of one rank's values), broadcast has nothing to send, barrier nothing to wait for.
"""

from __future__ import annotations

from .collective import CompletedWork, ReduceOp, Work


class LocalBackend:
    """A process group of one rank."""

    name = "local"
    rank, world_size, local_rank, local_world_size = 0, 1, 0, 1

    def __init__(self, timeout: float):
        self.timeout = timeout

    def all_reduce(self, array, op: ReduceOp) -> Work:
        return CompletedWork()

    def broadcast(self, array, src: int) -> Work:
        return CompletedWork()

    def barrier(self) -> Work:
        return CompletedWork()

    def broadcast_bytes(self, payload: bytes | None, src: int) -> bytes:
        return payload

    def all_gather_bytes(self, payload: bytes) -> list[bytes]:
        return [payload]

    def abort(self, exit_code: int) -> None:
        raise SystemExit(exit_code)

    def close(self) -> None:
        pass
