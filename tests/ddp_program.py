"""Programs the distributed tests start under mpiexec: `python tests/ddp_program.py NAME OUT`.

Each rank writes what it ended with to OUT (rank{r}.npz or rank{r}.txt) for the test to
compare; `train_run` is also imported by the tests for the one-process reference.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.distributed as dist
from tinygrad_rnn import F, nn
from tinygrad_rnn.data import Batches

ROWS, CLASSES = 116, 10  # global batches of 23: uneven over 2 or 3 ranks, then one row


def synthetic(rows: int = ROWS):
    """Images (rows, 28, 28) uint8 whose bright row is the label, labels (rows,) int64."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, CLASSES, rows)
    images = rng.integers(0, 60, (rows, 28, 28)).astype(np.uint8)
    images[np.arange(rows), 2 * labels + 4] = 250
    return images, labels.astype(np.int64)


def float64_tensors(self, images, labels):
    pixels = tg.as_tensor(images.astype(np.float64) / 255, device=self.device)
    return pixels, tg.as_tensor(labels.astype(np.int64), device=self.device)


class Batches64(Batches):
    to_tensors = float64_tensors


class DistributedBatches64(dist.DistributedBatches):
    to_tensors = float64_tensors


class Classifier(nn.Module):
    """The book's basic model (one tanh RNN layer) or its LSTM (3 layers), smaller, float64."""

    def __init__(self, kind: str, seed: int, dense_inputs: int | None = None):
        super().__init__()
        dtype = tg.float64
        if kind == "basic":
            self.rnn = nn.RNN(28, 24, batch_first=True, generator=seed, dtype=dtype)
        else:
            self.rnn = nn.LSTM(28, 12, num_layers=3, batch_first=True, generator=seed, dtype=dtype)
        hidden = self.rnn.hidden_size
        self.dense = nn.Linear(dense_inputs or hidden, CLASSES, generator=seed + 1, dtype=dtype)

    def forward(self, images):
        _, state = self.rnn(images)
        last = state[0] if isinstance(state, tuple) else state
        return self.dense(last[-1])


def train_run(
    kind: str,
    distributed: bool,
    *,
    seed: int = 3,
    batch_size: int = 23,
    epochs: int = 2,
    use_jit: bool = False,
    micro_batches: int = 1,
    rows: int = ROWS,
    device: str = "cpu",
) -> list[np.ndarray]:
    """Train with Adam; returns the final parameters. Distributed: DDP over the default
    group, each global batch split across ranks; `micro_batches` > 1 accumulates that many
    parts of each global batch under no_sync before the synchronised one (`rows` must then
    be a multiple of `batch_size`, so every part has the same share)."""
    images, labels = synthetic(rows)
    model = Classifier(kind, seed).to(device)
    optimizer = tg.optim.Adam(model.parameters(), lr=0.01)
    if not distributed:
        net = model
        batches = Batches64(images, labels, batch_size, seed=11, device=device)
    else:
        net = dist.DistributedDataParallel(model, bucket_cap_mb=0.002)  # several buckets
        batches = DistributedBatches64(
            images,
            labels,
            batch_size // micro_batches,
            rank=dist.get_rank(),
            world_size=dist.get_world_size(),
            seed=11,
            device=device,
        )

    def step(x, y, scale=None):
        logits = net(x)
        if scale is None:
            loss = F.cross_entropy(logits, y)
        else:
            loss = F.cross_entropy(logits, y, reduction="sum") * scale
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    step = tg.jit(step) if use_jit else step
    for epoch in range(epochs):
        parts = list(batches.epoch(epoch))
        if micro_batches == 1:
            for part in parts:
                step(*part)
            continue
        for first in range(0, len(parts), micro_batches):
            optimizer.zero_grad()
            group = parts[first : first + micro_batches]
            for k, (x, y, scale) in enumerate(group):
                loss = F.cross_entropy(net(x), y, reduction="sum") * (scale / micro_batches)
                if k < len(group) - 1:
                    with net.no_sync():
                        loss.backward()
                else:
                    loss.backward()
            optimizer.step()
    return [p.detach().cpu().numpy().copy() for p in model.parameters()]


def save(out: Path, name: str, arrays: list[np.ndarray]) -> None:
    np.savez(out / f"{name}-rank{dist.get_rank()}.npz", *arrays)


def program_train(out: Path) -> None:
    """The runs the tests compare with one process, and with each other."""
    save(out, "basic", train_run("basic", True))
    save(out, "lstm", train_run("lstm", True))
    save(out, "basic-jit", train_run("basic", True, use_jit=True))
    save(out, "other-seeds", train_run("basic", True, seed=3 + 10 * dist.get_rank()))
    save(out, "no-sync", train_run("basic", True, batch_size=40, micro_batches=2, rows=80))


def program_cuda(out: Path) -> None:
    """On GPUs: NCCL's collectives and DDP (eager and jit), then MPI with CuPy arrays."""
    rank, world_size = dist.get_rank(), dist.get_world_size()
    reduced = []
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX):
        x = tg.tensor([rank + 1.0, -rank], device="cuda", dtype=tg.float64)
        dist.all_reduce(x, op)
        reduced.append(x.detach().cpu().numpy())
    x = tg.tensor([float(rank)] * 3, device="cuda")
    dist.broadcast(x, src=world_size - 1)
    reduced.append(x.detach().cpu().numpy())
    save(out, "cuda-collectives", reduced)
    save(out, "cuda-basic", train_run("basic", True, device="cuda"))
    save(out, "cuda-basic-jit", train_run("basic", True, device="cuda", use_jit=True))
    dist.destroy_process_group()
    dist.init_process_group("mpi", timeout=60)  # CuPy arrays through pinned host memory
    x = tg.tensor([rank + 1.0, -rank], device="cuda", dtype=tg.float64)
    dist.all_reduce(x)
    save(out, "cuda-over-mpi", [x.detach().cpu().numpy(), *train_run("basic", True, device="cuda")])


def program_mismatch(out: Path) -> None:
    """Rank 1's dense layer has another shape: every rank must raise the same error."""
    model = Classifier("basic", 0, dense_inputs=24 + dist.get_rank())
    try:
        dist.DistributedDataParallel(model)
    except RuntimeError as error:
        (out / f"rank{dist.get_rank()}.txt").write_text(str(error))


class Heads(nn.Module):
    """Three linear heads on one input, of which forward uses those in `used`."""

    def __init__(self, used: list[int]):
        super().__init__()
        heads = [nn.Linear(3, 2, generator=k, dtype=tg.float64) for k in range(3)]
        self.heads = nn.ModuleList(heads)
        self.used = used

    def forward(self, x):
        return [self.heads[k](x) for k in self.used]


def heads_gradients(rank: int, ddp: bool) -> list[np.ndarray]:
    """Head 0 is used by every rank, head 1 by rank 0 only, head 2 by none."""
    model = Heads([0, 1] if rank == 0 else [0])
    net = dist.DistributedDataParallel(model, bucket_cap_mb=1e-5) if ddp else model
    x = tg.randn(4, 3, generator=5 + rank, dtype=tg.float64)
    sum(out.sum() for out in net(x)).backward()
    assert model.heads[2].weight.grad is None
    zeros = np.zeros((2, 3))
    return [
        zeros if h.weight.grad is None else h.weight.grad.detach().cpu().numpy()
        for h in model.heads[:2]
    ]


def program_unused(out: Path) -> None:
    """Parameters one rank or every rank leaves unused: no rank waits for them."""
    save(out, "unused", heads_gradients(dist.get_rank(), ddp=True))


def program_crash(out: Path) -> None:
    """Rank 1 raises; rank 0 waits in an allreduce that rank 1 never joins."""
    dist.barrier()
    if dist.get_rank() == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(tg.ones(3))
    (out / "rank0-finished.txt").write_text("the allreduce returned")


def program_stall(out: Path) -> None:
    """Rank 1 stops taking part; rank 0's allreduce must time out (the group's timeout is 2 s)."""
    dist.barrier()
    if dist.get_rank() == 1:
        time.sleep(120)
    dist.all_reduce(tg.ones(3))


def program_exit(out: Path) -> None:
    """A training command's rank 1 returns an error status after catching an error itself."""
    from tinygrad_rnn.distributed.launch import training_ranks

    ranks = training_ranks(True)
    if ranks.rank == 1:
        sys.exit(1)
    dist.all_reduce(tg.ones(3))


def program_early(out: Path) -> None:
    """Rank 1 dies before joining the job; rank 0's MPI_Init cannot be polled (watchdog, 2 s)."""
    if os.environ.get("PMI_RANK") == "1":
        sys.exit(1)
    dist.init_process_group("mpi", timeout=2)


PROGRAMS = {
    "train": program_train,
    "cuda": program_cuda,
    "mismatch": program_mismatch,
    "unused": program_unused,
    "crash": program_crash,
    "stall": program_stall,
    "exit": program_exit,
    "early": program_early,
}
JOIN_THEMSELVES = ("exit", "early")

if __name__ == "__main__":
    name, out = sys.argv[1], Path(sys.argv[2])
    if name not in JOIN_THEMSELVES:
        backend = "nccl" if name == "cuda" else "mpi"
        dist.init_process_group(backend, timeout=2 if name == "stall" else 60)
    PROGRAMS[name](out)
    if name not in JOIN_THEMSELVES:
        dist.destroy_process_group()
