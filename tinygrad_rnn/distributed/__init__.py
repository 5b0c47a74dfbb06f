"""Data parallelism with PyTorch's names: process groups over MPI (CPU) or NCCL (GPU), and
DistributedDataParallel.

    import tinygrad_rnn.distributed as dist
    dist.init_process_group("mpi")          # under: mpiexec -n 2 python train.py
    model = dist.DistributedDataParallel(model)
    batches = dist.DistributedBatches(images, labels, 150, rank=dist.get_rank(),
                                      world_size=dist.get_world_size())

Backends: "local" (a world of one, no MPI needed), "mpi" (mpi4py on NumPy arrays; CuPy arrays
through pinned host memory) and "nccl" (CuPy arrays between GPUs, one GPU per rank). Every
collective waits at most the group's timeout, then raises DistTimeoutError; with mpi and nccl
an uncaught exception on any rank ends the whole job.
"""

from .batches import DistributedBatches, Shard, split_rows
from .collective import DistBackendError, DistError, DistTimeoutError, ReduceOp, Work
from .ddp import DistributedDataParallel
from .process_group import (
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    destroy_process_group,
    get_backend,
    get_node_local_rank,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
)

__all__ = [
    "DistBackendError",
    "DistError",
    "DistTimeoutError",
    "DistributedBatches",
    "DistributedDataParallel",
    "ReduceOp",
    "Shard",
    "Work",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "get_backend",
    "get_node_local_rank",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "split_rows",
]
