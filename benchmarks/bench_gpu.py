"""One training step of the book's model on a CUDA GPU: the engine (eager and captured), a
hand-written CuPy floor and, where torch is present, PyTorch (fused cuDNN, RNNCell loop, and
the fused step captured in a CUDA graph). Batch 150 and 1024; prints a table, writes JSON.

    python -m benchmarks.bench_gpu [--repeats 50] [--device cpu]

`--device cpu` runs the same code on NumPy (PyTorch on the CPU, no graph): a dry run that
checks the script, and every variant's loss against the floor's, on a machine without a GPU.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import tinygrad_rnn as tg
from benchmarks import numpy_rnn
from benchmarks.rnn_step import (
    CLASSES,
    HIDDEN,
    INPUTS,
    engine_training_step,
    load_torch_weights,
    torch_model,
)
from benchmarks.timing import measure, print_table, write_json
from tinygrad_rnn.backend import xp_for


def engine_step(params, x, labels, capture: bool, device: str):
    train_step, _ = engine_training_step(params, capture, device=device)
    inputs, targets = tg.as_tensor(x, device=device), tg.as_tensor(labels, device=device)

    def step():
        return train_step(inputs, targets).item()

    step.train_step = train_step
    return step


def floor_step(params, x, labels, device: str):
    xp = xp_for(device)
    params = {k: xp.asarray(v) for k, v in params.items()}
    x, labels, state = xp.asarray(x), xp.asarray(labels), {}
    return lambda: numpy_rnn.training_step(params, state, x, labels)


def torch_steps(params, x, labels, device: str) -> dict:
    try:
        import torch
    except ImportError:
        return {}
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    x, labels = torch.from_numpy(x).to(device), torch.from_numpy(labels).to(device)

    def build(kind):
        recurrent, dense, forward = torch_model("cell" if kind == "cell" else "fused", device)
        modules = torch.nn.ModuleList([recurrent, dense])
        optimizer = torch.optim.Adam(modules.parameters(), lr=1e-3, capturable=kind == "graph")

        @torch.no_grad()
        def start_over():
            """The weights every variant starts from, and a fresh Adam state."""
            load_torch_weights(recurrent, dense, params)
            for state in optimizer.state.values():
                for value in state.values():
                    value.zero_()

        start_over()

        def step():
            loss = torch.nn.functional.cross_entropy(forward(x), labels)
            optimizer.zero_grad(set_to_none=False)
            loss.backward()
            optimizer.step()
            return loss

        if kind != "graph":
            return lambda: step().item()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):  # warm up outside the graph, as CUDA graphs require
                step()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            loss = step()
        start_over()  # the warm-up steps moved the weights; the graph reads them in place

        def replay():
            graph.replay()
            return loss.item()

        return replay

    variants = {
        "torch fused, eager": build("fused"),
        "torch RNNCell loop, eager": build("cell"),
    }
    if device == "cuda":
        variants["torch fused, CUDA graph"] = build("graph")
    return variants


def table(batch: int, repeats: int, device: str) -> dict:
    """Every variant's first-step loss checked against the floor's, then the timings.

    Each call ends with the loss read back (`.item()`), which waits for the GPU to finish.
    """
    rng = np.random.default_rng(batch)
    params = numpy_rnn.init_params(INPUTS, HIDDEN, CLASSES, seed=1)
    x = rng.random((batch, 28, INPUTS), dtype=np.float32)
    labels = rng.integers(0, CLASSES, batch)
    variants = {
        "engine eager": engine_step(params, x, labels, False, device),
        "engine jit": engine_step(params, x, labels, True, device),
        "floor": floor_step(params, x, labels, device),
        **torch_steps(params, x, labels, device),
    }
    losses = {name: step() for name, step in variants.items()}
    for name, loss in losses.items():
        np.testing.assert_allclose(loss, losses["floor"], rtol=1e-4, err_msg=name)
    timing = measure(variants, repeats)
    graphed = variants["engine jit"].train_step.graphed
    print(f"engine jit replays as CUDA graphs: {'yes' if graphed else 'no'}")
    floor = timing["floor"]["median"]
    print_table(
        f"training step on {device}, batch {batch} (ms; floor: hand-written, no autograd)",
        ["implementation", "median", "vs floor"],
        [[k, f"{t['median'] * 1e3:.3f}", f"{t['median'] / floor:.2f}x"] for k, t in timing.items()],
    )
    return timing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", default="benchmarks/results/gpu.json")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--batches", type=int, nargs="+", default=[150, 1024])
    args = parser.parse_args(argv)
    if args.device == "cuda" and not tg.cuda_is_available():
        print("no CUDA device: nothing to measure")
        return 0
    tables = {batch: table(batch, args.repeats, args.device) for batch in args.batches}
    write_json(args.out, tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
