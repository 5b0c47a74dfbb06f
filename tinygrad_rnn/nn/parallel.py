"""`nn.parallel.DistributedDataParallel`, PyTorch's spelling of the distributed module's class.

It lives in tinygrad_rnn.distributed (a layer above nn); this module only names it here.
"""

from ..distributed.ddp import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
