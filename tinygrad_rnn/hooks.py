"""Tensor hooks: the tables that hold them, the handles that remove them, and PyTorch's
post-accumulate-grad hooks.

A post-accumulate-grad hook runs once per leaf per backward, as soon as that leaf's `.grad`
is final (after the sum over every use, so over every time step of an unrolled RNN). Data
parallelism uses it to start averaging a gradient while backward still works on the others.

The hooks live here, keyed by the tensor's id and dropped when the tensor dies, rather than
in a slot of every Tensor: the engine pays one dict test per leaf per backward, and nothing
when no hook exists.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable

from .autograd import Capture

_post_accumulate_grad_hooks: dict[int, dict[int, Callable]] = {}
_next_key = itertools.count()


class RemovableHandle:
    """What registering a hook returns: `remove()` unregisters it (also as a context manager)."""

    def __init__(self, hooks: dict, key: int):
        self._hooks, self._key = weakref.ref(hooks), key

    def remove(self) -> None:
        hooks = self._hooks()
        if hooks is not None:
            hooks.pop(self._key, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


class HookTable(dict):
    """One tensor's hooks of one kind, in the order they were added (a dict subclass, so a
    handle can hold it weakly)."""


def add(table: HookTable, hook: Callable) -> RemovableHandle:
    """Put `hook` last in `table`; the handle's remove() takes it out again."""
    key = next(_next_key)
    table[key] = hook
    return RemovableHandle(table, key)


def register_post_accumulate_grad_hook(tensor, hook: Callable) -> RemovableHandle:
    """Call `hook(tensor)` after each backward that leaves `tensor.grad` final."""
    table = _post_accumulate_grad_hooks.get(id(tensor))
    if table is None:
        table = _post_accumulate_grad_hooks[id(tensor)] = HookTable()
        weakref.finalize(tensor, _post_accumulate_grad_hooks.pop, id(tensor), None)
    return add(table, hook)


def run_post_accumulate_grad_hooks(tensor) -> None:
    """Call the hooks of a leaf whose gradient backward has just made final."""
    table = _post_accumulate_grad_hooks.get(id(tensor))
    if not table:
        return
    # a hook runs live, in a jit capture and again in every replay: what it does is not recorded
    recorder, Capture.recorder = Capture.recorder, None
    try:
        for hook in tuple(table.values()):
            hook(tensor)
    finally:
        Capture.recorder = recorder
