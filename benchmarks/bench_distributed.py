"""Where a data-parallel step's time goes: mpiexec -n N python -m benchmarks.bench_distributed.

Each rank trains one of the MNIST models with DistributedDataParallel on its part of a global
batch of random images, and times every step and the part of it spent in DDP's gradient
synchronisation (packing the buckets, the allreduces, waiting for them, unpacking). The sync
includes waiting for the slowest rank, so a bare allreduce of the same number of bytes is timed
as well (all ranks entering together). Started without mpiexec it runs as a world of one.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.distributed as dist
from benchmarks.timing import print_table, write_json
from models.mnist_rnn.networks import MODELS, build_model
from tinygrad_rnn import F
from tinygrad_rnn.distributed.launch import launched_world_size, limit_blas_threads
from tinygrad_rnn.distributed.process_group import default_group


def timed_sync(ddp, totals: list) -> None:
    """Add the seconds DDP spends in its synchronisation to totals[0]."""
    for name in ("_start_ready_buckets", "_finish"):
        method = getattr(ddp, name)

        def timed(*args, method=method):
            start = time.perf_counter()
            method(*args)
            totals[0] += time.perf_counter() - start

        setattr(ddp, name, timed)


def bare_allreduce(size: int, repeats: int) -> float:
    """Median seconds of an allreduce of `size` float32 values that all ranks enter together."""
    buffer, samples = tg.zeros(size), []
    for _ in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(buffer)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(model_name: str, batch_size: int, steps: int, warmup: int) -> dict:
    world, rank = dist.get_world_size(), dist.get_rank()
    model = build_model(model_name, seed=0)
    ddp = dist.DistributedDataParallel(model)
    optimizer = tg.optim.Adam(model.parameters(), lr=1e-3)
    rows = len(np.array_split(np.arange(batch_size), world)[rank])
    rng = np.random.default_rng(rank)
    images = tg.tensor(rng.random((rows, 28, 28), dtype=np.float32))
    labels = tg.tensor(rng.integers(0, 10, rows))
    scale = world / batch_size
    sync, step_times, sync_times = [0.0], [], []
    timed_sync(ddp, sync)
    for index in range(warmup + steps):
        dist.barrier()
        sync[0], start = 0.0, time.perf_counter()
        loss = F.cross_entropy(ddp(images), labels, reduction="sum") * scale
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if index >= warmup:
            step_times.append(time.perf_counter() - start)
            sync_times.append(sync[0])
    size = sum(p.array.size for p in model.parameters())
    return {
        "model": model_name,
        "ranks": world,
        "rows_per_rank": rows,
        "step_ms": 1e3 * statistics.median(step_times),
        "sync_ms": 1e3 * statistics.median(sync_times),
        "allreduce_ms": 1e3 * bare_allreduce(size, repeats=max(steps, 5)),
        "parameters": size,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=["basic", "lstm"])
    parser.add_argument("--batch-size", type=int, default=150, help="the global batch")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--blas-threads", type=int, default=None, help="per rank (default: cores // ranks)"
    )
    parser.add_argument("--out", default="benchmarks/results/distributed.json")
    args = parser.parse_args(argv)
    dist.init_process_group("mpi" if launched_world_size() > 1 else "local")
    threads = args.blas_threads or limit_blas_threads(default_group().local_world_size)
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)
    results = [run(name, args.batch_size, args.steps, args.warmup) for name in args.models]
    if dist.get_rank() == 0:
        print_table(
            f"{dist.get_world_size()} rank(s), {threads} BLAS thread(s) each, global batch "
            f"{args.batch_size}, medians of {args.steps} steps",
            ["model", "rows/rank", "step ms", "DDP sync ms", "share", "bare allreduce ms"],
            [
                [
                    r["model"],
                    r["rows_per_rank"],
                    f"{r['step_ms']:.2f}",
                    f"{r['sync_ms']:.3f}",
                    f"{r['sync_ms'] / r['step_ms']:.1%}",
                    f"{r['allreduce_ms']:.3f}",
                ]
                for r in results
            ],
        )
        write_json(args.out, {"blas_threads": threads, "results": results})
    dist.destroy_process_group()
    return {"results": results}


if __name__ == "__main__":
    main()
