"""Tensor: an array, its gradient and the Function that made it; methods build the graph.

The class is assembled from method families, each in its own module: arithmetic and
elementwise math (tensor_math), comparisons and logic (tensor_compare), reductions and
sorting (tensor_reduce), shapes and joins (tensor_shape), indexing (tensor_index),
conversions (tensor_convert) and in-place operations (tensor_inplace). This module holds what
every tensor is: its storage, dtype, device and autograd state.
"""

from __future__ import annotations

import copy
import weakref

import numpy as np

from . import autograd, dispatch, hooks, ops, printing
from .autograd import AccumulateGrad, refuse_in_capture
from .backend import check_device, to_device, xp_for
from .dtypes import DTYPES, get_default_dtype, is_floating
from .tensor_compare import CompareMethods
from .tensor_convert import ConvertMethods
from .tensor_index import IndexMethods
from .tensor_inplace import InplaceMethods
from .tensor_math import MathMethods
from .tensor_reduce import ReductionMethods
from .tensor_shape import ShapeMethods
from .unsupported import UnsupportedAttributeError


class Size(tuple):
    """A tensor's shape: a tuple of ints, as torch.Size."""

    def numel(self) -> int:
        count = 1
        for size in self:
            count *= size
        return count

    def __repr__(self) -> str:
        return f"Size({list(self)})"


class Tensor(
    MathMethods,
    CompareMethods,
    ReductionMethods,
    ShapeMethods,
    IndexMethods,
    ConvertMethods,
    InplaceMethods,
):
    """An n-dimensional array on "cpu" (NumPy) or "cuda" (CuPy) that can record gradients.

    `Tensor(*sizes)` and `Tensor(data)` are PyTorch's legacy constructor: a zero-filled
    (PyTorch: uninitialised) or copied tensor of the default float dtype. Make tensors with
    `tg.tensor` (copies, infers the dtype), `tg.as_tensor` and `tg.from_numpy` (share memory).
    The NumPy or CuPy array itself is `tensor.array`; `tensor.data` is, as in PyTorch, a
    tensor without history sharing that array.
    """

    __slots__ = (
        "__weakref__",
        "_accumulator",
        "_counter",
        "_grad",
        "_hooks",
        "_node",
        "_view_of",
        "array",
        "device",
        "requires_grad",
    )
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__
    __array_priority__ = 1000

    def __init__(self, *args, device=None):
        device = check_device(device)
        if args and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            array = xp_for(device).zeros(tuple(int(a) for a in args), dtype=get_default_dtype())
        elif len(args) == 1:
            array = to_device(dispatch.array_of(args[0], get_default_dtype()), device).copy()
        elif not args:
            array = xp_for(device).zeros((0,), dtype=get_default_dtype())
        else:
            raise TypeError(f"Tensor() takes sizes (ints) or one sequence of data, got {args!r}")
        self._set(array, device, False)

    def _set(self, array, device: str, requires_grad: bool) -> None:
        self.array, self.device, self.requires_grad = array, device, requires_grad
        self._grad = self._node = self._accumulator = None
        self._counter = self._view_of = self._hooks = None

    @classmethod
    def _make(cls, array, device: str, requires_grad: bool, node) -> Tensor:
        """A tensor made by an op: `node` is the Function that made it (None outside a graph)."""
        tensor = cls.__new__(cls)
        tensor.array, tensor.device, tensor.requires_grad = array, device, requires_grad
        tensor._node, tensor._grad, tensor._accumulator = node, None, None
        tensor._counter = tensor._view_of = tensor._hooks = None
        return tensor

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        dispatch.TENSOR_TYPES.add(cls)  # apply checks exact types, which is faster

    def _grad_node(self):
        """The graph node that receives this tensor's gradient (a leaf's is made on demand)."""
        if self._node is not None:
            return self._node
        accumulator = self._accumulator and self._accumulator()
        if accumulator is None:
            accumulator = AccumulateGrad(self)
            self._accumulator = weakref.ref(accumulator)
        return accumulator

    # ------------------------------------------------------------ attributes

    shape = property(lambda self: Size(self.array.shape))
    ndim = property(lambda self: self.array.ndim)
    dtype = property(lambda self: DTYPES[self.array.dtype], doc="The dtype, as a DType.")
    is_leaf = property(lambda self: self._node is None)

    @property
    def grad_fn(self):
        """The node that made this tensor (None for a leaf); a view whose base changed in
        place since gets its new history first, as in PyTorch."""
        dispatch.resync_if_stale(self)
        return self._node

    is_cuda = property(lambda self: self.device == "cuda")
    _version = property(lambda self: 0 if self._counter is None else self._counter[0])
    itemsize = property(lambda self: self.array.itemsize)

    def size(self, dim: int | None = None):
        """The shape (a Size), or the size of dimension `dim`."""
        if dim is None:
            return self.shape
        return self.array.shape[self._dim(dim)] if self.ndim else self._dim(dim) and 1

    def dim(self) -> int:
        """The number of dimensions."""
        return self.array.ndim

    ndimension = dim

    def numel(self) -> int:
        """The number of elements."""
        return int(self.array.size)

    nelement = numel

    def element_size(self) -> int:
        return self.array.itemsize

    def is_floating_point(self) -> bool:
        return is_floating(self.array.dtype)

    def is_contiguous(self) -> bool:
        return bool(self.array.flags.c_contiguous)

    def _dim(self, dim: int) -> int:
        """`dim` wrapped into [0, ndim) (a 0-d tensor takes 0 and -1), else IndexError."""
        rank = max(self.ndim, 1)
        if not -rank <= dim < rank:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
                f"but got {dim})"
            )
        return dim % rank

    @property
    def data(self) -> Tensor:
        """This tensor's values without history (sharing memory, not the version counter)."""
        return Tensor._make(self.array, self.device, False, None)

    @data.setter
    def data(self, value) -> None:
        value = dispatch.to_tensor(value)
        self.array, self.device = value.array, value.device

    @property
    def grad(self):
        """The accumulated gradient (None before the first backward reaches this leaf)."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None, not {value!r}")
            if value.shape != self.shape:
                raise RuntimeError("assigned grad has data of a different size")
            if value.dtype != self.dtype:
                raise RuntimeError("assigned grad has data of a different type")
            if value.device != self.device:
                raise RuntimeError("assigned grad has data located on a different device")
        self._grad = value

    # ------------------------------------------------------------ Python protocols

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    def __bool__(self) -> bool:
        refuse_in_capture("testing a tensor's truth value (if tensor: ...)")
        if self.array.size != 1:
            amount = "more than one value" if self.array.size else "no values"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self.array)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return repr(self)

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: a PyTorch name we lack (or a typo) says so,
        # and the runner turns it into one line
        if name.startswith("_") or name in Tensor.__slots__:  # ours: a plain AttributeError
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        raise UnsupportedAttributeError(
            f"'Tensor' object has no attribute '{name}': Tensor.{name} is not supported by "
            "tinygrad_rnn"
        )

    def data_ptr(self) -> int:
        """The address of the first element (NumPy's or CuPy's), as PyTorch's data_ptr."""
        array = self.array
        if array.size == 0:
            return 0
        if isinstance(array, np.ndarray):
            return array.__array_interface__["data"][0]
        return array.data.ptr

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        """PyTorch's print format (tinygrad_rnn.printing; set_printoptions changes it)."""
        indent = len("tensor(")
        text = printing.array_text(to_device(self.array, "cpu"), indent)
        suffixes = [f"device='{self.device}'"] if self.device != "cpu" else []
        if self.array.size == 0 and self.ndim != 1:
            suffixes.append(f"size={tuple(self.shape)}")
        implied = (np.int64, np.bool_) if self.array.size else ()  # values show them
        if not (self.dtype == get_default_dtype() or self.dtype in implied):
            suffixes.append(f"dtype={self.dtype.name}")
        if self._node is not None:
            suffixes.append(f"grad_fn=<{self._node.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return printing.with_suffixes("tensor(" + text, suffixes, indent)

    def __deepcopy__(self, memo) -> Tensor:
        if self._node is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        clone = type(self).__new__(type(self))
        clone._set(self.array.copy(), self.device, self.requires_grad)
        memo[id(self)] = clone
        if self._grad is not None:
            clone._grad = copy.deepcopy(self._grad, memo)
        return clone

    def __reduce_ex__(self, protocol):
        return (
            _rebuild,
            (type(self), to_device(self.array, "cpu"), self.device, self.requires_grad),
        )

    # ------------------------------------------------------------ autograd

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (times `gradient` if given)."""
        if create_graph:
            raise NotImplementedError("create_graph=True (higher-order gradients) is not supported")
        if inputs is not None:
            raise NotImplementedError("backward(inputs=...) is not supported")
        dispatch.resync_if_stale(self)
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            gradient = xp_for(self.device).ones_like(self.array)
        else:
            refuse_in_capture("backward(gradient=...) with an explicit gradient")
            if isinstance(gradient, Tensor):
                gradient = gradient.array
            elif not hasattr(gradient, "shape"):
                gradient = np.asarray(gradient)
            gradient = to_device(gradient, self.device).astype(self.dtype, copy=False)
            if gradient.shape != self.array.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {Size(gradient.shape)} "
                    f"and output[0] has a shape of {self.shape}."
                )
        autograd.backward(self._grad_node(), gradient, bool(retain_graph))

    def _deposit_grad(self, grad, owned: bool) -> None:
        """Add an arriving gradient into `.grad`, in place once it exists (as PyTorch)."""
        if grad.dtype != self.array.dtype:
            grad, owned = grad.astype(self.array.dtype), True
        if self._grad is None:
            # a gradient array may be shared with other tensors' gradients: keep a private copy
            grad = grad if owned else grad.copy()
            self._grad = Tensor._make(grad, self.device, False, None)
        else:
            self._grad.array += grad
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
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._node is not None:
            autograd.retain(self._node, self)

    @property
    def retains_grad(self) -> bool:
        return self._node is not None and self._node.retains is not None

    def register_hook(self, hook):
        """Call hook(grad) with this tensor's gradient during backward; if it returns a tensor,
        that replaces the gradient. Returns a handle whose remove() takes the hook off."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._hooks is None:
            self._hooks = hooks.HookTable()
        device = self.device

        def on_array(grad, owned):
            result = hook(Tensor._make(grad, device, False, None))
            if result is None:
                return grad, owned
            return (result.array if isinstance(result, Tensor) else result), False

        if self._node is not None:
            self._node.hooks = self._hooks
        return hooks.add(self._hooks, on_array)

    def detach(self) -> Tensor:
        """The same values without history (sharing memory and version counter)."""
        return dispatch.apply(ops.Detach, self)

    def detach_(self) -> Tensor:
        """Cut this tensor from its history, in place."""
        self._node, self.requires_grad = None, False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop) recording operations on this leaf, in place."""
        if requires_grad and not is_floating(self.dtype):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if not requires_grad and self._node is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (same as `tensor.grad = None`)."""
        self._grad = None


dispatch.TENSOR = Tensor
dispatch.TENSOR_TYPES.add(Tensor)


def _rebuild(cls, array, device, requires_grad):
    tensor = cls.__new__(cls)
    tensor._set(to_device(array, device), device, requires_grad)
    return tensor
