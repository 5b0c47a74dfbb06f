"""torch.nn.modules.linear's path."""

from ..layers import Identity, Linear

__all__ = ["Identity", "Linear"]
