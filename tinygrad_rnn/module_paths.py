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


def view(name: str, target: str | None, doc: str | None = None) -> types.ModuleType:
    """A module `name` whose attributes are those of the module `target`, looked up when first
    asked for (by a module-level __getattr__, PEP 562: names already found cost what a module
    attribute costs). Functions, classes and modules found are kept in the view; other values
    (flags) are looked up every time, as the target may change them."""
    module = types.ModuleType(name, doc or f"PyTorch's path {name}: the names of {target}.")

    def __getattr__(attribute: str):  # noqa: N807 - the module hook's name
        if attribute.startswith("__") or target is None:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        try:
            value = getattr(importlib.import_module(target), attribute)
        except AttributeError:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from None
        if callable(value) or isinstance(value, types.ModuleType):
            setattr(module, attribute, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807
        names = set(module.__dict__)
        if target is not None:
            names |= set(dir(importlib.import_module(target)))
        return sorted(names)

    module.__getattr__, module.__dir__ = __getattr__, __dir__
    return module


def install() -> None:
    """Register tinygrad_rnn.nn.modules(.SUBMODULE) and tinygrad_rnn.nn.parameter as views."""
    nn = importlib.import_module("tinygrad_rnn.nn")
    views = {}
    if importlib.util.find_spec("tinygrad_rnn.nn.modules") is None:
        views["modules"] = view("tinygrad_rnn.nn.modules", "tinygrad_rnn.nn")
        for submodule in SUBMODULES:
            child = view(f"tinygrad_rnn.nn.modules.{submodule}", "tinygrad_rnn.nn")
            setattr(views["modules"], submodule, child)
            sys.modules[child.__name__] = child
    if importlib.util.find_spec("tinygrad_rnn.nn.parameter") is None:
        views["parameter"] = view("tinygrad_rnn.nn.parameter", "tinygrad_rnn.nn")
    for name, module in views.items():
        sys.modules[module.__name__] = module
        setattr(nn, name, module)
