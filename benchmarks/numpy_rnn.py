"""An independent hand-written NumPy BPTT of the book's tanh RNN classifier: the speed floor.

It uses the array module of its inputs, so CuPy arrays give the hand-written CuPy floor.

Weights use PyTorch's layout (weight_ih (H, D), weight_hh (H, H), two biases, dense (C, H)),
so the same state_dict drives this, the engine and PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

from tinygrad_rnn.backend import get_array_module

NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_out", "bias_out")


def init_params(inputs: int, hidden: int, classes: int, seed: int = 0, dtype=np.float32) -> dict:
    rng = np.random.default_rng(seed)
    scale = 1 / np.sqrt(hidden)
    shapes = (
        (hidden, inputs),
        (hidden, hidden),
        (hidden,),
        (hidden,),
        (classes, hidden),
        (classes,),
    )
    return {k: rng.uniform(-scale, scale, s).astype(dtype) for k, s in zip(NAMES, shapes)}


def loss_and_grads(params: dict, x: np.ndarray, labels: np.ndarray) -> tuple[float, dict]:
    """Forward over T steps of x (B, T, D), softmax cross-entropy on the last state, BPTT."""
    xp = get_array_module(x)
    w_ih, w_hh = params["weight_ih"], params["weight_hh"]
    bias = params["bias_ih"] + params["bias_hh"]
    batch, steps, _ = x.shape
    states = [xp.zeros((batch, w_hh.shape[0]), dtype=x.dtype)]
    for t in range(steps):
        states.append(xp.tanh(x[:, t] @ w_ih.T + bias + states[-1] @ w_hh.T))
    loss, grads, d_h = _classifier(params, states[-1], labels)
    d_w_ih, d_w_hh, d_bias = xp.zeros_like(w_ih), xp.zeros_like(w_hh), xp.zeros_like(bias)
    for t in reversed(range(steps)):
        d_z = d_h * (1 - states[t + 1] * states[t + 1])
        d_w_ih += d_z.T @ x[:, t]
        d_w_hh += d_z.T @ states[t]
        d_bias += d_z.sum(axis=0)
        d_h = d_z @ w_hh
    grads.update(weight_ih=d_w_ih, weight_hh=d_w_hh, bias_ih=d_bias, bias_hh=d_bias.copy())
    return loss, grads


def _classifier(params: dict, h, labels) -> tuple[float, dict, object]:
    """The dense layer and softmax cross-entropy on the last state h (B, H): the loss, the
    dense layer's gradients and the gradient reaching h."""
    xp = get_array_module(h)
    batch = h.shape[0]
    logits = h @ params["weight_out"].T + params["bias_out"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    rows = xp.arange(batch)
    loss = -log_probs[rows, labels].mean()
    d_logits = xp.exp(log_probs)
    d_logits[rows, labels] -= 1
    d_logits /= batch
    grads = {"weight_out": d_logits.T @ h, "bias_out": d_logits.sum(axis=0)}
    return float(loss), grads, d_logits @ params["weight_out"]


class BufferedBPTT:
    """The same BPTT written for speed by hand, the best a capture-and-replay of it could do:
    buffers reused from step to step, every h_t and dz_t written straight into one (T, B, H)
    array, and the input projection and each weight's gradient taken as one product over all
    time steps instead of T."""

    def __init__(self):
        self.buffers: dict = {}

    def _stacks(self, xp, batch: int, steps: int, hidden: int, dtype):
        key = (xp.__name__, batch, steps, hidden, np.dtype(dtype))
        if key not in self.buffers:
            states = xp.empty((steps + 1, batch, hidden), dtype=dtype)
            self.buffers = {key: (states, xp.empty((steps, batch, hidden), dtype=dtype))}
        return self.buffers[key]

    def loss_and_grads(self, params: dict, x, labels) -> tuple[float, dict]:
        xp = get_array_module(x)
        w_ih, w_hh = params["weight_ih"], params["weight_hh"]
        batch, steps, inputs = x.shape
        states, d_z = self._stacks(xp, batch, steps, w_hh.shape[0], x.dtype)
        time_major = x.transpose(1, 0, 2).reshape(steps * batch, inputs)
        projected = (time_major @ w_ih.T).reshape(steps, batch, -1)
        projected += params["bias_ih"] + params["bias_hh"]
        states[0] = 0
        for t in range(steps):
            h = xp.matmul(states[t], w_hh.T, out=states[t + 1])
            h += projected[t]
            xp.tanh(h, out=h)
        loss, grads, d_h = _classifier(params, states[steps], labels)
        for t in reversed(range(steps)):
            slope = xp.multiply(states[t + 1], states[t + 1], out=d_z[t])
            xp.subtract(1, slope, out=slope)
            slope *= d_h
            d_h = slope @ w_hh
        all_d_z = d_z.reshape(steps * batch, -1).T
        d_bias = all_d_z.sum(axis=1)
        grads.update(
            weight_ih=all_d_z @ time_major,
            weight_hh=all_d_z @ states[:steps].reshape(steps * batch, -1),
            bias_ih=d_bias,
            bias_hh=d_bias.copy(),
        )
        return loss, grads


def adam_step(params: dict, grads: dict, state: dict, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Adam with bias correction, in place, as PyTorch computes it."""
    state["step"] = step = state.get("step", 0) + 1
    for name, grad in grads.items():
        xp = get_array_module(grad)
        m = state.setdefault(("m", name), xp.zeros_like(grad))
        v = state.setdefault(("v", name), xp.zeros_like(grad))
        m *= betas[0]
        m += (1 - betas[0]) * grad
        v *= betas[1]
        v += (1 - betas[1]) * grad * grad
        denominator = (
            xp.sqrt(v) / math.sqrt(1 - betas[1] ** step) + eps
        )  # weak scalar: stays float32
        params[name] -= (lr / (1 - betas[0] ** step)) * m / denominator


def training_step(params: dict, state: dict, x, labels, bptt=loss_and_grads) -> float:
    """One Adam step; `bptt` computes (loss, grads), say BufferedBPTT().loss_and_grads."""
    loss, grads = bptt(params, x, labels)
    adam_step(params, grads, state)
    return loss
