"""One training step of the book's model on a CUDA GPU: the engine (eager and captured), a
hand-written CuPy floor and, where torch is present, PyTorch (fused cuDNN, RNNCell loop, and
the fused step captured in a CUDA graph). Batch 150 and 1024; prints a table, writes JSON.

    python -m benchmarks.bench_gpu [--repeats 50]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import tinygrad_rnn as tg
from benchmarks import numpy_rnn
from benchmarks.rnn_step import CLASSES, HIDDEN, INPUTS, engine_training_step
from benchmarks.timing import measure, print_table, write_json


def engine_step(params, x, labels, capture: bool):
    train_step, _ = engine_training_step(params, capture, device="cuda")
    inputs, targets = tg.Tensor(x, device="cuda"), tg.Tensor(labels, device="cuda")
    return lambda: train_step(inputs, targets)


def floor_step(params, x, labels):
    import cupy

    params = {k: cupy.asarray(v) for k, v in params.items()}
    x, labels, state = cupy.asarray(x), cupy.asarray(labels), {}
    return lambda: numpy_rnn.training_step(params, state, x, labels)


def torch_steps(params, x, labels) -> dict:
    try:
        import torch
    except ImportError:
        return {}
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    x, labels = torch.from_numpy(x).cuda(), torch.from_numpy(labels).cuda()

    def build(kind):
        recurrent = (
            torch.nn.RNN(INPUTS, HIDDEN, batch_first=True)
            if kind != "cell"
            else torch.nn.RNNCell(INPUTS, HIDDEN)
        ).cuda()
        dense = torch.nn.Linear(HIDDEN, CLASSES).cuda()
        modules = torch.nn.ModuleList([recurrent, dense])
        optimizer = torch.optim.Adam(modules.parameters(), lr=1e-3, capturable=kind == "graph")

        def forward(inputs):
            if kind == "cell":
                h = torch.zeros(inputs.shape[0], HIDDEN, device="cuda")
                for t in range(inputs.shape[1]):
                    h = recurrent(inputs[:, t], h)
                return dense(h)
            return dense(recurrent(inputs)[1][0])

        def step():
            loss = torch.nn.functional.cross_entropy(forward(x), labels)
            optimizer.zero_grad(set_to_none=False)
            loss.backward()
            optimizer.step()
            return loss

        if kind != "graph":
            return step
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):  # warm up outside the graph, as CUDA graphs require
                step()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        return graph.replay

    return {
        "torch fused cuDNN, eager": build("fused"),
        "torch RNNCell loop, eager": build("cell"),
        "torch fused, CUDA graph": build("graph"),
    }


def synchronized(fn):
    import cupy

    def run():
        fn()
        cupy.cuda.Device().synchronize()

    return run


def table(batch: int, repeats: int) -> dict:
    rng = np.random.default_rng(batch)
    params = numpy_rnn.init_params(INPUTS, HIDDEN, CLASSES, seed=1)
    x = rng.random((batch, 28, INPUTS), dtype=np.float32)
    labels = rng.integers(0, CLASSES, batch)
    variants = {
        "engine eager": engine_step(params, x, labels, False),
        "engine jit": engine_step(params, x, labels, True),
        "cupy floor": floor_step(params, x, labels),
        **torch_steps(params, x, labels),
    }
    timing = measure({k: synchronized(v) for k, v in variants.items()}, repeats)
    floor = timing["cupy floor"]["median"]
    print_table(
        f"GPU training step, batch {batch} (ms)",
        ["implementation", "median", "vs floor"],
        [[k, f"{t['median'] * 1e3:.3f}", f"{t['median'] / floor:.2f}x"] for k, t in timing.items()],
    )
    return timing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", default="benchmarks/results/gpu.json")
    args = parser.parse_args(argv)
    if not tg.cuda_is_available():
        print("no CUDA device: nothing to measure")
        return 0
    write_json(args.out, {batch: table(batch, args.repeats) for batch in (150, 1024)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
