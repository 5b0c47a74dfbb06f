"""torch.nn.modules.flatten's path."""

from ..layers import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
