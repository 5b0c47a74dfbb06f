"""torch.nn.modules.module's path."""

from ..module import Module

__all__ = ["Module"]
