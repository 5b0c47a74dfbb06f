"""DistributedDataParallel: a module whose gradients are averaged across ranks during backward.

As in PyTorch's DDP: at construction every rank checks that all ranks hold the same parameters
(names, shapes, dtypes: the same error on every rank otherwise) and takes rank 0's values.
Parameters are packed into buckets in reverse order (roughly the order backward finishes
them). A post-accumulate-grad hook on each parameter counts it ready; when a bucket is ready,
and every bucket before it has been started (so all ranks start them in the same order), its
gradients are copied into one flat buffer and an allreduce starts while backward goes on. The
last hook waits for all of them and writes the averages back into `.grad`.

Unused parameters cannot hang the job: forward walks the graph of its output to learn which
parameters backward will reach; the others are not waited for and send their current `.grad`
(zeros if None). Each bucket also sums one flag per parameter, "this rank has a gradient", so
a parameter no rank used keeps `.grad` None everywhere, as in one process.
"""

from __future__ import annotations

import contextlib
import weakref

from ..autograd import AccumulateGrad, replayable
from ..backend import get_array_module
from ..creation import as_tensor
from ..grad_mode import is_grad_enabled
from ..nn.module import Module
from ..tensor import Tensor
from .collective import ReduceOp
from .process_group import all_gather_object, default_group

_FIRST_BUCKET_BYTES = 1 << 20  # small, so the first allreduce starts early (as PyTorch)


class _Bucket:
    """Parameters (indices into DDP's list) whose gradients travel as one flat buffer:
    [every gradient, flattened, in order; then one has-a-gradient flag per parameter]."""

    def __init__(self, indices: list[int], parameters: list):
        self.indices = indices
        self.offsets, total = [], 0
        for i in indices:
            self.offsets.append(total)
            total += parameters[i].array.size
        first = parameters[indices[0]]
        xp = get_array_module(first.array)
        self.buffer = xp.zeros(total + len(indices), dtype=first.dtype)
        self.flags = self.buffer[total:]


class _Iteration:
    """One forward's backward: which parameters are still awaited, which buckets started."""

    def __init__(self, buckets: list[_Bucket], reached: frozenset[int]):
        self.awaited = set(reached)
        self.started = False  # a hook has fired
        self.waiting = [sum(i in reached for i in b.indices) for b in buckets]
        self.works: list = []


def _tensors_in(value) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors_in(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors_in(item)]
    return []


def leaves_reached(output) -> set[int]:
    """The ids of the leaf tensors that the tensors in `output` depend on through the graph."""
    stack, seen, leaves = [], set(), set()
    for tensor in _tensors_in(output):
        if tensor.grad_fn is not None:
            stack.append(tensor.grad_fn)
        elif tensor.requires_grad:
            leaves.add(id(tensor))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is AccumulateGrad:
            leaves.add(id(node.tensor))
        else:
            stack.extend(parent for parent in node.parents if parent is not None)
    return leaves


def _check_same_parameters(module: Module) -> None:
    """Raise the same RuntimeError on every rank unless all ranks hold the same parameters."""
    mine = [(name, p.shape, p.dtype.name, p.requires_grad) for name, p in module.named_parameters()]
    everyone: list = [None] * default_group().world_size
    all_gather_object(everyone, mine)
    for rank, theirs in enumerate(everyone):
        if theirs == everyone[0]:
            continue
        detail = f"{len(theirs)} parameters where rank 0 has {len(everyone[0])}"
        for a, b in zip(theirs, everyone[0]):
            if a != b:
                detail = f"{_describe(a)} where rank 0 has {_describe(b)}"
                break
        raise RuntimeError(
            f"DistributedDataParallel needs the same parameters on every rank, but rank {rank} "
            f"has {detail}"
        )


def _describe(entry) -> str:
    name, shape, dtype, requires_grad = entry
    return f"{name} {tuple(shape)} {dtype}" + ("" if requires_grad else " (no grad)")


class DistributedDataParallel(Module):
    """Wrap `module` so that backward leaves every rank the mean of all ranks' gradients.

    Call the wrapper (not `.module`) in each training step, and use every output in the loss
    (or detach what is not used). `no_sync()` skips the averaging: gradients accumulate
    locally and the next synchronised backward averages the totals.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0):
        super().__init__()
        self.module = module
        self.require_backward_grad_sync = True
        group = default_group()
        _check_same_parameters(module)
        for parameter in module.parameters():  # rank 0's values everywhere
            group.broadcast(parameter.array, 0).wait()
        self._names = [name for name, p in module.named_parameters() if p.requires_grad]
        self._params = [p for p in module.parameters() if p.requires_grad]
        self._buckets = self._make_buckets(int(bucket_cap_mb * (1 << 20)))
        self._bucket_of = {i: b for b, bucket in enumerate(self._buckets) for i in bucket.indices}
        self._index = {id(p): i for i, p in enumerate(self._params)}
        self._iteration = None
        handles = []
        this = weakref.ref(self)
        for parameter in self._params:
            handles.append(parameter.register_post_accumulate_grad_hook(_hook_of(this)))
        weakref.finalize(self, _remove_all, handles)

    def _make_buckets(self, cap_bytes: int) -> list[_Bucket]:
        buckets, current, size = [], [], 0
        limit = min(cap_bytes, _FIRST_BUCKET_BYTES)
        for i in reversed(range(len(self._params))):
            parameter = self._params[i]
            kind = (parameter.dtype, parameter.device)
            if current and (size >= limit or kind != self._kind(current[0])):
                buckets.append(_Bucket(current, self._params))
                current, size, limit = [], 0, cap_bytes
            current.append(i)
            size += parameter.array.nbytes
        if current:
            buckets.append(_Bucket(current, self._params))
        return buckets

    def _kind(self, index: int) -> tuple:
        return self._params[index].dtype, self._params[index].device

    def forward(self, *inputs, **kwargs):
        output = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self._params:
            reached = leaves_reached(output)
            self._prepare_for_backward(
                frozenset(i for i, p in enumerate(self._params) if id(p) in reached)
            )
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward accumulates gradients locally without averaging them."""
        previous, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------ the backward side

    @replayable  # a jit replay does not run forward's Python, so it replays this call
    def _prepare_for_backward(self, reached: frozenset) -> None:
        previous = self._iteration
        if previous is not None and previous.started:
            missing = [self._names[i] for i in sorted(previous.awaited)]
            self._iteration = None
            raise RuntimeError(
                "the previous backward did not reach parameters that the output of "
                f"DistributedDataParallel's forward depends on ({', '.join(missing)}), so their "
                "gradients were not averaged: use every output in the loss, or detach the others"
            )
        sync = self.require_backward_grad_sync and reached
        self._iteration = _Iteration(self._buckets, reached) if sync else None

    def _on_gradient(self, parameter: Tensor) -> None:
        iteration = self._iteration
        if iteration is None:  # no_sync, or a backward that did not start from our forward
            return
        index = self._index[id(parameter)]
        if index not in iteration.awaited:
            raise RuntimeError(
                f"{self._names[index]} received a gradient that DistributedDataParallel did not "
                "expect: it is used outside the wrapped module's forward, or backward ran twice"
            )
        iteration.awaited.discard(index)
        iteration.started = True
        iteration.waiting[self._bucket_of[index]] -= 1
        self._start_ready_buckets(iteration)
        if len(iteration.works) == len(self._buckets):
            self._finish(iteration)

    def _start_ready_buckets(self, iteration: _Iteration) -> None:
        group = default_group()
        while len(iteration.works) < len(self._buckets):
            bucket = self._buckets[len(iteration.works)]
            if iteration.waiting[len(iteration.works)]:
                break
            for slot, (i, offset) in enumerate(zip(bucket.indices, bucket.offsets)):
                grad, size = self._params[i].grad, self._params[i].array.size
                if grad is None:
                    bucket.buffer[offset : offset + size] = 0
                else:
                    bucket.buffer[offset : offset + size] = grad.array.reshape(-1)
                bucket.flags[slot] = grad is not None
            iteration.works.append(group.all_reduce(bucket.buffer, ReduceOp.SUM))
        for work in iteration.works:
            work.is_completed()  # lets MPI progress the transfers already started

    def _finish(self, iteration: _Iteration) -> None:
        self._iteration = None
        world_size = default_group().world_size
        for bucket, work in zip(self._buckets, iteration.works):
            work.wait()
            bucket.buffer /= world_size
            has_gradient = bucket.flags.tolist()  # one read, also from a GPU
            for slot, (i, offset) in enumerate(zip(bucket.indices, bucket.offsets)):
                if not has_gradient[slot]:
                    continue  # no rank has a gradient for it: it stays None, as in one process
                parameter = self._params[i]
                mean = bucket.buffer[offset : offset + parameter.array.size].reshape(
                    parameter.shape
                )
                if parameter.grad is None:
                    parameter.grad = as_tensor(mean.copy(), device=parameter.device)
                else:
                    parameter.grad.array[...] = mean


def _hook_of(ddp_reference):
    def hook(parameter):
        ddp = ddp_reference()
        if ddp is not None:
            ddp._on_gradient(parameter)

    return hook


def _remove_all(handles: list) -> None:
    for handle in handles:
        handle.remove()
