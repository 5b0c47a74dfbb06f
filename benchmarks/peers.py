"""The book model's training step in the compilers we measure against: JAX's jit (the time loop
unrolled, and as lax.scan, with optax's Adam) and torch.compile (model and optimizer step).
Benchmark-only peers: each returns {} where its library is not installed.

Every variant takes the floor's weights (PyTorch's layout, numpy_rnn.init_params) and is a
(step(x, labels) -> loss, weights() -> {engine name: array}) pair, as in rnn_step.
"""

from __future__ import annotations

import numpy as np

HIDDEN = 150


def _engine_names(params: dict) -> dict:
    from benchmarks.rnn_step import _engine_names as names

    return names(params)


def jax_variants(params: dict) -> dict:
    """JAX jit of the whole step (forward, gradients, optax Adam), unrolled and with scan."""
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        return {}

    def loss_of(weights, x, labels, scan: bool):
        bias = weights["bias_ih"] + weights["bias_hh"]
        projected = jnp.einsum("btd,hd->tbh", x, weights["weight_ih"]) + bias
        h = jnp.zeros((x.shape[0], HIDDEN), x.dtype)
        if scan:

            def cell(h, p):
                h = jnp.tanh(p + h @ weights["weight_hh"].T)
                return h, None

            h, _ = jax.lax.scan(cell, h, projected)
        else:
            for t in range(x.shape[1]):
                h = jnp.tanh(projected[t] + h @ weights["weight_hh"].T)
        logits = h @ weights["weight_out"].T + weights["bias_out"]
        log_probs = jax.nn.log_softmax(logits)
        return -jnp.take_along_axis(log_probs, labels[:, None], axis=1).mean()

    variants = {}
    for name, scan in (("JAX jit, unrolled loop", False), ("JAX jit, lax.scan", True)):
        optimizer = optax.adam(1e-3)

        def train_step(weights, state, x, labels, scan=scan, optimizer=optimizer):
            loss, grads = jax.value_and_grad(loss_of)(weights, x, labels, scan)
            updates, state = optimizer.update(grads, state, weights)
            return loss, optax.apply_updates(weights, updates), state

        compiled = jax.jit(train_step)
        box = {"weights": {k: jnp.asarray(v) for k, v in params.items()}}
        box["state"] = optimizer.init(box["weights"])

        def step(x, labels, compiled=compiled, box=box):
            loss, box["weights"], box["state"] = compiled(box["weights"], box["state"], x, labels)
            return float(loss)

        def weights(box=box):
            return _engine_names({k: np.asarray(v) for k, v in box["weights"].items()})

        variants[name] = (step, weights)
    return variants


def torch_compile_variant(params: dict) -> dict:
    """torch.compile of the forward and loss (the fused nn.RNN model) and of Adam's step."""
    try:
        import torch
    except ImportError:
        return {}
    from benchmarks.rnn_step import RECURRENT_NAMES, _torch_suffix, load_torch_weights, torch_model

    recurrent, dense, forward = torch_model("fused")
    load_torch_weights(recurrent, dense, params)
    modules = torch.nn.ModuleList([recurrent, dense])
    optimizer = torch.optim.Adam(modules.parameters(), lr=1e-3)

    @torch.compile
    def forward_loss(x, labels):
        return torch.nn.functional.cross_entropy(forward(x), labels)

    @torch.compile
    def update():
        optimizer.step()

    def step(x, labels):
        loss = forward_loss(torch.from_numpy(x), torch.from_numpy(labels))
        optimizer.zero_grad()
        loss.backward()
        update()
        return loss.item()

    def weights():
        suffix = _torch_suffix(recurrent)
        out = {k: getattr(recurrent, k + suffix).detach().numpy() for k in RECURRENT_NAMES}
        out.update(weight_out=dense.weight.detach().numpy(), bias_out=dense.bias.detach().numpy())
        return _engine_names(out)

    return {"torch.compile (model and Adam step)": (step, weights)}
