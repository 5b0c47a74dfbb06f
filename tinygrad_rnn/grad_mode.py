"""Whether operations record a graph: no_grad, enable_grad, set_grad_enabled, inference_mode.

Each is a context manager and a decorator (bare or called), and a decorated generator runs
every step under the mode, as in PyTorch.
"""

from __future__ import annotations

import functools
import inspect
import sys


class GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad record a graph."""
    return GradMode.enabled


class _Mode:
    """Sets grad mode to `mode` inside a with block or a decorated function."""

    mode = True
    bare_decorator = True  # @no_grad works without parentheses

    def __new__(cls, *args, **kwargs):
        if cls.bare_decorator and len(args) == 1 and not kwargs and callable(args[0]):
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self):
        self._previous = GradMode.enabled
        GradMode.enabled = self.mode

    def __exit__(self, *exc_info):
        GradMode.enabled = self._previous

    def _fresh(self) -> _Mode:
        """A new context of the same mode, so nested and recursive calls each restore theirs."""
        fresh = object.__new__(_Mode)
        fresh.mode = self.mode
        return fresh

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper

    def _wrap_generator(self, fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            steps = fn(*args, **kwargs)
            try:
                with self._fresh():
                    response = steps.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self._fresh():
                            steps.close()
                        raise
                    except BaseException:
                        with self._fresh():
                            response = steps.throw(*sys.exc_info())
                    else:
                        with self._fresh():
                            response = steps.send(request)
            except StopIteration as stop:
                return stop.value

        return generator


class no_grad(_Mode):  # noqa: N801 - named as in PyTorch
    """Operations inside build no graph (a context manager, or a decorator)."""

    mode = False


class enable_grad(_Mode):  # noqa: N801 - named as in PyTorch
    """Turn graph building back on inside a no_grad block."""

    mode = True


class inference_mode(_Mode):  # noqa: N801 - named as in PyTorch
    """As no_grad here (PyTorch also skips version counting inside it); mode=False leaves
    grad mode as it is."""

    def __init__(self, mode: bool = True):
        self.mode = False if mode else GradMode.enabled


class set_grad_enabled(_Mode):  # noqa: N801 - named as in PyTorch
    """Switch graph building on or off: at once when called, until the end of the block when
    used with `with`, or inside a function it decorates."""

    bare_decorator = False

    def __init__(self, mode: bool):
        self._previous = GradMode.enabled
        self.mode = bool(mode)
        GradMode.enabled = self.mode

    def __enter__(self):
        pass

    def __call__(self, fn):
        GradMode.enabled = self._previous  # as a decorator it applies inside fn only
        return super().__call__(fn)
