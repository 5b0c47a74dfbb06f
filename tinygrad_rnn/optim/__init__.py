"""Optimizers and learning-rate schedules (`tinygrad_rnn.optim.lr_scheduler`)."""

from . import lr_scheduler
from .lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR
from .optimizer import SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "lr_scheduler",
]
