"""PyTorch's class paths under torch.nn.modules and torch.nn.parameter, which programs name
when they allow-list classes for loading (`nn.modules.rnn.LSTM`, `nn.modules.linear.Linear`)
or subclass a base (`nn.modules.loss._Loss`).

Each is a view of tinygrad_rnn.nn: `tinygrad_rnn.nn.modules.rnn.LSTM is tinygrad_rnn.nn.LSTM`,
whatever file the class lives in here, and new layers appear in every view as soon as nn
exports them. `install()` registers the views as tinygrad_rnn.nn.modules.* unless the nn
package has a modules package of its own.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

# torch.nn.modules' submodules that programs name
SUBMODULES = (
    "activation",
    "batchnorm",
    "container",
    "dropout",
    "flatten",
    "linear",
    "loss",
    "module",
    "normalization",
    "rnn",
    "sparse",
)


class View(types.ModuleType):
    """A module whose attributes are another module's (looked up when asked for)."""

    def __init__(self, name: str, target: str | None, doc: str | None = None):
        super().__init__(name, doc or f"PyTorch's path {name}: the names of {target}.")
        self.__target = target

    def __getattr__(self, name: str):
        if name.startswith("__") or self.__target is None:
            raise AttributeError(name)
        try:
            return getattr(importlib.import_module(self.__target), name)
        except AttributeError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None

    def __dir__(self):
        names = set(super().__dir__())
        if self.__target is not None:
            names |= set(dir(importlib.import_module(self.__target)))
        return sorted(names)


def install() -> None:
    """Register tinygrad_rnn.nn.modules(.SUBMODULE) and tinygrad_rnn.nn.parameter as views."""
    nn = importlib.import_module("tinygrad_rnn.nn")
    views = {}
    if importlib.util.find_spec("tinygrad_rnn.nn.modules") is None:
        views["modules"] = View("tinygrad_rnn.nn.modules", "tinygrad_rnn.nn")
        for submodule in SUBMODULES:
            view = View(f"tinygrad_rnn.nn.modules.{submodule}", "tinygrad_rnn.nn")
            setattr(views["modules"], submodule, view)
            sys.modules[view.__name__] = view
    if importlib.util.find_spec("tinygrad_rnn.nn.parameter") is None:
        views["parameter"] = View("tinygrad_rnn.nn.parameter", "tinygrad_rnn.nn")
    for name, view in views.items():
        sys.modules[view.__name__] = view
        setattr(nn, name, view)
