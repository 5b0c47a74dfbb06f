"""One training step of PyTorch's word-language-model example at its defaults: the engine
(eager and compiled by tg.jit) against PyTorch eager and torch.compile, from the same weights,
interleaved in one process.

    python -m benchmarks.lm_step [--repeats 20] [--device cpu|cuda] [--no-torch-compile]
                                 [--sizes VOCABULARY HIDDEN BPTT BATCH]  (a small dry run)

The model (pytorch/examples, word_language_model): Embedding 10,000 x 200, a 2-layer LSTM of
200 units, a decoder tied to the embedding, bptt 35, batch 20, gradients clipped to norm 0.25,
SGD with lr 20, the hidden state carried (detached) from step to step. Two changes, the same
for every variant: dropout is 0 (tg.jit refuses random numbers; the example's 0.2 costs a few
elementwise passes) and the example's log_softmax + NLLLoss is written as cross_entropy (what
PyTorch computes for it too). Before timing, every variant's first two losses are checked
against the engine's eager ones.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

import tinygrad_rnn as tg
from benchmarks.timing import check_then_measure, print_table, step_rows, write_json
from tinygrad_rnn import F, nn, optim

LAYERS, CLIP, LR = 2, 0.25, 20.0


@dataclass(frozen=True)
class Sizes:
    """The example's defaults; the embedding is as wide as the hidden state (tied weights)."""

    vocabulary: int = 10_000
    hidden: int = 200
    bptt: int = 35
    batch: int = 20


def init_weights(sizes: Sizes, seed: int = 0) -> dict:
    """The example's initialisation (uniform +-0.1 encoder/decoder, zero decoder bias), and
    PyTorch's LSTM default (uniform +-1/sqrt(H)), as NumPy arrays in PyTorch's names."""
    rng = np.random.default_rng(seed)
    hidden = sizes.hidden
    weights = {"encoder.weight": rng.uniform(-0.1, 0.1, (sizes.vocabulary, hidden))}
    bound = 1 / np.sqrt(hidden)
    for layer in range(LAYERS):
        shapes = {
            f"weight_ih_l{layer}": (4 * hidden, hidden),
            f"weight_hh_l{layer}": (4 * hidden, hidden),
            f"bias_ih_l{layer}": (4 * hidden,),
            f"bias_hh_l{layer}": (4 * hidden,),
        }
        for name, shape in shapes.items():
            weights[f"rnn.{name}"] = rng.uniform(-bound, bound, shape)
    weights["decoder.bias"] = np.zeros(sizes.vocabulary)
    weights = {k: v.astype(np.float32) for k, v in weights.items()}
    weights["decoder.weight"] = weights["encoder.weight"]  # tied: state_dicts name it twice
    return weights


def batches(sizes: Sizes, count: int, seed: int = 1) -> list:
    """`count` (input, target) pairs of token ids, (bptt, batch) and (bptt * batch,), int64."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, sizes.vocabulary, (count, sizes.bptt + 1, sizes.batch))
    return [(t[:-1].copy(), t[1:].reshape(-1).copy()) for t in tokens]


class EngineModel(nn.Module):
    def __init__(self, sizes: Sizes):
        super().__init__()
        self.vocabulary = sizes.vocabulary
        self.encoder = nn.Embedding(sizes.vocabulary, sizes.hidden)
        self.rnn = nn.LSTM(sizes.hidden, sizes.hidden, LAYERS)
        self.decoder = nn.Linear(sizes.hidden, sizes.vocabulary)
        self.decoder.weight = self.encoder.weight  # tied

    def forward(self, tokens, state):
        output, state = self.rnn(self.encoder(tokens), state)
        return self.decoder(output).reshape(-1, self.vocabulary), state


def engine_variant(sizes: Sizes, weights: dict, compiled: bool, device: str = "cpu"):
    """A step function on NumPy arrays (tokens, targets) -> loss, carrying the state."""
    model = EngineModel(sizes)
    model.load_state_dict(weights)
    model.to(device)
    optimizer = optim.SGD(model.parameters(), lr=LR)

    def train_step(tokens, targets, h, c):
        logits, (h, c) = model(tokens, (h, c))
        loss = F.cross_entropy(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        return loss, h.detach(), c.detach()

    step_function = tg.jit(train_step) if compiled else train_step
    state = [tg.zeros(LAYERS, sizes.batch, sizes.hidden, device=device) for _ in range(2)]

    def step(tokens, targets):
        loss, *state[:] = step_function(
            tg.as_tensor(tokens, device=device), tg.as_tensor(targets, device=device), *state
        )
        return loss.item()

    return step


def torch_variant(sizes: Sizes, weights: dict, compile_model: bool, device: str = "cpu"):
    import torch

    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Embedding(sizes.vocabulary, sizes.hidden)
            self.rnn = torch.nn.LSTM(sizes.hidden, sizes.hidden, LAYERS)
            self.decoder = torch.nn.Linear(sizes.hidden, sizes.vocabulary)
            self.decoder.weight = self.encoder.weight

        def forward(self, tokens, state):
            output, state = self.rnn(self.encoder(tokens), state)
            return self.decoder(output).reshape(-1, sizes.vocabulary), state

    model = TorchModel()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)

    def forward_loss(tokens, targets, state):
        logits, state = model(tokens, state)
        return torch.nn.functional.cross_entropy(logits, targets), state

    if compile_model:
        forward_loss = torch.compile(forward_loss)
    state = [torch.zeros(LAYERS, sizes.batch, sizes.hidden, device=device) for _ in range(2)]

    def step(tokens, targets):
        tokens = torch.from_numpy(tokens).to(device)
        targets = torch.from_numpy(targets).to(device)
        loss, new_state = forward_loss(tokens, targets, tuple(state))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        state[:] = [s.detach() for s in new_state]
        return loss.item()

    return step


def make_variants(sizes: Sizes, weights: dict, device: str, torch_compile: bool) -> dict:
    variants = {
        "engine eager": engine_variant(sizes, weights, False, device),
        "engine compiled (tg.jit)": engine_variant(sizes, weights, True, device),
    }
    try:
        import torch  # noqa: F401 - a benchmark-only peer
    except ImportError:
        return variants
    variants["torch eager"] = torch_variant(sizes, weights, False, device)
    if torch_compile:
        variants["torch.compile"] = torch_variant(sizes, weights, True, device)
    return variants


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-torch-compile", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/lm_step.json")
    parser.add_argument(
        "--sizes", type=int, nargs=4, metavar=("VOCABULARY", "HIDDEN", "BPTT", "BATCH")
    )
    args = parser.parse_args(argv)
    sizes = Sizes(*args.sizes) if args.sizes else Sizes()
    weights = init_weights(sizes)
    data = batches(sizes, 4)
    variants = make_variants(sizes, weights, args.device, not args.no_torch_compile)
    timing, first_calls, losses = check_then_measure(variants, data, args.repeats, rtol=2e-4)
    rows = step_rows(timing, first_calls, "torch eager")
    print_table(
        f"word language model step, {args.device} (ms; first two losses checked equal)",
        ["implementation", "median", "min-max", "vs torch eager", "first call s"],
        rows,
    )
    result = {"timing": timing, "first_call_seconds": first_calls, "losses": losses}
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
