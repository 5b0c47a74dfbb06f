"""The reverse-mode engine: graph nodes, no_grad, topological order and the backward walk.

The graph is made of nodes, not tensors (as in PyTorch): each Function that ran with a gradient
in prospect links to the nodes of its inputs, and a leaf's gradient lands in its AccumulateGrad
node. So an intermediate tensor, and its array, die as soon as no one needs them: the graph
keeps only what a backward formula saved.

The engine works on raw arrays and never imports Tensor: from a tensor it needs only
`_deposit_grad(array, owned)`.
"""

from __future__ import annotations

import functools
import weakref

from .backend import get_array_module, matmul, stack, sum_to


class Function:
    """One differentiable primitive: `forward` on arrays, `backward` from the output's gradient.

    Subclasses keep what backward needs as attributes of `self`; the engine drops them all
    (and the links to the inputs) once the gradient has been passed on. In the graph a
    Function holds `parents` (the input nodes, None where no gradient is needed),
    `needs_input_grad` (one bool per input), `output_shape` and `output_dtype`, and
    `versions`: for each tensor whose values backward reads, its version counter and the
    version it had, so that backward refuses values changed in place since.
    """

    released = False
    retains = None  # a weak reference to the output tensor once it calls retain_grad()
    hooks = None  # functions the gradient arriving here passes through (register_hook), by key
    versions = ()
    differentiable = True  # False: the output never requires grad (comparisons, argmax)
    pure = True  # False: forward has an effect (a check that raises), so jit never drops it
    capturable = True  # False: a CUDA graph cannot hold it (a copy between devices)
    view = False  # True: the result may be a view of the first input (see ops/shape.py)
    inplace = False  # True: forward writes into its first input and returns it
    saved_inputs: tuple = ()  # the inputs backward reads (see `saved`)
    saves_output = False  # whether backward reads the result

    tracks_versions = False  # whether it saves anything (derived from the three above)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        overrides_saved = getattr(cls.saved, "__func__", cls.saved) is not Function.saved.__func__
        cls.tracks_versions = bool(cls.saves_output or cls.saved_inputs or overrides_saved)

    @classmethod
    def saved(cls, needs) -> tuple:
        """Positions of the inputs whose values backward reads, given which need a gradient."""
        return cls.saved_inputs

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError

    def backward(self, grad):
        """Return one gradient per input (None where `needs_input_grad` is False)."""
        raise NotImplementedError

    def release(self) -> None:
        self.__dict__.clear()
        self.released = True

    def name(self) -> str:
        """PyTorch's name for the node: the op's name and "Backward0" (MulBackward0)."""
        return f"{type(self).__name__}Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad:
    """The node of a leaf tensor: the gradients arriving here are added into the leaf's `.grad`.

    It holds its leaf strongly and the leaf holds it weakly, so it lives as long as a graph
    that uses the leaf, and no reference cycle forms.
    """

    released = False
    retains = None
    versions = ()
    parents = ()

    def __init__(self, tensor):
        self.tensor = tensor

    @property
    def output_shape(self):
        return self.tensor.array.shape

    @property
    def output_dtype(self):
        return self.tensor.array.dtype

    @property
    def hooks(self):
        return self.tensor._hooks

    def release(self) -> None:
        pass  # shared by every graph that uses the leaf: nothing to free

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class PartialGrad:
    """The gradient of an input of which an op used only `input[index]` (a slice, a time step).

    Rather than each such op writing its gradient into a fresh zero array the size of the whole
    input, the engine adds every part into one buffer in place: taking 28 time steps out of a
    sequence costs one zero-fill, not 28.
    """

    __slots__ = ("basic", "grad", "index", "shape")

    def __init__(self, index, grad, shape: tuple, basic: bool):
        self.index, self.grad, self.shape, self.basic = index, grad, shape, basic

    def add_into(self, full, owned: bool):
        """`full` (or zeros) plus this gradient at `index`; a private array the engine owns."""
        if full is None:
            full = get_array_module(self.grad).zeros(self.shape, dtype=self.grad.dtype)
        elif not owned:
            full = full.copy()
        if self.basic:
            full[self.index] += self.grad
        else:  # advanced indices may repeat an element: add every contribution
            get_array_module(full).add.at(full, self.index, self.grad)
        return full


class ProductGrad:
    """A gradient sum_k left_k @ right_k, kept unevaluated until the walk reaches its node.

    A weight used by a matmul at every time step receives one product per step. Waiting for
    all of them lets `evaluate` stack the operands and take one large product per chunk of
    `PRODUCT_CHUNK` steps instead of T small products and T - 1 additions: on a GPU that saves
    a launch per step, on a CPU it gives BLAS one long inner dimension instead of many short
    ones. The sum runs in another order than step by step, so it differs from T separate
    products by rounding only; a compiled step (tinygrad_rnn.jit) takes the same products in
    the same order, so it matches eager execution exactly.
    """

    __slots__ = ("lefts", "rights", "shape")

    def __init__(self, left, right):
        self.lefts, self.rights = [left], [right]
        self.shape = (left.shape[0], right.shape[1])

    def extend(self, other: ProductGrad) -> None:
        self.lefts += other.lefts
        self.rights += other.rights

    def evaluate(self):
        """The sum as one array the engine owns: the products in the order the forward pass
        made them (the walk met them last first), chunk by chunk."""
        lefts, rights = self.lefts[::-1], self.rights[::-1]
        out = None
        for start in range(0, len(lefts), PRODUCT_CHUNK):
            product = stacked_product(
                lefts[start : start + PRODUCT_CHUNK], rights[start : start + PRODUCT_CHUNK]
            )
            if out is None:
                out = product
            else:
                out += product
        return out


PRODUCT_CHUNK = 64  # products per stacked matmul: bounds the stacked copies' memory


def stacked_product(lefts: list, rights: list):
    """sum_k lefts[k] @ rights[k] as one product over stacked operands where they stack (each
    left the transpose of a C-contiguous array, all of one shape), else product by product."""
    if len(lefts) > 1:
        stacked_left = stack([left.T for left in lefts])
        stacked_right = None if stacked_left is None else stack(rights)
        if stacked_right is not None:
            count, inner, rows = stacked_left.shape
            return matmul(
                stacked_left.reshape(count * inner, rows).T,
                stacked_right.reshape(count * inner, stacked_right.shape[-1]),
            )
    out = matmul(lefts[0], rights[0])
    for left, right in zip(lefts[1:], rights[1:]):
        out += matmul(left, right)
    return out


_SECOND_BACKWARD = (
    "trying to backward through the graph a second time: its saved arrays were freed by the "
    "first backward; pass retain_graph=True to the first backward if you need to go through twice"
)


def topological_order(root) -> list:
    """Every node the root depends on, each after all the nodes that feed it.

    Iterative (no recursion), so a graph unrolled over 10,000 steps is fine.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        if node.released:
            raise RuntimeError(_SECOND_BACKWARD)
        visited.add(id(node))
        stack.append((node, True))
        for parent in node.parents:
            if parent is not None and id(parent) not in visited:
                stack.append((parent, False))
    return order


def check_versions(node) -> None:
    """Refuse to run `node`'s backward if a value it saved was modified in place since."""
    for counter, version, what in node.versions:
        if counter[0] != version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {what} of {type(node).__name__}, is at version "
                f"{counter[0]}; expected version {version} instead. Hint: compute it "
                "out of place (x = x + y instead of x += y), or clone() it first."
            )


def accumulate(grads: list, owned: list, i: int, grad, shape, dtype) -> None:
    """Add `grad` (reduced to `shape` if broadcasting stretched it, cast to `dtype`) into
    grads[i].

    owned[i] says whether grads[i] is an array the engine made itself and may therefore add
    into in place; any other array may be shared (an Add passes one gradient to both inputs).
    """
    if type(grad) is ProductGrad:
        if grads[i] is None:
            grads[i] = grad
            return
        if type(grads[i]) is ProductGrad:
            grads[i].extend(grad)
            return
        grad = grad.evaluate()
    elif type(grads[i]) is ProductGrad:  # an array meets products still waiting
        grads[i], owned[i] = grads[i].evaluate(), True
    if type(grad) is PartialGrad:
        if grad.grad.dtype != dtype:
            grad.grad = grad.grad.astype(dtype)
        grads[i] = grad.add_into(grads[i], owned[i])
        owned[i] = True
        return
    if grad.shape != shape:
        grad = sum_to(grad, shape)
    if grad.dtype != dtype:  # an input promoted to a wider dtype: its gradient comes back
        grad = grad.astype(dtype)
    previous = grads[i]
    if previous is None:
        grads[i] = grad
    elif owned[i]:
        previous += grad
        grads[i] = previous  # rebinding matters only for 0-d NumPy scalars
    else:
        grads[i] = previous + grad
        owned[i] = True


def backward(root, grad, retain_graph: bool = False) -> None:
    """Propagate `grad` (an array shaped like root's output) from node `root` to the leaves.

    Gradients arriving at a node from several uses are summed, so a weight used at every
    time step gets the sum over time. Broadcast inputs get their gradient reduced back to their
    shape here, once, so no op handles it itself.
    """
    order = topological_order(root)
    position = {id(node): i for i, node in enumerate(order)}
    recorder = Capture.recorder
    if recorder is not None:
        recorder.backward(order, position, grad, retain_graph)
    grads, owned = [None] * len(order), [False] * len(order)
    grads[-1] = grad
    for i in range(len(order) - 1, -1, -1):
        grad = grads[i]
        if grad is None:
            continue
        if type(grad) is ProductGrad:
            grad, owned[i] = grad.evaluate(), True
        grads[i], node = None, order[i]
        if node.hooks:
            for hook in tuple(node.hooks.values()):
                grad, owned[i] = hook(grad, owned[i])
        if node.retains is not None and (retained := node.retains()) is not None:
            retained._deposit_grad(grad, False)
        if type(node) is AccumulateGrad:
            node.tensor._deposit_grad(grad, owned[i])
            continue
        if node.versions:
            check_versions(node)
        results = node.backward(grad)
        if recorder is not None:
            recorder.returned(node, results)
        for parent, parent_grad in zip(node.parents, results):
            if parent is not None and parent_grad is not None:
                accumulate(
                    grads,
                    owned,
                    position[id(parent)],
                    parent_grad,
                    parent.output_shape,
                    parent.output_dtype,
                )
        if not retain_graph:
            node.release()


class Capture:
    """The recorder of `tinygrad_rnn.jit` while it captures a function (None otherwise)."""

    recorder = None


class JitError(RuntimeError):
    """A captured function does something that a replay could not reproduce."""


def refuse_in_capture(what: str) -> None:
    """Raise if a jit capture is running: `what` would bake a value in or be skipped in replay."""
    if Capture.recorder is not None:
        raise JitError(
            f"{what} inside a function that tinygrad_rnn.jit captures: replay would reuse the "
            "captured value instead of computing a new one. Do it outside the function, or pass "
            "the value in as a tensor argument."
        )


def replayable(method):
    """Mark a method (an optimizer's update, zero_grad, a scheduler's step) as one that jit
    replays by calling it. Nothing it does is recorded besides the call itself, so replayable
    calls it makes (a scheduler driving others) run once per replay, not twice."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        recorder = Capture.recorder
        if recorder is None:
            return method(*args, **kwargs)
        recorder.call(method, args, kwargs)
        Capture.recorder = None
        try:
            return method(*args, **kwargs)
        finally:
            Capture.recorder = recorder

    return wrapper


def retain(node, tensor) -> None:
    """Make backward also leave the gradient arriving at `node` in `tensor.grad`."""
    node.retains = weakref.ref(tensor)
