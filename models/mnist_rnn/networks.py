"""The book's three MNIST models: each 28x28 image is read as 28 time steps of 28 pixels.

They use TensorFlow 1's initialisation, as the book's runs did: a Glorot-uniform kernel over
the concatenated [x, h] input (so W_ih and W_hh share one bound), zero biases, and for the
LSTM the forget-gate bias of 1 that BasicLSTMCell adds.
"""

from __future__ import annotations

from tinygrad_rnn import Tensor, cat, nn

from ..common.init import tensorflow_init

INPUTS, CLASSES = 28, 10  # each image: 28 time steps of 28 pixels


class BasicRNN(nn.Module):
    """150 tanh units, a dense layer of 10 on the last state (the book: 97.3% by epoch 7)."""

    def __init__(self, hidden: int = 150, seed: int = 0):
        super().__init__()
        self.rnn = nn.RNN(INPUTS, hidden, batch_first=True)
        self.dense = nn.Linear(hidden, CLASSES)
        tensorflow_init(self.rnn, self.dense, seed)

    def forward(self, images: Tensor) -> Tensor:
        """images (B, 28, 28) -> logits (B, 10)."""
        _, last = self.rnn(images)
        return self.dense(last[0])


class MultiLayerRNN(nn.Module):
    """3 stacked layers of 100 ReLU units, the dense layer on all final states concatenated."""

    def __init__(self, hidden: int = 100, layers: int = 3, seed: int = 0):
        super().__init__()
        self.rnn = nn.RNN(INPUTS, hidden, num_layers=layers, nonlinearity="relu", batch_first=True)
        self.dense = nn.Linear(hidden * layers, CLASSES)
        tensorflow_init(self.rnn, self.dense, seed)

    def forward(self, images: Tensor) -> Tensor:
        _, last = self.rnn(images)
        return self.dense(cat([last[k] for k in range(last.shape[0])], dim=1))


class LSTMClassifier(nn.Module):
    """3 stacked LSTM layers of 150 units, the dense layer on the top layer's final h."""

    def __init__(self, hidden: int = 150, layers: int = 3, seed: int = 0):
        super().__init__()
        self.rnn = nn.LSTM(INPUTS, hidden, num_layers=layers, batch_first=True)
        self.dense = nn.Linear(hidden, CLASSES)
        tensorflow_init(self.rnn, self.dense, seed)

    def forward(self, images: Tensor) -> Tensor:
        _, (h_n, _) = self.rnn(images)
        return self.dense(h_n[-1])


MODELS = {"basic": BasicRNN, "multilayer": MultiLayerRNN, "lstm": LSTMClassifier}


def build_model(name: str, seed: int = 0, device: str = "cpu") -> nn.Module:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}")
    return MODELS[name](seed=seed).to(device)
