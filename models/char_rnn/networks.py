"""The character model: one-hot characters into a recurrent stack, a dense layer to logits."""

from __future__ import annotations

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn

KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class CharRNN(nn.Module):
    """indices (B, T) int -> logits (B, T, V), and the recurrent state to carry on."""

    def __init__(self, vocabulary_size: int, kind="lstm", hidden=256, layers=1, seed=0, dtype=None):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown model {kind!r}; expected one of {', '.join(KINDS)}")
        rng = np.random.default_rng(seed)
        self.vocabulary_size = vocabulary_size
        self.rnn = KINDS[kind](
            vocabulary_size, hidden, layers, batch_first=True, generator=rng, dtype=dtype
        )
        self.dense = nn.Linear(hidden, vocabulary_size, generator=rng, dtype=dtype)
        self._one_hot = np.eye(vocabulary_size, dtype=dtype or np.float32)

    def one_hot(self, indices: np.ndarray, device: str) -> Tensor:
        """int (B, T) -> (B, T, V) of zeros with a one at each character."""
        return tg.tensor(self._one_hot[indices], device=device)

    def forward(self, inputs: Tensor, state=None):
        """one-hot inputs (B, T, V), state as the recurrent layer takes it (None: zeros)."""
        outputs, state = self.rnn(inputs, state)
        batch, steps, hidden = outputs.shape
        logits = self.dense(outputs.reshape(batch * steps, hidden))
        return logits.reshape(batch, steps, self.vocabulary_size), state
