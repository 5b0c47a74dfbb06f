"""The default process group: PyTorch's init_process_group, ranks and collectives on tensors.

Only the default group exists (`group=None` everywhere). Collectives work in place on a
tensor's array and record no gradient, as in PyTorch. Each one waits at most the group's
timeout, then raises DistTimeoutError on the waiting rank.
"""

from __future__ import annotations

import importlib.util
from datetime import timedelta

from ..tensor import Tensor
from . import objects
from .collective import ReduceOp, Work, seconds
from .failure import install_abort_hook

DEFAULT_TIMEOUT = timedelta(minutes=10)  # PyTorch's default
BACKENDS = ("local", "mpi", "nccl")


class _Default:
    group = None  # the backend object once init_process_group has run
    restore_excepthook = None


def _backend_class(name: str):
    if name == "local":
        from .local import LocalBackend

        return LocalBackend
    if name == "mpi":
        from .mpi import MpiBackend

        return MpiBackend
    from .nccl import NcclBackend

    return NcclBackend


def init_process_group(
    backend: str | None = None,
    timeout: timedelta | float | None = None,
    world_size: int = -1,
    rank: int = -1,
) -> None:
    """Join the job's default group: "local" (a world of one), "mpi" (default) or "nccl".

    Ranks and world size come from MPI (mpiexec); `world_size`/`rank`, if given, are checked
    against them. With mpi and nccl an uncaught exception on any rank ends the whole job.
    """
    if _Default.group is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = (backend or "mpi").lower()
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    group = _backend_class(name)(seconds(DEFAULT_TIMEOUT if timeout is None else timeout))
    asked_for = ((world_size, group.world_size, "world_size"), (rank, group.rank, "rank"))
    for asked, actual, what in asked_for:
        if asked != -1 and asked != actual:
            group.close()
            raise ValueError(f"{what}={asked} was asked for, but the {name} backend gives {actual}")
    _Default.group = group
    if name != "local":
        _Default.restore_excepthook = install_abort_hook(group.rank, group.world_size, group.abort)


def destroy_process_group(group=None) -> None:
    """Leave the default group (the abort hook goes too); init_process_group may run again."""
    default = _group(group)
    default.close()
    if _Default.restore_excepthook is not None:
        _Default.restore_excepthook()
    _Default.group = _Default.restore_excepthook = None


def _group(group=None):
    if group is not None:
        raise NotImplementedError("only the default process group exists: pass group=None")
    if _Default.group is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _Default.group


def default_group():
    """The backend object of the default group (rank, local_rank, timeout, abort)."""
    return _group()


def is_initialized() -> bool:
    return _Default.group is not None


def is_available() -> bool:
    return True


def is_mpi_available() -> bool:
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    return importlib.util.find_spec("cupy") is not None and is_mpi_available()


def get_backend(group=None) -> str:
    return _group(group).name


def get_rank(group=None) -> int:
    """This process's rank, 0 to world_size - 1."""
    return _group(group).rank


def get_world_size(group=None) -> int:
    """How many processes the group has."""
    return _group(group).world_size


def get_node_local_rank() -> int:
    """This process's rank among the group's processes on the same machine."""
    return _group().local_rank


def _finished(work: Work, async_op: bool) -> Work | None:
    if async_op:
        return work
    work.wait()
    return None


def _array(tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"expected a Tensor, not {type(tensor).__name__}")
    return tensor.array


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine `tensor` (any shape) across ranks with `op`, in place on every rank."""
    return _finished(_group(group).all_reduce(_array(tensor), ReduceOp(op)), async_op)


def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank `src`'s values of `tensor` (any shape) into `tensor` on every rank."""
    backend = _group(group)
    if not 0 <= src < backend.world_size:
        raise ValueError(f"src={src} is not a rank of a group of {backend.world_size}")
    return _finished(backend.broadcast(_array(tensor), src), async_op)


def barrier(group=None, async_op: bool = False):
    """Wait until every rank has reached this call."""
    return _finished(_group(group).barrier(), async_op)


def broadcast_object_list(object_list: list, src: int = 0, group=None) -> None:
    """Replace the items of `object_list` on every rank with rank `src`'s (same length).

    Objects are pickled, and unpickled through an allow-list (see objects.py).
    """
    backend = _group(group)
    payload = objects.dumps(list(object_list)) if backend.rank == src else None
    received = objects.loads(backend.broadcast_bytes(payload, src))
    if len(received) != len(object_list):
        raise ValueError(
            f"broadcast_object_list: rank {src} sent {len(received)} objects but rank "
            f"{backend.rank}'s list has {len(object_list)} places"
        )
    object_list[:] = received


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill `object_list` (world_size places) with every rank's `obj`, in rank order."""
    backend = _group(group)
    if len(object_list) != backend.world_size:
        raise ValueError(
            f"all_gather_object needs a list of world_size={backend.world_size} places, "
            f"not {len(object_list)}"
        )
    object_list[:] = [objects.loads(b) for b in backend.all_gather_bytes(objects.dumps(obj))]
