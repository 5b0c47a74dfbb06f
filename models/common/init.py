"""TensorFlow 1's initialisation, which the book's runs used, for any recurrent layer."""

from __future__ import annotations

import math

import numpy as np

from tinygrad_rnn import nn


def tensorflow_init(rnn: nn.Module, dense: nn.Linear, seed: int | np.random.Generator) -> None:
    """Glorot-uniform kernels over [x, h] (W_ih and W_hh share one bound), zero biases, the
    LSTM forget-gate bias of 1 that BasicLSTMCell adds, and a Glorot-uniform dense layer."""
    rng = np.random.default_rng(seed)
    for k in range(rnn.num_layers):
        w_ih, w_hh = getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}")
        fan_in, fan_out = w_ih.shape[1] + w_hh.shape[1], w_ih.shape[0]
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        nn.init.uniform_(w_ih, -bound, bound, rng)
        nn.init.uniform_(w_hh, -bound, bound, rng)
        for name in (f"bias_ih_l{k}", f"bias_hh_l{k}"):
            nn.init.zeros_(getattr(rnn, name))
        if isinstance(rnn, nn.LSTM):  # gates i, f, g, o: the forget slice starts at 1
            size = rnn.hidden_size
            getattr(rnn, f"bias_ih_l{k}").array[size : 2 * size] = 1.0
    nn.init.xavier_uniform_(dense.weight, generator=rng)
    nn.init.zeros_(dense.bias)
