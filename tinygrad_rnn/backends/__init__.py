"""torch.backends's path: the flags programs set for cuDNN, CUDA matmuls and Apple's MPS.

None of them changes what this library computes (it uses neither cuDNN nor MPS); the flags
are kept so that programs can set and read them.
"""

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
