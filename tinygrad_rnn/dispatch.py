"""Running an op on tensors: the graph it records, the dtype it computes in, and in-place writes.

`apply` is on every op's path, so it is written for speed. It runs a Function on the inputs'
arrays and, when a gradient may flow, links the Function into the graph, with a snapshot of the
version of every tensor its backward will read. Views share their input's version counter and
remember how they were taken, so that `apply_inplace`, writing through a view, can give the
view's base its new history too (PyTorch's CopySlices).

The Tensor class lives above this module; `tensor.py` hands it over as `TENSOR` when it is
defined, and every tensor type lands in `TENSOR_TYPES` (exact type checks are faster than
isinstance).
"""

from __future__ import annotations

import numpy as np

from . import ops
from .autograd import Capture, JitError
from .backend import check_device, device_of, to_device
from .dtypes import can_cast, check_dtype, data_dtype, get_default_dtype, is_floating, result_type
from .grad_mode import GradMode

TENSOR = None  # the Tensor class, set by tensor.py
TENSOR_TYPES: set[type] = set()  # Tensor and its subclasses (nn.Parameter)
PYTHON_NUMBERS = (float, int, bool)


def apply(fn_cls, *inputs, **kwargs):
    """Run `fn_cls` forward on the inputs' arrays; record it in the graph if a gradient may flow.

    Inputs are Tensors or Python numbers (passed to the array math as weak scalars, so a float32
    tensor times 2.0 stays float32). Only floating-point results carry a gradient.
    """
    device, requires_grad, arrays = None, False, []
    for x in inputs:
        if type(x) in TENSOR_TYPES:
            if x._view_of is not None and x._view_of[4][0] != x._counter[0]:
                resync_view(x)
            if device is None:
                device = x.device
            elif x.device != device:
                raise RuntimeError(
                    f"Expected all tensors to be on the same device, but found at least two "
                    f"devices, {device} and {x.device}! (in {fn_cls.__name__})"
                )
            requires_grad = requires_grad or x.requires_grad
            arrays.append(x.array)
        else:
            arrays.append(x)
    fn = fn_cls()
    data = fn.forward(*arrays, **kwargs)
    if fn_cls is ops.ToDevice:
        device = kwargs["device"]
    if type(data) is not np.ndarray and isinstance(data, np.generic):
        data = np.asarray(data)  # NumPy reduces to scalars; keep 0-d arrays instead
    if not (
        requires_grad and GradMode.enabled and fn_cls.differentiable and data.dtype.kind == "f"
    ):
        out = TENSOR._make(data, device, False, None)
    else:
        parents, needs = [], []
        for x in inputs:
            if type(x) in TENSOR_TYPES and x.requires_grad:
                parents.append(x._node or x._grad_node())
                needs.append(True)
            else:
                parents.append(None)
                needs.append(False)
        fn.parents, fn.needs_input_grad = parents, needs
        fn.output_shape, fn.output_dtype = data.shape, data.dtype
        out = TENSOR._make(data, device, True, fn)
        if fn_cls.tracks_versions:
            fn.versions = _snapshot(fn, inputs, needs, out)
    if fn_cls.view:
        _link_view(fn_cls, inputs[0], arrays[0], data, kwargs, out)
    if Capture.recorder is not None:
        Capture.recorder.op(fn_cls, inputs, kwargs, out)
    return out


def version_counter(tensor) -> list:
    """The tensor's version counter (a one-item list shared with its views), made on demand."""
    counter = tensor._counter
    if counter is None:
        counter = tensor._counter = [0]
    return counter


def bump_version(tensor) -> None:
    """Count one in-place change of `tensor` (and of every view sharing its memory)."""
    version_counter(tensor)[0] += 1


def _snapshot(fn, inputs, needs, out) -> list:
    """(counter, version, what) for every tensor `fn`'s backward will read."""
    versions = []
    for i in fn.saved(needs):
        x = inputs[i]
        if type(x) in TENSOR_TYPES:
            counter = version_counter(x)
            versions.append((counter, counter[0], f"input {i}"))
    if fn.saves_output:
        versions.append((version_counter(out), 0, "the output"))
    return versions


def _link_view(fn_cls, source, source_array, data, kwargs, out) -> None:
    """If `data` shares memory with its input, share the input's version counter, and remember
    how the view was taken so that writing through it can rewrite the base's history."""
    owner = source_array.base
    if (
        data is not source_array
        and data.base is not source_array
        and (owner is None or data.base is not owner)
    ):
        return  # NumPy had to copy (a reshape of a transposed array)
    out._counter = version_counter(source)
    if fn_cls.differentiable:
        # (base, how, the base's shape: an in-place reshape of it ends the link, and the
        # version at which this view's history last matched its base's)
        out._view_of = (source, fn_cls, kwargs, source_array.shape, [out._counter[0]])


def resync_if_stale(tensor) -> None:
    """resync_view(tensor) if it is a view changed under it since its history was made."""
    if tensor._view_of is not None and tensor._view_of[4][0] != tensor._counter[0]:
        resync_view(tensor)


def resync_view(view) -> None:
    """A view whose base (or a sibling view) was changed in place since its history was made:
    its history becomes the view taken of the base as it is now, as PyTorch regenerates a
    view's grad_fn. (Under no_grad nothing is recorded, so it waits for grad mode.)"""
    base, view_cls, kwargs, base_shape, synced = view._view_of
    if not GradMode.enabled or base.array.shape != base_shape:
        return
    synced[0] = view._counter[0]
    fresh = apply(view_cls, base, **kwargs)
    view._node, view.requires_grad = fresh._node, fresh.requires_grad


# ---------------------------------------------------------------- data into tensors


def leaf(array, device=None, requires_grad: bool = False):
    """A leaf tensor over `array` itself (no copy), on the array's device unless told."""
    if requires_grad and not is_floating(array.dtype):
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    tensor = TENSOR._make(array, device_of(array) if device is None else device, False, None)
    tensor.requires_grad = bool(requires_grad)
    return tensor


def host_array(data):
    """`data` as a NumPy or CuPy array if it is one or holds one (our tensors, PyTorch's
    through DLPack or __array__), else None (Python data)."""
    if hasattr(data, "__array_interface__") or hasattr(data, "__cuda_array_interface__"):
        return data
    if type(data) in TENSOR_TYPES:
        return data.array
    if hasattr(data, "__dlpack__") and hasattr(data, "detach"):  # a PyTorch tensor
        data = data.detach()
        return np.asarray(data.cpu()) if hasattr(data, "cpu") else np.from_dlpack(data)
    if data is None:
        raise RuntimeError("Could not infer dtype of NoneType")
    return None


def array_of(data, dtype=None):
    """An array of `data` in the dtype torch.tensor would give it (Python floats in the
    default float dtype, ints in int64, NumPy scalars and arrays in their own), or `dtype`.
    Arrays are not copied when their dtype already fits."""
    array = host_array(data)
    if array is not None:
        dtype = check_dtype(array.dtype if dtype is None else dtype)
        if isinstance(data, np.generic):  # a NumPy scalar is checked as a Python number
            _check_fits(np.asarray(data), dtype)
        return array if array.dtype == dtype else array.astype(dtype)
    array = np.asarray(data)
    if array.dtype == object:
        raise TypeError(f"could not make a tensor from {type(data).__name__} data")
    first = data
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    if dtype is None and isinstance(first, np.generic):
        dtype = array.dtype  # NumPy scalars keep their dtype, as in PyTorch
    dtype = data_dtype(array, dtype)
    _check_fits(array, dtype)
    return array.astype(dtype, copy=False)


def _check_fits(array: np.ndarray, dtype: np.dtype) -> None:
    """PyTorch's check on Python numbers made into an integer dtype: floats must be finite
    and within its range, ints within it too (an unsigned type also takes -max..-1, which
    wrap around, as PyTorch's do)."""
    if dtype.kind not in "iu" or array.dtype.kind not in "iuf" or not array.size:
        return
    info = np.iinfo(dtype)
    low = -int(info.max) if dtype.kind == "u" and array.dtype.kind != "f" else int(info.min)
    with np.errstate(invalid="ignore"):
        fits = bool(np.isfinite(array).all()) and low <= array.min() and array.max() <= info.max
    if not fits:
        raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")


def to_tensor(data, device=None, dtype=None):
    """`data` as a tensor on `device` (None: where its array lives, else the default device),
    sharing memory when nothing has to change."""
    if type(data) in TENSOR_TYPES:
        device = data.device if device is None else check_device(device)
        array = array_of(data, dtype)
        return (
            data
            if array is data.array and device == data.device
            else leaf(to_device(array, device), device)
        )
    array = array_of(data, dtype)
    if device is None and not isinstance(array, np.ndarray):
        device = device_of(array)
    device = check_device(device)
    return leaf(to_device(array, device), device)


# ---------------------------------------------------------------- binary ops and promotion


def operand(x, like):
    """The other operand of a binary op: a Tensor, a Python number (a weak scalar), or an
    array or list made into a Tensor on `like`'s device."""
    if type(x) in TENSOR_TYPES or type(x) in PYTHON_NUMBERS:
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (list, tuple)) or hasattr(x, "__array_interface__"):
        return to_tensor(np.array(array_of(x)), None if like is None else like.device)
    if hasattr(x, "__cuda_array_interface__") or hasattr(x, "__dlpack__"):
        return to_tensor(x)
    raise TypeError(f"unsupported operand type: {type(x).__name__}")


def foreign(x) -> bool:
    """Whether `x` is something no operator of ours takes (so Python may ask x itself)."""
    return not (
        type(x) in TENSOR_TYPES
        or isinstance(x, (int, float, bool, np.generic, np.ndarray, list, tuple))
        or hasattr(x, "__array_interface__")
        or hasattr(x, "__cuda_array_interface__")
        or hasattr(x, "__dlpack__")
    )


def _fits(scalar, dtype: np.dtype) -> bool:
    """Whether a Python number leaves `dtype` as the result (it is not of a higher category)
    and NumPy can take it as it is."""
    if type(scalar) is float:
        return dtype.kind == "f"
    if type(scalar) is int:
        if dtype.kind in "iu":
            limits = np.iinfo(dtype)
            return limits.min <= scalar <= limits.max
        return dtype.kind != "b"
    return True  # bool


def _wrapped(x, dtype: np.dtype):
    """A Python int outside an integer dtype's range, wrapped into it (as PyTorch's C++ casts
    do: uint8 + 300 adds 44); anything else unchanged."""
    if type(x) is int and dtype.kind in "iu" and not _fits(x, dtype):
        return int(np.array(x, dtype=np.int64).astype(dtype))
    return x


def promote(a, b):
    """a and b with their tensors cast to PyTorch's result dtype (numbers stay weak scalars)."""
    a_tensor, b_tensor = type(a) in TENSOR_TYPES, type(b) in TENSOR_TYPES
    if a_tensor and b_tensor:
        if a.array.dtype is b.array.dtype:
            return a, b
    elif a_tensor:
        if _fits(b, a.array.dtype):
            return a, b
    elif b_tensor and _fits(a, b.array.dtype):
        return a, b
    dtype = result_type(a, b)
    return _wrapped(cast(a, dtype), dtype), _wrapped(cast(b, dtype), dtype)


def cast(x, dtype: np.dtype):
    """A tensor `x` as `dtype` (differentiable); numbers pass unchanged."""
    if type(x) in TENSOR_TYPES and x.array.dtype != dtype:
        return apply(ops.Cast, x, dtype=dtype)
    return x


def binary(fn_cls, a, b, **kwargs):
    """fn(a, b) on tensors and Python numbers, broadcast, in PyTorch's result dtype."""
    a, b = promote(a, b)
    try:
        return apply(fn_cls, a, b, **kwargs)
    except ValueError as error:
        shapes = [x.shape for x in (a, b) if type(x) in TENSOR_TYPES]
        raise RuntimeError(broadcast_error(*shapes) or str(error)) from None


def true_divide(a, b):
    """a / b, in the default float dtype when both are integers (as PyTorch)."""
    a, b = promote(a, b)
    dtype = result_type(a, b)
    if not is_floating(dtype):
        a, b = cast(a, get_default_dtype()), cast(b, get_default_dtype())
        if type(a) is not float and type(a) in PYTHON_NUMBERS:
            a = float(a)
        if type(b) is not float and type(b) in PYTHON_NUMBERS:
            b = float(b)
    return binary(ops.Div, a, b)


def broadcast_error(*shapes) -> str | None:
    """PyTorch's message for shapes that do not broadcast, or None if they do."""
    width = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (width - len(s)) + tuple(s) for s in shapes]
    for axis in range(width - 1, -1, -1):
        sizes = {p[axis] for p in padded} - {1}
        if len(sizes) > 1:
            a, b = (p[axis] for p in padded[:2])
            return (
                f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                f"non-singleton dimension {axis}"
            )
    return None


# ---------------------------------------------------------------- in place


def apply_inplace(target, fn_cls, inputs: tuple, kwargs: dict | None = None):
    """target = fn_cls(*inputs), written into target's own array (target is among inputs).

    As PyTorch: a leaf that requires grad (or a view of one) may only be modified under
    no_grad; the result must fit target's shape and dtype; the version counter goes up; the
    target (and, through views, its base) takes the op's node as its history. An op whose
    backward reads target's old values gets a copy of them.
    """
    kwargs = kwargs or {}
    if Capture.recorder is not None:
        raise JitError(
            "in-place operations on tensors (add_, x[i] = v, +=, ...) inside a function that "
            "tinygrad_rnn.jit captures are not replayed: write them out of place"
        )
    records = (
        GradMode.enabled
        and fn_cls.differentiable
        and any(type(x) in TENSOR_TYPES and x.requires_grad for x in inputs)
    )
    if records:
        refuse_leaf(target)
    if not records:
        arrays = [x.array if type(x) in TENSOR_TYPES else x for x in inputs]
        if fn_cls.inplace:
            fn_cls().forward(*arrays, **kwargs)
        else:
            write(target, fn_cls().forward(*arrays, **kwargs))
        bump_version(target)
        return target
    position = next(i for i, x in enumerate(inputs) if x is target)
    needs = [type(x) in TENSOR_TYPES and x.requires_grad for x in inputs]
    if not fn_cls.inplace and position in fn_cls.saved(needs):
        snapshot = TENSOR._make(
            target.array.copy(), target.device, target.requires_grad, target._node
        )
        inputs = inputs[:position] + (snapshot,) + inputs[position + 1 :]
    out = apply(fn_cls, *inputs, **kwargs)
    if not fn_cls.inplace:
        write(target, out.array)
    bump_version(target)
    if out._node is not None:
        if fn_cls.saves_output:  # the output it saved is the target now
            counter = version_counter(target)
            out._node.versions = [v for v in out._node.versions if v[2] != "the output"] + [
                (counter, counter[0], "the output")
            ]
        target._node, target.requires_grad = out._node, True
        if target._view_of is not None:
            _rebase(target)
            target._view_of[4][0] = target._counter[0]  # its history is its own again
    return target


def refuse_leaf(target) -> None:
    if target.requires_grad and target._node is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    view = target
    while view._view_of is not None:
        view = view._view_of[0]
        if view.requires_grad and view._node is None:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation."
            )


def write(target, result) -> None:
    """Copy `result` into target's array, refusing what PyTorch refuses: a result that does not
    broadcast to target's exact shape, a cast to a lower category, a read-only (expanded)
    target."""
    array = target.array
    shape = getattr(result, "shape", ())
    if shape != array.shape:
        try:
            broadcast = np.broadcast_shapes(shape, array.shape)
        except ValueError:
            raise RuntimeError(broadcast_error(array.shape, shape)) from None
        if broadcast != array.shape:
            raise RuntimeError(
                f"output with shape {list(array.shape)} doesn't match the broadcast shape "
                f"{list(broadcast)}"
            )
    dtype = getattr(result, "dtype", None)
    if dtype is not None and not can_cast(dtype, array.dtype):
        raise RuntimeError(
            f"result type {dtype.name} can't be cast to the desired output type {array.dtype.name}"
        )
    if isinstance(array, np.ndarray) and not array.flags.writeable:
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )
    array[...] = result


def _rebase(view) -> None:
    """After an in-place write through `view`, give its base the history 'old base with the
    view's region replaced by the view's new values', and so on up a chain of views."""
    base, view_cls, view_kwargs, base_shape, _ = view._view_of
    if base.array.shape != base_shape:
        raise RuntimeError(
            "this view's base changed its shape in place (unsqueeze_, t_, ...) after the view "
            "was taken, so the write cannot be traced back to it: take the view again"
        )
    fn = ops.ViewScatter(view_cls, view_kwargs)
    base_parent = (base._node or base._grad_node()) if base.requires_grad else None
    fn.parents = [base_parent, view._node]
    fn.needs_input_grad = [base_parent is not None, True]
    fn.output_shape, fn.output_dtype = base.array.shape, base.array.dtype
    base._node, base.requires_grad = fn, True
    if base._view_of is not None:
        _rebase(base)
        base._view_of[4][0] = base._counter[0]
