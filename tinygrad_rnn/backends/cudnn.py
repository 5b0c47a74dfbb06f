"""torch.backends.cudnn's path. This library does not use cuDNN: its recurrent layers loop
over time steps in Python, so these flags are recorded and change nothing."""

from __future__ import annotations

from contextlib import contextmanager

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: no cuDNN here."""
    return False


def version() -> None:
    """None, as PyTorch answers where cuDNN is not available."""
    return None


@contextmanager
def flags(enabled=False, benchmark=False, deterministic=False, allow_tf32=True):
    """Set the flags inside a `with` block, then restore them."""
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    module = globals()
    before = {name: module[name] for name in names}
    module.update(zip(names, (enabled, benchmark, deterministic, allow_tf32)))
    try:
        yield
    finally:
        module.update(before)
