"""Layers: Module and Parameter, containers, Linear, Dropout, Embedding, recurrent cells and
layers."""

from . import functional, init, utils
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .layers import Dropout, Embedding, Linear
from .module import Module, Parameter
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

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
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "ParameterDict",
    "ParameterList",
    "RNNCell",
    "Sequential",
    "functional",
    "init",
    "utils",
]
