"""torch.nn.functional's path: `from tinygrad_rnn.nn import functional as F` (the functions
live in tinygrad_rnn.functional)."""

from ..functional import *  # noqa: F403
from ..functional import __all__  # noqa: F401 - the same names
