"""torch.nn.modules.normalization's path."""

from ..normalization import LayerNorm

__all__ = ["LayerNorm"]
