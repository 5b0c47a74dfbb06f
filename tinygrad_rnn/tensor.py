"""Tensor: an array, its gradient and the Function that made it; methods build the graph."""

from __future__ import annotations

import numbers
import weakref
from collections.abc import Sequence

import numpy as np

from . import autograd, hooks, ops
from .autograd import AccumulateGrad, Capture, _GradMode, refuse_in_capture
from .backend import (
    DEVICES,
    FLOAT_DTYPES,
    check_device,
    check_dtype,
    device_of,
    to_device,
    xp_for,
)


def _apply(fn_cls, *inputs, **kwargs) -> Tensor:
    """Run `fn_cls` forward on the inputs' arrays; record it in the graph if a gradient may flow.

    Inputs are Tensors or Python numbers (passed to the array math as weak scalars, so a float32
    tensor times 2.0 stays float32). This runs for every op, so it is written for speed.
    """
    device, requires_grad, arrays = None, False, []
    for x in inputs:
        if type(x) in _TENSOR_TYPES:
            if device is None:
                device = x.device
            elif x.device != device:
                raise RuntimeError(
                    f"expected all tensors on one device, found {device} and {x.device} "
                    f"in {fn_cls.__name__}"
                )
            requires_grad = requires_grad or x.requires_grad
            arrays.append(x.data)
        else:
            arrays.append(x)
    fn = fn_cls()
    data = fn.forward(*arrays, **kwargs)
    if fn_cls is ops.ToDevice:
        device = kwargs["device"]
    if type(data) is not np.ndarray and isinstance(data, np.generic):
        data = np.asarray(data)  # NumPy reduces to scalars; keep 0-d arrays instead
    if not (requires_grad and _GradMode.enabled and fn_cls.differentiable):
        out = Tensor._make(data, device, False, None)
    else:
        parents, needs = [], []
        for x in inputs:
            if type(x) in _TENSOR_TYPES and x.requires_grad:
                parents.append(x._node or x._grad_node())
                needs.append(True)
            else:
                parents.append(None)
                needs.append(False)
        fn.parents, fn.needs_input_grad, fn.output_shape = parents, needs, data.shape
        out = Tensor._make(data, device, True, fn)
    if Capture.recorder is not None:
        Capture.recorder.op(fn_cls, inputs, kwargs, out)
    return out


def _operand(x, like: Tensor):
    """The other operand: a Tensor, a Python number (a weak scalar), or made into a Tensor."""
    if type(x) in _PYTHON_NUMBERS or isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, numbers.Number):
        return x
    if isinstance(x, (list, tuple)):
        return Tensor(x, device=like.device, dtype=like.dtype)
    return Tensor(x)


def _reduce_args(axis, keepdims, dim, keepdim):
    """Accept NumPy's (axis, keepdims) and PyTorch's (dim, keepdim) spellings alike."""
    axis = dim if dim is not None else axis
    keepdims = keepdim if keepdim is not None else keepdims
    return (tuple(axis) if isinstance(axis, list) else axis), bool(keepdims)


def _shape_args(shape) -> tuple:
    """`f(2, 3)` and `f((2, 3))` both mean the shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


_TENSOR_TYPES: set[type] = set()  # Tensor and its subclasses (nn.Parameter)
_PYTHON_NUMBERS = (float, int)


class Tensor:
    """An n-dimensional array on "cpu" (NumPy) or "cuda" (CuPy) that can record gradients.

    Like `torch.as_tensor`, a NumPy or CuPy array of the right dtype and device is used without
    a copy. Python floats become float32; arrays keep their dtype unless `dtype` is given.
    """

    __slots__ = ("__weakref__", "_accumulator", "_node", "data", "device", "grad", "requires_grad")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, device: str | None = None, dtype=None):
        if isinstance(data, Tensor):
            refuse_in_capture("Tensor(tensor) (it takes the value; use tensor.detach())")
            data = data.data
        if isinstance(data, np.generic):
            data = np.asarray(data)
        is_array = hasattr(data, "__array_interface__") or hasattr(data, "__cuda_array_interface__")
        if device is None:
            device = device_of(data) if is_array and not isinstance(data, np.ndarray) else None
        device = check_device(device)
        if not is_array:
            data = np.asarray(data)
            if dtype is None and data.dtype == np.float64:
                dtype = np.float32
        data = to_device(data, device)
        if dtype is not None and data.dtype != check_dtype(dtype):
            data = data.astype(dtype)
        check_dtype(data.dtype)
        if requires_grad and data.dtype not in FLOAT_DTYPES:
            raise TypeError(f"only floating point tensors can require grad, not {data.dtype.name}")
        self.data, self.device, self.requires_grad = data, device, bool(requires_grad)
        self.grad, self._node, self._accumulator = None, None, None

    @classmethod
    def _make(cls, data, device: str, requires_grad: bool, node) -> Tensor:
        """A tensor made by an op: `node` is the Function that made it (None outside a graph)."""
        tensor = cls.__new__(cls)
        tensor.data, tensor.device, tensor.requires_grad = data, device, requires_grad
        tensor.grad, tensor._node, tensor._accumulator = None, node, None
        return tensor

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _TENSOR_TYPES.add(cls)  # _apply checks exact types, which is faster than isinstance

    def _grad_node(self):
        """The graph node that receives this tensor's gradient (a leaf's is made on demand)."""
        if self._node is not None:
            return self._node
        accumulator = self._accumulator and self._accumulator()
        if accumulator is None:
            accumulator = AccumulateGrad(self)
            self._accumulator = weakref.ref(accumulator)
        return accumulator

    # ------------------------------------------------------------ attributes and conversions

    array = property(
        lambda self: self.data,
        doc="The NumPy (cpu) or CuPy (cuda) array holding the values, shared, not copied.",
    )
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._node is None)
    grad_fn = property(lambda self: self._node)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        refuse_in_capture("testing a tensor's truth value (if tensor: ...)")
        return bool(self.data)

    def __repr__(self) -> str:
        text = np.array2string(
            to_device(self.data, "cpu"), separator=", ", precision=4, prefix="tensor("
        )
        extras = [f"device='{self.device}'"] if self.device != "cpu" else []
        extras += [f"dtype={self.dtype.name}"] if self.dtype != np.float32 else []
        if self._node is not None:
            extras.append(f"grad_fn={self._node!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([text, *extras]) + ")"

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied, on the CPU)."""
        refuse_in_capture("reading a tensor's values (numpy())")
        return to_device(self.data, "cpu")

    def __array__(self, dtype=None, copy=None):
        """np.asarray(tensor) works (on the CPU copy of the data)."""
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def tolist(self):
        """Nested Python lists of the values."""
        return self.numpy().tolist()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        refuse_in_capture("reading a tensor's value (item())")
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, not shape {self.shape}")
        return self.data.item()

    def to(self, device_or_dtype=None, dtype=None) -> Tensor:
        """This tensor on another device or with another dtype (differentiable; self if same)."""
        out = self
        if isinstance(device_or_dtype, str) and device_or_dtype.split(":")[0] in DEVICES:
            device = check_device(device_or_dtype)
            if device != self.device:
                xp_for(device)  # a missing CuPy is reported before any work
                out = _apply(ops.ToDevice, self, device=device)
        elif device_or_dtype is not None:
            dtype = device_or_dtype
        if dtype is not None and check_dtype(dtype) != out.dtype:
            out = _apply(ops.Cast, out, dtype=check_dtype(dtype))
        return out

    def cpu(self) -> Tensor:
        """This tensor on the CPU (self if already there)."""
        return self.to("cpu")

    def cuda(self) -> Tensor:
        """This tensor on the GPU (self if already there)."""
        return self.to("cuda")

    def float(self) -> Tensor:
        """As float32 (differentiable)."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """As float64 (differentiable)."""
        return self.to(np.float64)

    # ------------------------------------------------------------ autograd

    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (times `grad` if given)."""
        if not self.requires_grad:
            raise RuntimeError(
                "this tensor does not require grad and was not made from one that does"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without grad needs a scalar, not shape {self.shape}; "
                    "pass grad= shaped like the tensor"
                )
            grad = xp_for(self.device).ones_like(self.data)
        else:
            refuse_in_capture("backward(grad=...) with an explicit gradient")
            grad = grad.data if isinstance(grad, Tensor) else grad
            grad = to_device(xp_for(self.device).asarray(grad, dtype=self.dtype), self.device)
            if grad.shape != self.shape:
                raise ValueError(
                    f"grad has shape {grad.shape} but the tensor has shape {self.shape}"
                )
        autograd.backward(self._grad_node(), grad, retain_graph)

    def _deposit_grad(self, grad, owned: bool) -> None:
        xp = xp_for(self.device)
        if self.grad is not None:
            grad = self.grad.data + grad
        # a gradient array may be shared with other tensors' gradients: keep a private copy
        grad = xp.asarray(grad) if owned or self.grad is not None else xp.array(grad)
        self.grad = Tensor._make(grad, self.device, False, None)
        if hooks._post_accumulate_grad_hooks:  # this leaf's gradient is final for this backward
            hooks.run_post_accumulate_grad_hooks(self)

    def register_post_accumulate_grad_hook(self, hook) -> hooks.RemovableHandle:
        """Call `hook(self)` once per backward, when this leaf's `.grad` is final; `.remove()`
        on the returned handle unregisters it. Runs in tg.jit replays too (live, not recorded)."""
        if self._node is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return hooks.register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep `.grad` on this intermediate tensor after backward (leaves always keep it)."""
        refuse_in_capture("retain_grad() (and track_hidden_grads)")
        if self._node is not None:
            autograd.retain(self._node, self)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (same as `tensor.grad = None`)."""
        self.grad = None

    def detach(self) -> Tensor:
        """The same data without history: gradients stop here."""
        return _apply(ops.Detach, self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf, in place."""
        if requires_grad and self.dtype not in FLOAT_DTYPES:
            raise TypeError(f"only floating point tensors can require grad, not {self.dtype.name}")
        self.requires_grad = requires_grad
        return self

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other):
        return _apply(ops.Add, self, _operand(other, self))

    def __radd__(self, other):
        return _apply(ops.Add, _operand(other, self), self)

    def __sub__(self, other):
        return _apply(ops.Sub, self, _operand(other, self))

    def __rsub__(self, other):
        return _apply(ops.Sub, _operand(other, self), self)

    def __mul__(self, other):
        return _apply(ops.Mul, self, _operand(other, self))

    def __rmul__(self, other):
        return _apply(ops.Mul, _operand(other, self), self)

    def __truediv__(self, other):
        return _apply(ops.Div, self, _operand(other, self))

    def __rtruediv__(self, other):
        return _apply(ops.Div, _operand(other, self), self)

    def __pow__(self, other):
        return _apply(ops.Pow, self, _operand(other, self))

    def __rpow__(self, other):
        return _apply(ops.Pow, _operand(other, self), self)

    def __matmul__(self, other):
        other = _operand(other, self)
        try:
            return _apply(ops.MatMul, self, other)
        except ValueError:
            if self.ndim == 0 or other.ndim == 0:
                raise ValueError("matmul needs tensors with at least one dimension") from None
            raise ValueError(f"matmul shape mismatch: {self.shape} @ {other.shape}") from None

    def __rmatmul__(self, other):
        return Tensor.__matmul__(_operand(other, self), self)

    def __neg__(self):
        return _apply(ops.Neg, self)

    def __abs__(self):
        return _apply(ops.Abs, self)

    matmul = __matmul__
    abs = __abs__

    # comparisons: results carry no gradient
    def __eq__(self, other):
        return _apply(ops.Compare, self, _operand(other, self), op="equal")

    def __ne__(self, other):
        return _apply(ops.Compare, self, _operand(other, self), op="not_equal")

    def __lt__(self, other):
        return _apply(ops.Compare, self, _operand(other, self), op="less")

    def __le__(self, other):
        return _apply(ops.Compare, self, _operand(other, self), op="less_equal")

    def __gt__(self, other):
        return _apply(ops.Compare, self, _operand(other, self), op="greater")

    def __ge__(self, other):
        return _apply(ops.Compare, self, _operand(other, self), op="greater_equal")

    __hash__ = object.__hash__

    def maximum(self, other):
        """Elementwise max, broadcasting; tied elements share the gradient."""
        return _apply(ops.Maximum, self, _operand(other, self))

    def minimum(self, other):
        """Elementwise min, broadcasting; tied elements share the gradient."""
        return _apply(ops.Minimum, self, _operand(other, self))

    # ------------------------------------------------------------ elementwise functions

    def exp(self):
        """Elementwise e**x."""
        return _apply(ops.Exp, self)

    def log(self):
        """Elementwise natural logarithm."""
        return _apply(ops.Log, self)

    def sqrt(self):
        """Elementwise square root."""
        return _apply(ops.Sqrt, self)

    def tanh(self):
        """Elementwise hyperbolic tangent."""
        return _apply(ops.Tanh, self)

    def sigmoid(self):
        """Elementwise 1 / (1 + e**-x)."""
        return _apply(ops.Sigmoid, self)

    def relu(self):
        """Elementwise max(x, 0)."""
        return _apply(ops.Relu, self)

    def clip(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        """Limit values to [min, max] (either bound may be None); gradient 0 where clipped."""
        if min is None and max is None:
            raise ValueError("clip needs at least one of min and max")
        return _apply(ops.Clip, self, low=min, high=max)

    clamp = clip

    # ------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Sum over `axis` (all axes if None); `dim`/`keepdim` are accepted too."""
        axis, keepdims = _reduce_args(axis, keepdims, dim, keepdim)
        return _apply(ops.Sum, self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Mean over `axis` (all axes if None)."""
        axis, keepdims = _reduce_args(axis, keepdims, dim, keepdim)
        total = self.sum(axis, keepdims)
        return total * (total.size / max(self.size, 1))

    def var(self, axis=None, keepdims=False, *, correction=1, dim=None, keepdim=None):
        """Variance with PyTorch's default Bessel correction (divides by n - correction)."""
        axis, keepdims = _reduce_args(axis, keepdims, dim, keepdim)
        centered = self - self.mean(axis, keepdims=True)
        squares = (centered * centered).sum(axis, keepdims)
        return squares / max(self.size // max(squares.size, 1) - correction, 0)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The largest values over `axis` (values only, like torch.amax)."""
        axis, keepdims = _reduce_args(axis, keepdims, dim, keepdim)
        return _apply(ops.Max, self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The smallest values over `axis` (values only, like torch.amin)."""
        axis, keepdims = _reduce_args(axis, keepdims, dim, keepdim)
        return _apply(ops.Min, self, axis=axis, keepdims=keepdims)

    amax, amin = max, min

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Indices (int64) of the largest values over `axis`; carries no gradient."""
        axis, keepdims = _reduce_args(axis, keepdims, dim, keepdim)
        return _apply(ops.ArgMax, self, axis=axis, keepdims=keepdims)

    # ------------------------------------------------------------ shape

    def reshape(self, *shape):
        """The same values in a new shape (one size may be -1)."""
        return _apply(ops.Reshape, self, shape=_shape_args(shape))

    view = reshape

    def flatten(self, start_dim: int = 0):
        """Merge the axes from `start_dim` on into one."""
        return self.reshape(self.shape[:start_dim] + (-1,))

    def permute(self, *axes):
        """Reorder the axes: output axis i is input axis axes[i]."""
        return _apply(ops.Transpose, self, axes=_shape_args(axes))

    def transpose(self, dim0: int = -2, dim1: int = -1):
        """Swap two axes (PyTorch's meaning); `.T` and `.permute` cover the rest."""
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(*axes)

    def expand(self, *shape):
        """Broadcast to `shape` (-1 keeps a size) without copying; gradients are summed back."""
        shape = _shape_args(shape)
        lead = len(shape) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
        try:
            np.broadcast_shapes(self.shape, shape)
        except ValueError:
            raise ValueError(f"cannot broadcast shape {self.shape} to {shape}") from None
        return _apply(ops.Expand, self, shape=shape)

    broadcast_to = expand

    def squeeze(self, axis=None):
        """Drop axes of size 1 (all of them, or those in `axis`)."""
        if axis is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        axes = {a % self.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if i not in axes or s != 1))

    def unsqueeze(self, axis: int):
        """Insert an axis of size 1 at position `axis`."""
        axis = axis % (self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def __getitem__(self, index):
        """NumPy indexing: ints, slices, None, Ellipsis, integer and boolean arrays or tensors."""
        if ops.is_basic_index(index):
            return _apply(ops.GetItem, self, index=index)  # the common case, kept fast
        items = index if isinstance(index, tuple) else (index,)
        template, index_tensors = [], []
        for item in items:  # tensors in the index become inputs of the op, not constants
            if isinstance(item, list) or hasattr(item, "__array_interface__"):
                item = Tensor(np.asarray(item), device=self.device)
            if isinstance(item, Tensor):
                template.append(ops.IndexInput(len(index_tensors)))
                index_tensors.append(item)
            else:
                template.append(item)
        template = tuple(template) if isinstance(index, tuple) else template[0]
        return _apply(ops.GetItem, self, *index_tensors, index=template)

    def split(self, split_size_or_sections, dim: int = 0) -> list[Tensor]:
        """Pieces of `split_size` along `dim` (the last may be smaller), or of the listed sizes."""
        length = self.shape[dim]
        if isinstance(split_size_or_sections, int):
            step = split_size_or_sections
            sizes = [min(step, length - start) for start in range(0, length, step)]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != length:
                raise ValueError(f"split sizes {sizes} do not add up to {length} along dim {dim}")
        pieces, start = [], 0
        lead = (slice(None),) * (dim % self.ndim)
        for size in sizes:
            pieces.append(self[lead + (slice(start, start + size),)])
            start += size
        return pieces

    def chunk(self, chunks: int, dim: int = 0) -> list[Tensor]:
        """`chunks` pieces along `dim`, each ceil(size / chunks) long but the last."""
        return self.split(-(-self.shape[dim] // chunks), dim)

    def pad(self, pad_width, value: float = 0.0):
        """Constant padding with NumPy's `pad_width`: ((before, after),) per axis, or an int."""
        if isinstance(pad_width, int):
            pad_width = ((pad_width, pad_width),) * self.ndim
        pad_width = tuple(tuple(p) for p in pad_width)
        return _apply(ops.Pad, self, pad_width=pad_width, value=value)


_TENSOR_TYPES.add(Tensor)


def _tensors(tensors: Sequence) -> list:
    if not tensors:
        raise ValueError("expected a non-empty sequence of tensors")
    first = next((t for t in tensors if isinstance(t, Tensor)), None)
    return [
        t if isinstance(t, Tensor) else Tensor(t, device=None if first is None else first.device)
        for t in tensors
    ]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = _tensors(tensors)
    shapes = [list(t.shape) for t in tensors]
    for shape in shapes:
        if len(shape) != len(shapes[0]) or any(
            a != b for i, (a, b) in enumerate(zip(shape, shapes[0])) if i != dim % len(shape)
        ):
            raise ValueError(f"cat needs equal shapes except along dim {dim}, got {shapes}")
    return _apply(ops.Concatenate, *tensors, axis=dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    tensors = _tensors(tensors)
    if len({t.shape for t in tensors}) != 1:
        raise ValueError(f"stack needs equal shapes, got {[t.shape for t in tensors]}")
    return _apply(ops.Stack, *tensors, axis=dim)


def where(condition, a, b) -> Tensor:
    """`a` where `condition` holds, else `b` (gradients flow to a and b, not the condition)."""
    like = next(x for x in (a, b, condition) if isinstance(x, Tensor))
    condition = (
        condition if isinstance(condition, Tensor) else Tensor(condition, device=like.device)
    )
    return _apply(ops.Where, condition, _operand(a, like), _operand(b, like))


def maximum(a: Tensor, b) -> Tensor:
    """Elementwise max of two tensors (or a tensor and a number), broadcasting."""
    return a.maximum(b) if isinstance(a, Tensor) else _operand(b, None).maximum(a)


def minimum(a: Tensor, b) -> Tensor:
    """Elementwise min of two tensors (or a tensor and a number), broadcasting."""
    return a.minimum(b) if isinstance(a, Tensor) else _operand(b, None).minimum(a)


concatenate = cat
