"""One training step of the book's 3-layer LSTM classifier (3 LSTM layers of 150 units, dense 10
on the top layer's last h, Adam 1e-3, batch 150, 28 steps of 28 pixels): the engine eager and
compiled (tg.jit) against PyTorch eager with the fused nn.LSTM, from the same weights,
interleaved in one process; an epoch is 367 such steps.

    python -m benchmarks.lstm_step [--repeats 30] [--batch 150] [--device cpu|cuda]

Before timing, every variant's first two losses are checked against the engine's eager ones.
"""

from __future__ import annotations

import argparse

import numpy as np

import tinygrad_rnn as tg
from benchmarks.timing import check_then_measure, print_table, step_rows, write_json
from tinygrad_rnn import F, nn, optim

INPUTS, HIDDEN, LAYERS, CLASSES, STEPS = 28, 150, 3, 10, 28
EPOCH_STEPS = -(-55_000 // 150)


def init_weights(seed: int = 0) -> dict:
    """PyTorch's LSTM default (uniform +-1/sqrt(H)) in PyTorch's names, float32 arrays."""
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(HIDDEN)
    weights = {}
    for layer in range(LAYERS):
        inputs = INPUTS if layer == 0 else HIDDEN
        shapes = {
            f"weight_ih_l{layer}": (4 * HIDDEN, inputs),
            f"weight_hh_l{layer}": (4 * HIDDEN, HIDDEN),
            f"bias_ih_l{layer}": (4 * HIDDEN,),
            f"bias_hh_l{layer}": (4 * HIDDEN,),
        }
        for name, shape in shapes.items():
            weights[f"rnn.{name}"] = rng.uniform(-bound, bound, shape)
    weights["dense.weight"] = rng.uniform(-bound, bound, (CLASSES, HIDDEN))
    weights["dense.bias"] = np.zeros(CLASSES)
    return {k: v.astype(np.float32) for k, v in weights.items()}


class EngineModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(INPUTS, HIDDEN, LAYERS, batch_first=True)
        self.dense = nn.Linear(HIDDEN, CLASSES)

    def forward(self, images):
        _, (h_n, _) = self.rnn(images)
        return self.dense(h_n[-1])


def engine_variant(weights: dict, compiled: bool, device: str):
    model = EngineModel()
    model.load_state_dict(weights)
    model.to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    def train_step(images, labels):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    step_function = tg.jit(train_step) if compiled else train_step

    def step(images, labels):
        images = tg.as_tensor(images, device=device)
        return step_function(images, tg.as_tensor(labels, device=device)).item()

    return step


def torch_variant(weights: dict, device: str, compile_model: bool = False):
    import torch

    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(INPUTS, HIDDEN, LAYERS, batch_first=True)
            self.dense = torch.nn.Linear(HIDDEN, CLASSES)

        def forward(self, images):
            _, (h_n, _) = self.rnn(images)
            return self.dense(h_n[-1])

    model = TorchModel()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    forward = torch.compile(model) if compile_model else model

    def step(images, labels):
        images = torch.from_numpy(images).to(device)
        loss = torch.nn.functional.cross_entropy(
            forward(images), torch.from_numpy(labels).to(device)
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def make_variants(weights: dict, device: str, torch_compile: bool) -> dict:
    variants = {
        "engine eager": engine_variant(weights, False, device),
        "engine compiled (tg.jit)": engine_variant(weights, True, device),
    }
    try:
        import torch  # noqa: F401 - a benchmark-only peer
    except ImportError:
        return variants
    variants["torch eager, fused nn.LSTM"] = torch_variant(weights, device)
    if torch_compile:
        variants["torch.compile"] = torch_variant(weights, device, compile_model=True)
    return variants


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--torch-compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--out", default="benchmarks/results/lstm_step.json")
    args = parser.parse_args(argv)
    weights = init_weights()
    rng = np.random.default_rng(1)
    images = rng.random((args.batch, STEPS, INPUTS), dtype=np.float32)
    labels = rng.integers(0, CLASSES, args.batch)
    variants = make_variants(weights, args.device, args.torch_compile)
    timing, first_calls, losses = check_then_measure(
        variants, [(images, labels)] * 3, args.repeats, rtol=1e-4
    )
    rows = step_rows(timing, first_calls, "torch eager, fused nn.LSTM", EPOCH_STEPS)
    print_table(
        f"3-layer LSTM step, batch {args.batch}, {args.device} (ms; first two losses checked)",
        ["implementation", "median", "min-max", "vs torch", "epoch s", "first call s"],
        rows,
    )
    result = {"timing": timing, "first_call_seconds": first_calls, "losses": losses}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
