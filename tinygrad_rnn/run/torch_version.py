"""torch.version's path: the versions programs print or compare.

`__version__` is the PyTorch release whose behaviour this library follows (its tests compare
against it), with this library's version as the local part: "2.13.0+tinygrad.rnn.0.1.0".
"""

from .. import __version__ as _own_version

__version__ = f"2.13.0+tinygrad.rnn.{_own_version}"
cuda = None
hip = None
debug = False
git_version = ""
