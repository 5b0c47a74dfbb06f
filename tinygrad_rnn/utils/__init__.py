"""torch.utils's path: data loading (`tinygrad_rnn.utils.data`)."""

from . import data

__all__ = ["data"]
