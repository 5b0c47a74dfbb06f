"""One training step of PyTorch's word-language-model example at its defaults: the engine
(eager and compiled by tg.jit) against PyTorch eager and torch.compile, from the same weights,
interleaved in one process.

    python -m benchmarks.lm_step [--repeats 20] [--device cpu|cuda] [--no-torch-compile]

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
import time

import numpy as np

import tinygrad_rnn as tg
from benchmarks.timing import measure, print_table, write_json
from tinygrad_rnn import F, nn, optim

VOCABULARY, EMBEDDING, HIDDEN, LAYERS = 10_000, 200, 200, 2
BPTT, BATCH, CLIP, LR = 35, 20, 0.25, 20.0


def init_weights(seed: int = 0) -> dict:
    """The example's initialisation (uniform +-0.1 encoder/decoder, zero decoder bias), and
    PyTorch's LSTM default (uniform +-1/sqrt(H)), as NumPy arrays in PyTorch's names."""
    rng = np.random.default_rng(seed)
    weights = {"encoder.weight": rng.uniform(-0.1, 0.1, (VOCABULARY, EMBEDDING))}
    bound = 1 / np.sqrt(HIDDEN)
    for layer in range(LAYERS):
        inputs = EMBEDDING if layer == 0 else HIDDEN
        shapes = {
            f"weight_ih_l{layer}": (4 * HIDDEN, inputs),
            f"weight_hh_l{layer}": (4 * HIDDEN, HIDDEN),
            f"bias_ih_l{layer}": (4 * HIDDEN,),
            f"bias_hh_l{layer}": (4 * HIDDEN,),
        }
        for name, shape in shapes.items():
            weights[f"rnn.{name}"] = rng.uniform(-bound, bound, shape)
    weights["decoder.bias"] = np.zeros(VOCABULARY)
    weights = {k: v.astype(np.float32) for k, v in weights.items()}
    weights["decoder.weight"] = weights["encoder.weight"]  # tied: state_dicts name it twice
    return weights


def batches(count: int, seed: int = 1) -> list:
    """`count` (input, target) pairs of token ids, (35, 20) and (700,), int64."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, VOCABULARY, (count, BPTT + 1, BATCH))
    return [(t[:-1].copy(), t[1:].reshape(-1).copy()) for t in tokens]


class EngineModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(VOCABULARY, EMBEDDING)
        self.rnn = nn.LSTM(EMBEDDING, HIDDEN, LAYERS)
        self.decoder = nn.Linear(HIDDEN, VOCABULARY)
        self.decoder.weight = self.encoder.weight  # tied

    def forward(self, tokens, state):
        output, state = self.rnn(self.encoder(tokens), state)
        return self.decoder(output).reshape(-1, VOCABULARY), state


def engine_variant(weights: dict, compiled: bool, device: str = "cpu"):
    """A step function on NumPy arrays (tokens, targets) -> loss, carrying the state."""
    model = EngineModel()
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
    state = [tg.zeros(LAYERS, BATCH, HIDDEN, device=device) for _ in range(2)]

    def step(tokens, targets):
        loss, *state[:] = step_function(
            tg.as_tensor(tokens, device=device), tg.as_tensor(targets, device=device), *state
        )
        return loss.item()

    return step


def torch_variant(weights: dict, compile_model: bool, device: str = "cpu"):
    import torch

    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Embedding(VOCABULARY, EMBEDDING)
            self.rnn = torch.nn.LSTM(EMBEDDING, HIDDEN, LAYERS)
            self.decoder = torch.nn.Linear(HIDDEN, VOCABULARY)
            self.decoder.weight = self.encoder.weight

        def forward(self, tokens, state):
            output, state = self.rnn(self.encoder(tokens), state)
            return self.decoder(output).reshape(-1, VOCABULARY), state

    model = TorchModel()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)

    def forward_loss(tokens, targets, state):
        logits, state = model(tokens, state)
        return torch.nn.functional.cross_entropy(logits, targets), state

    if compile_model:
        forward_loss = torch.compile(forward_loss)
    state = [torch.zeros(LAYERS, BATCH, HIDDEN, device=device) for _ in range(2)]

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


def make_variants(weights: dict, device: str, torch_compile: bool) -> dict:
    variants = {
        "engine eager": engine_variant(weights, False, device),
        "engine compiled (tg.jit)": engine_variant(weights, True, device),
    }
    try:
        import torch  # noqa: F401 - a benchmark-only peer
    except ImportError:
        return variants
    variants["torch eager"] = torch_variant(weights, False, device)
    if torch_compile:
        variants["torch.compile"] = torch_variant(weights, True, device)
    return variants


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-torch-compile", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/lm_step.json")
    args = parser.parse_args(argv)
    weights = init_weights()
    data = batches(4)
    variants = make_variants(weights, args.device, not args.no_torch_compile)
    first_calls, losses = {}, {}
    for name, step in variants.items():  # the first call captures or compiles: timed apart
        start = time.perf_counter()
        losses[name] = [step(*data[0])]
        first_calls[name] = time.perf_counter() - start
        losses[name].append(step(*data[1]))
    for name, values in losses.items():
        np.testing.assert_allclose(values, losses["engine eager"], rtol=2e-4, err_msg=name)
    calls = {name: (lambda s=step: s(*data[2])) for name, step in variants.items()}
    timing = measure(calls, args.repeats, warmup=2, settle=1)
    reference = timing.get("torch eager", timing["engine eager"])["median"]
    rows = [
        [
            name,
            f"{t['median'] * 1e3:.1f}",
            f"{t['min'] * 1e3:.1f}-{t['max'] * 1e3:.1f}",
            f"{t['median'] / reference:.2f}x",
            f"{first_calls[name]:.2f}",
        ]
        for name, t in timing.items()
    ]
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
