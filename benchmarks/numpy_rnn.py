"""An independent hand-written NumPy BPTT of the book's tanh RNN classifier: the speed floor."""

from __future__ import annotations

import numpy as np


def init_params(inputs: int, hidden: int, classes: int, seed: int = 0, dtype=np.float32) -> dict:
    """Weights laid out as x @ w_x (D, H), h @ w_h (H, H), h @ w_out (H, C)."""
    rng = np.random.default_rng(seed)
    scale = 1 / np.sqrt(hidden)
    shapes = {
        "w_x": (inputs, hidden),
        "w_h": (hidden, hidden),
        "b": (hidden,),
        "w_out": (hidden, classes),
        "b_out": (classes,),
    }
    return {k: rng.uniform(-scale, scale, s).astype(dtype) for k, s in shapes.items()}


def loss_and_grads(params: dict, x: np.ndarray, labels: np.ndarray) -> tuple[float, dict]:
    """Forward over T steps of x (B, T, D), softmax cross-entropy on the last state, BPTT."""
    w_x, w_h, b = params["w_x"], params["w_h"], params["b"]
    batch, steps, _ = x.shape
    states = [np.zeros((batch, w_h.shape[0]), dtype=x.dtype)]
    for t in range(steps):
        states.append(np.tanh(x[:, t] @ w_x + states[-1] @ w_h + b))
    logits = states[-1] @ params["w_out"] + params["b_out"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(batch)
    loss = -log_probs[rows, labels].mean()

    d_logits = np.exp(log_probs)
    d_logits[rows, labels] -= 1
    d_logits /= batch
    grads = {"w_out": states[-1].T @ d_logits, "b_out": d_logits.sum(axis=0)}
    d_h = d_logits @ params["w_out"].T
    grads.update(w_x=np.zeros_like(w_x), w_h=np.zeros_like(w_h), b=np.zeros_like(b))
    for t in reversed(range(steps)):
        d_z = d_h * (1 - states[t + 1] * states[t + 1])
        grads["w_x"] += x[:, t].T @ d_z
        grads["w_h"] += states[t].T @ d_z
        grads["b"] += d_z.sum(axis=0)
        if t:
            d_h = d_z @ w_h.T
    return float(loss), grads
