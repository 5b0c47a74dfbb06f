"""torch.jit's names for programs the runner runs. TorchScript compiles what eager PyTorch
would compute, so `script` and `trace` give back the function or module itself, run eagerly
with the same results; saving or loading TorchScript files is not supported.
(`tinygrad_rnn.jit` is this library's own capture and replay, under another API.)"""

from __future__ import annotations

import typing

from ..nn.module import Module
from ..unsupported import placeholder

Final = typing.Final
ScriptModule = Module
save = placeholder("torch.jit.save")
load = placeholder("torch.jit.load")
freeze = placeholder("torch.jit.freeze")


def script(obj=None, *args, **kwargs):
    """The function or module itself (run eagerly)."""
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    """The function or module itself (run eagerly)."""
    return func


def _identity_decorator(fn=None, **kwargs):
    return fn if fn is not None else (lambda f: f)


ignore = unused = export = script_method = _identity_decorator


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    return False


def annotate(the_type, value):
    return value
