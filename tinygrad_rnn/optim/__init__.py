"""Optimizers and learning-rate schedules with PyTorch's names (`torch.optim`)."""

from . import lr_scheduler
from .adagrad import Adadelta, Adagrad, RMSprop
from .adam import Adam, Adamax, AdamW, NAdam
from .lbfgs import LBFGS
from .lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = [
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "CosineAnnealingLR",
    "ExponentialLR",
    "NAdam",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "lr_scheduler",
]
