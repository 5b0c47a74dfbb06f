"""torch.nn.modules.dropout's path."""

from ..dropout import Dropout, Dropout1d, Dropout2d

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]
