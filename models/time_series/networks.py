"""The book's two time-series networks: 100 ReLU units, one output per step.

"projection" applies a dense layer of one unit to the state at every step (TensorFlow's
OutputProjectionWrapper): one small product per step, its weights shared over time.
"stacked" applies one dense layer to all steps' states stacked into (B*T, H), then unstacks.
Both compute the same function; they differ in how the work is laid out, and the book shows
the second is faster. Initialisation as TensorFlow 1's, as in the book's runs.
"""

from __future__ import annotations

from tinygrad_rnn import Tensor, nn, stack

from ..common.init import tensorflow_init

VARIANTS = ("projection", "stacked")


class SeriesRNN(nn.Module):
    """inputs (B, T, 1) -> predictions (B, T, 1) of the next value at every step."""

    def __init__(self, variant: str = "projection", hidden: int = 100, seed: int = 0, dtype=None):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.rnn = nn.RNN(1, hidden, nonlinearity="relu", batch_first=True, dtype=dtype)
        self.dense = nn.Linear(hidden, 1, dtype=dtype)
        tensorflow_init(self.rnn, self.dense, seed)

    def forward(self, inputs: Tensor) -> Tensor:
        """inputs (B, T, 1) -> (B, T, 1)."""
        states, _ = self.rnn(inputs)  # (B, T, H)
        batch, steps, hidden = states.shape
        if self.variant == "projection":
            return stack([self.dense(states[:, t]) for t in range(steps)], dim=1)
        return self.dense(states.reshape(batch * steps, hidden)).reshape(batch, steps, 1)
