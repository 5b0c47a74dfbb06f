"""Module views: a module whose names are looked up in another one, which the runner uses to
answer for PyTorch's module paths (`torch.nn` is a view of `tinygrad_rnn.nn`)."""

from __future__ import annotations

import importlib
import importlib.util
import types


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
