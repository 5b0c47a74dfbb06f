"""Tensor methods: conversions to NumPy and Python values, between devices and dtypes, and
new tensors like an existing one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import dispatch, ops
from .autograd import refuse_in_capture
from .backend import check_device, to_device, xp_for
from .dtypes import SCALAR_NAMES, as_dtype, check_dtype, get_default_dtype

if TYPE_CHECKING:
    from .tensor import Tensor


class ConvertMethods:
    __slots__ = ()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The values as a NumPy array (shared, not copied, on the CPU)."""
        refuse_in_capture("reading a tensor's values (numpy())")
        if self.requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if self.device != "cpu" and not force:
            raise TypeError(
                "can't convert cuda device type tensor to numpy. Use Tensor.cpu() to copy the "
                "tensor to host memory first."
            )
        return to_device(self.array, "cpu")

    def __array__(self, dtype=None, copy=None):
        """np.asarray(tensor) works (on the CPU copy of the values), but not on a tensor that
        requires grad, as in PyTorch."""
        if self.requires_grad:
            self.numpy()  # PyTorch's RuntimeError, naming detach()
        array = self.numpy(force=True)
        return array if dtype is None else array.astype(dtype)

    def tolist(self):
        """Nested Python lists of the values (a number for a 0-d tensor)."""
        refuse_in_capture("reading a tensor's values (tolist())")
        return to_device(self.array, "cpu").tolist()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        refuse_in_capture("reading a tensor's value (item())")
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to Scalar"
            )
        return self.array.item()

    def to(self, *args, **kwargs) -> Tensor:
        """This tensor on another device and/or with another dtype (differentiable; self when
        nothing changes): to(device), to(dtype), to(device, dtype), to(other_tensor)."""
        device, dtype, copy_ = _to_arguments(args, kwargs)
        out = self
        if device is not None and device != self.device:
            xp_for(device)  # a missing CuPy is reported before any work
            out = dispatch.apply(ops.ToDevice, self, device=device)
        if dtype is not None and dtype != out.dtype:
            out = dispatch.apply(ops.Cast, out, dtype=dtype)
        if copy_ and out is self:
            out = self.clone()
        return out

    def cpu(self) -> Tensor:
        """This tensor on the CPU (self if already there)."""
        return self.to("cpu")

    def cuda(self, device=None) -> Tensor:
        """This tensor on the GPU (self if already there)."""
        return self.to("cuda" if device is None else f"cuda:{device}")

    def type(self, dtype=None, non_blocking: bool = False, **_):
        """The type name ('torch.FloatTensor', 'torch.cuda.FloatTensor'), or this tensor as
        `dtype`: a dtype, a legacy type (torch.LongTensor) or its name, which also name the
        device."""
        if dtype is None:
            where = "torch.cuda." if self.device.type == "cuda" else "torch."
            return where + _TYPE_NAMES.get(self.dtype.name, self.dtype.name)
        if isinstance(dtype, str):
            if dtype == "torch.Tensor":
                return self.to("cpu", get_default_dtype())
            names = {v: k for k, v in _TYPE_NAMES.items()}
            prefix, _, name = dtype.rpartition(".")
            if prefix not in ("torch", "torch.cuda") or name not in names:
                raise ValueError(f"invalid type: '{dtype}'")
            device = "cuda" if prefix == "torch.cuda" else "cpu"
            return self.to(device, as_dtype(np.dtype(names[name])))
        if isinstance(dtype, type) and dtype in dispatch.TENSOR_TYPES:  # torch.Tensor itself
            return self.to("cpu", get_default_dtype())
        if isinstance(dtype, type) and hasattr(dtype, "is_cuda"):  # torch.cuda.FloatTensor, ...
            return self.to("cuda" if dtype.is_cuda else "cpu", dtype.dtype)
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        """As float32 (differentiable)."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """As float64 (differentiable)."""
        return self.to(np.float64)

    def half(self) -> Tensor:
        return self.to(np.float16)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def short(self) -> Tensor:
        return self.to(np.int16)

    def char(self) -> Tensor:
        return self.to(np.int8)

    def byte(self) -> Tensor:
        return self.to(np.uint8)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back to this tensor."""
        return dispatch.apply(ops.Clone, self)

    def contiguous(self) -> Tensor:
        """Self if its memory is in row-major order, else a row-major copy."""
        return self if self.array.flags.c_contiguous else self.clone()

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False) -> Tensor:
        """A copy of `data`, with this tensor's dtype (unless data has one) and device."""
        dtype = self.dtype if dtype is None and not hasattr(data, "dtype") else dtype
        device = check_device(device or self.device)
        array = to_device(dispatch.array_of(data, dtype), device).copy()
        return dispatch.leaf(array, device, requires_grad)

    def new(self, *args, device=None) -> Tensor:
        """PyTorch's legacy constructor with this tensor's dtype and device: new(2, 3) is a
        zero-filled (2, 3) tensor (PyTorch: uninitialised), new([1, 2]) holds that data."""
        return legacy_new(args, self.dtype, self.device if device is None else device)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
        """A tensor of `size` filled with `fill_value`, with this tensor's dtype and device."""
        device = check_device(device or self.device)
        dtype = self.dtype if dtype is None else check_dtype(dtype)
        array = xp_for(device).full(_sizes((size,)), fill_value, dtype=dtype)
        return dispatch.leaf(array, device, requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        return self.new_full(_sizes(size), 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        return self.new_full(_sizes(size), 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def legacy_new(args: tuple, dtype, device) -> Tensor:
    """PyTorch's legacy constructor (torch.LongTensor(...), tensor.new(...)): sizes (ints or a
    torch.Size) give a zero-filled tensor, one sequence or array its values converted to
    `dtype`, nothing an empty tensor."""
    device = check_device(device)
    if len(args) == 1 and isinstance(args[0], tuple) and hasattr(args[0], "numel"):
        args = tuple(args[0])  # a torch.Size means sizes; a plain tuple is data
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        shape = tuple(int(a) for a in args) if args else (0,)
        if any(size < 0 for size in shape):
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}"
            )
        return dispatch.leaf(xp_for(device).zeros(shape, dtype=dtype), device, False)
    if len(args) > 1:
        raise TypeError(f"new() takes sizes (ints) or one sequence of data, got {args!r}")
    data = args[0]
    if type(data) in dispatch.TENSOR_TYPES:
        if data.dtype == dtype and data.device == device:
            return data.detach()  # PyTorch's alias of the same memory
        raise TypeError(
            f"a legacy {dtype.name} constructor does not take a tensor (got {data.dtype.name}):"
            f" use tensor.to(torch.{dtype.name}) or torch.tensor(data)"
        )
    if dispatch.host_array(data) is None and not isinstance(data, (list, tuple)):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
    array = dispatch.array_of(data, dtype)  # torch.tensor's conversion and range checks
    return dispatch.leaf(to_device(array.copy(), device), device, False)


_TYPE_NAMES = {name: f"{scalar}Tensor" for name, scalar in SCALAR_NAMES.items()}


def _sizes(size: tuple) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _to_arguments(args, kwargs) -> tuple:
    """(device, dtype, copy) from Tensor.to's forms."""
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    copy_ = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if type(arg) in dispatch.TENSOR_TYPES:
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, str) or type(arg).__name__ == "device":
            device = arg
        elif isinstance(arg, bool):
            continue  # non_blocking or copy given positionally
        elif arg is not None:
            dtype = arg
    device = None if device is None else check_device(device)
    dtype = None if dtype is None else check_dtype(dtype)
    return device, dtype, copy_
