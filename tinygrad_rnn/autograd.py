"""The reverse-mode engine: Function nodes, no_grad, topological order and the backward walk.

The engine works on raw arrays and never imports Tensor. It sees a tensor as any object with
`data`, `_ctx` (the Function that made it, or None for a leaf), `_retains_grad` and
`_deposit_grad(array, owned)`. A Function in the graph holds `parents` (its inputs: tensors or
plain numbers) and `needs_input_grad` (one bool per input).
"""

from __future__ import annotations

import functools

from .backend import sum_to


class Function:
    """One differentiable primitive: `forward` on arrays, `backward` from the output's gradient.

    Subclasses keep what backward needs as attributes of `self`; the engine drops them all
    (and the links to the inputs) once the gradient has been passed on.
    """

    released = False

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError

    def backward(self, grad):
        """Return one gradient per input (None where `needs_input_grad` is False)."""
        raise NotImplementedError

    def release(self) -> None:
        self.__dict__.clear()
        self.released = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__}{' (released)' if self.released else ''}>"


class _GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class no_grad:  # noqa: N801 - named as in PyTorch
    """Context manager and decorator: operations inside build no graph."""

    _enabled = False

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = self._enabled

    def __exit__(self, *exc_info):
        _GradMode.enabled = self._previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class enable_grad(no_grad):  # noqa: N801 - named as in PyTorch
    """Context manager and decorator: turn graph building back on inside a no_grad block."""

    _enabled = True


_SECOND_BACKWARD = (
    "trying to backward through the graph a second time: its saved arrays were freed by the "
    "first backward; pass retain_graph=True to the first backward if you need to go through twice"
)


def topological_order(root) -> list:
    """Every tensor the root depends on that requires grad, inputs before the ones made from them.

    Iterative (no recursion), so a graph unrolled over 10,000 steps is fine.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        ctx = tensor._ctx
        if ctx is None:
            continue
        if ctx.released:
            raise RuntimeError(_SECOND_BACKWARD)
        for parent, needed in zip(ctx.parents, ctx.needs_input_grad):
            if needed and id(parent) not in visited:
                stack.append((parent, False))
    return order


def backward(root, grad, retain_graph: bool = False) -> None:
    """Propagate `grad` (an array shaped like root) to every leaf that requires grad.

    Gradients arriving at a tensor from several uses are summed, so a weight used at every
    time step gets the sum over time. Broadcast inputs get their gradient reduced back to their
    shape here, once, so no op handles it itself.
    """
    order = topological_order(root)
    grads = {id(root): grad}
    owned = set()  # ids whose gradient array the engine made itself and may update in place
    while order:
        tensor = order.pop()
        key = id(tensor)
        grad = grads.pop(key, None)
        if grad is None:
            continue
        ctx = tensor._ctx
        if ctx is None or tensor._retains_grad:
            tensor._deposit_grad(grad, key in owned)
        if ctx is None:
            continue
        input_grads = ctx.backward(grad)
        for parent, needed, parent_grad in zip(ctx.parents, ctx.needs_input_grad, input_grads):
            if parent_grad is None or not needed:
                continue
            pkey = id(parent)
            if parent_grad.shape != parent.data.shape:
                parent_grad = sum_to(parent_grad, parent.data.shape)
            previous = grads.get(pkey)
            if previous is None:
                grads[pkey] = parent_grad
            elif pkey in owned:
                previous += parent_grad
                grads[pkey] = previous  # rebinding matters only for 0-d NumPy scalars
            else:
                grads[pkey] = previous + parent_grad
                owned.add(pkey)
        if not retain_graph:
            ctx.release()
        owned.discard(key)
