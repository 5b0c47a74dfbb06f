"""The reference text's MNIST sequence classifiers and their command line.

python -m models.mnist_rnn train --model basic --epochs 10
"""

from .networks import MODELS, BasicRNN, LSTMClassifier, MultiLayerRNN, build_model

__all__ = ["MODELS", "BasicRNN", "LSTMClassifier", "MultiLayerRNN", "build_model"]
