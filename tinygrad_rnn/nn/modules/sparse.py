"""torch.nn.modules.sparse's path."""

from ..embedding import Embedding

__all__ = ["Embedding"]
