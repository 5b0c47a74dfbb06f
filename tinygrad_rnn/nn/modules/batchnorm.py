"""torch.nn.modules.batchnorm's path."""

from ..normalization import BatchNorm1d

__all__ = ["BatchNorm1d"]
