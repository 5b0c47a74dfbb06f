"""Layers: Module and Parameter, Linear, Dropout, Embedding, recurrent cells and layers."""

from . import functional, init, utils
from .cells import GRUCell, LSTMCell, RNNCell
from .layers import Dropout, Embedding, Linear
from .module import Module, ModuleList, Parameter, Sequential
from .recurrent import GRU, LSTM, RNN

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Dropout",
    "Embedding",
    "GRUCell",
    "LSTMCell",
    "Linear",
    "Module",
    "ModuleList",
    "Parameter",
    "RNNCell",
    "Sequential",
    "functional",
    "init",
    "utils",
]
