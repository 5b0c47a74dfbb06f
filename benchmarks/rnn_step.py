"""One training step of the book's model (forward, BPTT, Adam), every implementation from the
same weights, interleaved in one process; plus a sweep of sequence lengths (step time, memory
and compile time) and epoch times.

    python -m benchmarks.rnn_step [--repeats 100] [--batches 150 1024] [--no-peers] [--plot]

Variants: the engine eager (nn.RNN + nn.Linear + optim.Adam) and compiled (tg.jit), an
independent hand-written NumPy BPTT (the floor), the same hand-tuned with reused buffers and
one product per weight gradient, and, where they are installed, PyTorch eager with the fused
nn.RNN and with an nn.RNNCell loop, torch.compile, and JAX's jit with the loop unrolled and as
lax.scan (benchmarks/peers.py). Before timing, each variant's loss and updated weights are
checked against the floor's.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from benchmarks import numpy_rnn
from benchmarks import peers as peers_module
from benchmarks.timing import measure, print_table, write_json
from tinygrad_rnn import nn, optim

INPUTS, HIDDEN, CLASSES = 28, 150, 10


class EngineModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(INPUTS, HIDDEN, batch_first=True)
        self.dense = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):
        _, h_n = self.rnn(x)
        return self.dense(h_n[0])


def engine_training_step(params: dict, capture: bool = False, device: str = "cpu"):
    """The engine's training step on tensors, eager or captured (tinygrad_rnn.jit); the model."""
    model = EngineModel()
    model.load_state_dict(_engine_names(params))
    model.to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    def train_step(x, labels):
        loss = tg.F.cross_entropy(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return (tg.jit(train_step) if capture else train_step), model


def engine_variant(params: dict, capture: bool = False):
    train_step, model = engine_training_step(params, capture)

    def step(x, labels):
        return train_step(tg.as_tensor(x), tg.as_tensor(labels)).item()

    step.train_step = train_step

    def weights():
        return {k: p.numpy() for k, p in model.state_dict().items()}

    return step, weights


def _engine_names(params: dict) -> dict:
    return {
        "rnn.weight_ih_l0": params["weight_ih"],
        "rnn.weight_hh_l0": params["weight_hh"],
        "rnn.bias_ih_l0": params["bias_ih"],
        "rnn.bias_hh_l0": params["bias_hh"],
        "dense.weight": params["weight_out"],
        "dense.bias": params["bias_out"],
    }


def floor_variant(params: dict, buffered: bool = False):
    """The hand-written floor, or its buffered version (numpy_rnn.BufferedBPTT)."""
    params = {k: v.copy() for k, v in params.items()}
    state: dict = {}
    bptt = numpy_rnn.BufferedBPTT().loss_and_grads if buffered else numpy_rnn.loss_and_grads

    def step(x, labels):
        return numpy_rnn.training_step(params, state, x, labels, bptt)

    return step, lambda: _engine_names(params)


RECURRENT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def torch_model(kind: str, device: str = "cpu"):
    """PyTorch's version of the book's model, `kind` "fused" (nn.RNN) or "cell" (an
    nn.RNNCell loop over time): (recurrent module, dense layer, forward(x))."""
    import torch

    dense = torch.nn.Linear(HIDDEN, CLASSES).to(device)
    if kind == "fused":
        recurrent = torch.nn.RNN(INPUTS, HIDDEN, batch_first=True).to(device)
        return recurrent, dense, lambda x: dense(recurrent(x)[1][0])
    recurrent = torch.nn.RNNCell(INPUTS, HIDDEN).to(device)

    def forward(x):
        h = torch.zeros(x.shape[0], HIDDEN, device=device)
        for t in range(x.shape[1]):
            h = recurrent(x[:, t], h)
        return dense(h)

    return recurrent, dense, forward


def _torch_suffix(recurrent) -> str:
    return "_l0" if hasattr(recurrent, "weight_ih_l0") else ""


def load_torch_weights(recurrent, dense, params: dict) -> None:
    """Copy the floor's weights (PyTorch's layout, NumPy arrays) into the torch modules."""
    import torch

    with torch.no_grad():
        for name in RECURRENT_NAMES:
            getattr(recurrent, name + _torch_suffix(recurrent)).copy_(
                torch.from_numpy(params[name])
            )
        dense.weight.copy_(torch.from_numpy(params["weight_out"]))
        dense.bias.copy_(torch.from_numpy(params["bias_out"]))


def torch_variants(params: dict) -> dict:
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(max(1, torch.get_num_threads()))
    variants = {}
    for name, kind in (
        ("torch eager, fused nn.RNN", "fused"),
        ("torch eager, RNNCell loop", "cell"),
    ):
        recurrent, dense, forward = torch_model(kind)
        load_torch_weights(recurrent, dense, params)
        modules = torch.nn.ModuleList([recurrent, dense])
        optimizer = torch.optim.Adam(modules.parameters(), lr=1e-3)

        def step(x, labels, forward=forward, optimizer=optimizer):
            loss = torch.nn.functional.cross_entropy(
                forward(torch.from_numpy(x)), torch.from_numpy(labels)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss.item()

        def weights(recurrent=recurrent, dense=dense):
            suffix = _torch_suffix(recurrent)
            out = {k: getattr(recurrent, k + suffix).detach().numpy() for k in RECURRENT_NAMES}
            out.update(
                weight_out=dense.weight.detach().numpy(), bias_out=dense.bias.detach().numpy()
            )
            return _engine_names(out)

        variants[name] = (step, weights)
    return variants


def check_equal(variants: dict, x, labels) -> None:
    """Two steps of every variant from the same weights: losses and new weights must agree."""
    results = {}
    for name, (step, weights) in variants.items():
        losses = [step(x, labels) for _ in range(2)]
        results[name] = (losses, weights())
    ref_losses, ref_weights = results["numpy floor"]
    for name, (losses, weights) in results.items():
        np.testing.assert_allclose(losses, ref_losses, rtol=1e-4, err_msg=name)
        for key, value in ref_weights.items():
            np.testing.assert_allclose(
                weights[key], value, rtol=1e-3, atol=1e-5, err_msg=f"{name}: {key}"
            )


def make_variants(params, peers: bool = True, torch: bool = True):
    variants = {
        "engine eager": engine_variant(params),
        "engine compiled (tg.jit)": engine_variant(params, capture=True),
        "numpy floor": floor_variant(params),
        "numpy, buffers + stacked products": floor_variant(params, buffered=True),
    }
    if torch:
        variants.update(torch_variants(params))
    if peers:
        variants.update(peers_module.torch_compile_variant(params))
        variants.update(peers_module.jax_variants(params))
    return variants


def step_table(batch: int, repeats: int, peers=True, steps: int = 28, torch=True) -> dict:
    rng = np.random.default_rng(batch)
    params = numpy_rnn.init_params(INPUTS, HIDDEN, CLASSES, seed=1)
    x = rng.random((batch, steps, INPUTS), dtype=np.float32)
    labels = rng.integers(0, CLASSES, batch)
    check_equal(make_variants(params, peers, torch), x, labels)
    variants = make_variants(params, peers, torch)
    calls = {name: (lambda s=step: s(x, labels)) for name, (step, _) in variants.items()}
    timing = measure(calls, repeats, settle=1)  # NumPy and PyTorch each warm their threads
    floor = timing["numpy floor"]["median"]
    rows = [
        [
            name,
            f"{t['median'] * 1e3:.2f}",
            f"{t['min'] * 1e3:.2f}-{t['max'] * 1e3:.2f}",
            f"{t['median'] / floor:.2f}x",
        ]
        for name, t in timing.items()
    ]
    print_table(
        f"training step, batch {batch}, {steps} steps (ms; losses and updates checked equal)",
        ["implementation", "median", "min-max", "vs floor"],
        rows,
    )
    return timing


def length_sweep(lengths, batch: int, repeats: int) -> dict:
    """Time and peak traced memory of an engine and a floor step as T grows."""
    params = numpy_rnn.init_params(INPUTS, HIDDEN, CLASSES, seed=1)
    labels = np.arange(batch) % CLASSES
    results, rows = {}, []
    for steps in lengths:
        x = np.random.default_rng(steps).random((batch, steps, INPUTS), dtype=np.float32)
        variants = {
            "engine eager": engine_variant(params)[0],
            "engine compiled": engine_variant(params, capture=True)[0],
            "numpy floor": floor_variant(params)[0],
        }
        calls = {k: (lambda s=s, x=x: s(x, labels)) for k, s in variants.items()}
        timing = measure(calls, repeats, 1)
        peaks = {}
        for name, step in variants.items():
            tracemalloc.start()
            step(x, labels)
            peaks[name] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        results[steps] = {k: {**timing[k], "peak_bytes": peaks[k]} for k in variants}
        (record,) = variants["engine compiled"].train_step.records.values()
        results[steps]["engine compiled"]["compile_seconds"] = record.compile_seconds
        rows.append(
            [steps]
            + [f"{timing[k]['median'] * 1e3:.1f} ms / {peaks[k] / 2**20:.0f} MiB" for k in variants]
            + [f"{record.compile_seconds:.3f}"]
        )
    print_table(
        f"sequence length sweep, batch {batch} (median time / peak memory per step)",
        ["T", *variants, "compile s"],
        rows,
    )
    for name in variants:
        per_step = [results[t][name]["median"] / t for t in lengths]
        per_mem = [results[t][name]["peak_bytes"] / t for t in lengths]
        print(
            f"{name}: time per time step {min(per_step) * 1e6:.0f}-{max(per_step) * 1e6:.0f} µs, "
            f"memory per time step {min(per_mem) / 1024:.0f}-{max(per_mem) / 1024:.0f} KiB"
        )
    return results


def epoch_times(model: str = "basic") -> dict:
    """Seconds for one epoch of the book's model through the command line, and of PyTorch."""
    result = {}
    for label, extra in (("engine command line (compiled)", []), ("same, --eager", ["--eager"])):
        out = f"benchmarks/results/epoch-{time.time_ns()}"
        command = [
            sys.executable,
            "-m",
            "models.mnist_rnn",
            "train",
            "--model",
            model,
            "--epochs",
            "1",
            "--no-progress",
            "--out",
            out,
            *extra,
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result[label] = float(output.split("(")[1].split(" s)")[0])
    variants = torch_variants(numpy_rnn.init_params(INPUTS, HIDDEN, CLASSES, seed=1))
    if variants:
        step = variants["torch eager, fused nn.RNN"][0]
        rng = np.random.default_rng(0)
        x = rng.random((150, 28, INPUTS), dtype=np.float32)
        labels = rng.integers(0, CLASSES, 150)
        start = time.perf_counter()
        for _ in range(-(-55_000 // 150)):
            step(x, labels)
        result["torch fused, 367 steps"] = time.perf_counter() - start
    print_table(
        "one epoch of 55,000 images, training only (s)",
        ["what", "seconds"],
        [[k, f"{v:.1f}"] for k, v in result.items()],
    )
    return result


def plot(result: dict, path: str) -> None:
    """Step times per implementation and batch, and time and memory per step against T."""
    import matplotlib

    matplotlib.use("Agg")  # a file, no display
    import matplotlib.pyplot as plt

    figure, (bars, times, memory) = plt.subplots(1, 3, figsize=(16, 4))
    for offset, (batch, timing) in enumerate(result["steps"].items()):
        floor = timing["numpy floor"]["median"]
        names = list(timing)
        ratios = [timing[name]["median"] / floor for name in names]
        positions = [i + 0.4 * offset for i in range(len(names))]
        bars.barh(positions, ratios, height=0.4, label=f"batch {batch}")
    bars.set_yticks([i + 0.2 * (len(result["steps"]) - 1) for i in range(len(names))], names)
    bars.axvline(1.0, color="black", linewidth=0.8)
    bars.set_xlabel("median step time / NumPy floor")
    bars.legend()
    sweep = {int(t): row for t, row in result["lengths"].items()}  # JSON keys are strings
    lengths = sorted(sweep)
    for name in sweep[lengths[0]]:
        row = [sweep[t][name] for t in lengths]
        times.plot(lengths, [r["median"] * 1e3 for r in row], marker="o", label=name)
        memory.plot(lengths, [r["peak_bytes"] / 2**20 for r in row], marker="o", label=name)
    times.set(xlabel="sequence length T", ylabel="ms per training step")
    memory.set(xlabel="sequence length T", ylabel="peak traced MiB per step")
    times.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    print(f"wrote {path}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--batches", type=int, nargs="+", default=[150, 1024])
    parser.add_argument("--lengths", type=int, nargs="+", default=[28, 112, 392, 784])
    parser.add_argument("--no-epoch", action="store_true", help="skip the whole-epoch timing")
    parser.add_argument(
        "--no-peers", action="store_true", help="without torch.compile and JAX (their compiles)"
    )
    parser.add_argument(
        "--long",
        type=int,
        nargs=3,
        metavar=("BATCH", "STEPS", "REPEATS"),
        help="also time a long step (say 1024 784 5), engine and NumPy variants only",
    )
    parser.add_argument("--out", default="benchmarks/results/rnn_step.json")
    parser.add_argument(
        "--plot", action="store_true", help="also draw the results next to --out (matplotlib)"
    )
    args = parser.parse_args(argv)
    result = {
        "steps": {b: step_table(b, args.repeats, not args.no_peers) for b in args.batches},
        "lengths": length_sweep(args.lengths, 150, max(3, args.repeats // 20)),
    }
    if args.long:
        batch, steps, repeats = args.long
        result["long"] = step_table(batch, repeats, peers=False, steps=steps, torch=False)
    if not args.no_epoch:
        result["epoch"] = epoch_times()
    write_json(args.out, result)
    if args.plot:
        plot(result, str(Path(args.out).with_suffix(".png")))
    return result


if __name__ == "__main__":
    main()
