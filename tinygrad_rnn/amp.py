"""torch.amp's path (and torch.cuda.amp's): mixed precision, which this library does not do.

Every tensor is computed in its own dtype. `autocast` is accepted where it would change
nothing: disabled, or for "cuda" where no GPU is there (PyTorch then disables it with the
same warning); enabled for real it raises, rather than quietly computing in float32.
`GradScaler` passes everything through: without autocast there are no float16 gradients to
protect, so `scale` returns the loss itself and `step` calls the optimizer's step.
"""

from __future__ import annotations

import functools
import warnings

from . import cuda
from .unsupported import UnsupportedError, message


class autocast:  # noqa: N801 - PyTorch's name
    """A context manager and decorator: autocast(device_type, dtype=None, enabled=True).
    As torch.cuda.amp.autocast, the first argument may also be `enabled`."""

    def __init__(self, device_type="cuda", dtype=None, enabled: bool = True, cache_enabled=None):
        if isinstance(device_type, bool):  # torch.cuda.amp.autocast(enabled, dtype, ...)
            device_type, enabled = "cuda", device_type
        if enabled and str(device_type) == "cuda" and not cuda.is_available():
            warnings.warn("CUDA is not available. Disabling autocast.", stacklevel=2)
            enabled = False
        self.device_type, self.enabled = str(device_type), enabled

    def __enter__(self) -> None:
        if self.enabled:
            raise UnsupportedError(message("torch.autocast"))

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, function):
        @functools.wraps(function)
        def autocasted(*args, **kwargs):
            with self:
                return function(*args, **kwargs)

        return autocasted


class GradScaler:
    """Loss scaling, always disabled here (see the module): a pass-through with PyTorch's
    methods."""

    def __init__(
        self,
        device="cuda",
        init_scale=2.0**16,
        growth_factor=2.0,
        backoff_factor=0.5,
        growth_interval=2000,
        enabled: bool = True,
    ):
        if not isinstance(device, str):  # torch.cuda.amp.GradScaler(init_scale, ...)
            device = "cuda"
        if enabled and device == "cuda" and not cuda.is_available():
            warnings.warn(
                "torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                stacklevel=2,
            )

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer) -> None:
        return None

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        return None

    def get_scale(self) -> float:
        return 1.0

    def is_enabled(self) -> bool:
        return False

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        return None
