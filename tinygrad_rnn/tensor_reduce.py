"""Tensor methods: reductions, scans, sorting and the softmax family.

Every one takes PyTorch's `dim`/`keepdim` (and NumPy's `axis`/`keepdims`, which PyTorch also
accepts); dims are checked and wrapped as PyTorch does, a 0-d tensor accepting 0 and -1.
Reductions of integers and bools sum in int64; mean refuses them, as PyTorch.
"""

from __future__ import annotations

import collections
import math
import warnings

import numpy as np

from . import ops
from .backend import to_device
from .dispatch import TENSOR_TYPES, apply, cast, leaf, operand
from .dtypes import INT64, SCALAR_NAMES, check_dtype, get_default_dtype, is_floating

MaxResult = collections.namedtuple("max", ["values", "indices"])
MinResult = collections.namedtuple("min", ["values", "indices"])
SortResult = collections.namedtuple("sort", ["values", "indices"])
TopkResult = collections.namedtuple("topk", ["values", "indices"])


def _pick(dim, axis, keepdim, keepdims):
    """PyTorch's dim/keepdim, or NumPy's axis/keepdims where those were given instead."""
    return (axis if dim is None else dim), bool(keepdims if keepdim is None else keepdim)


class ReductionMethods:
    __slots__ = ()

    def _dims(self, dim) -> tuple | None:
        """`dim` (None, an int, or a sequence) as a sorted tuple of wrapped dims, or None for
        all; () for a 0-d tensor, which has nothing to reduce."""
        if dim is None:
            return None
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        wrapped = tuple(sorted({self._dim(int(d)) for d in dims}))
        if len(wrapped) != len(dims):
            raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
        if self.ndim == 0:
            return None
        return wrapped if dims else None

    def _reduce(self, fn_cls, dim, keepdim, **kwargs):
        return apply(fn_cls, self, axis=self._dims(dim), keepdims=keepdim, **kwargs)

    # ------------------------------------------------------------ sums and means

    def sum(self, dim=None, keepdim=None, *, dtype=None, axis=None, keepdims=False):
        """Sum over `dim` (all dims if None); integers and bools sum in int64."""
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        dtype = _accumulate_dtype(self.dtype, dtype)
        return self._reduce(ops.Sum, dim, keepdim, dtype=dtype)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return self.masked_fill(self.isnan(), 0).sum(dim, keepdim, dtype=dtype)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        dtype = _accumulate_dtype(self.dtype, dtype)
        return self._reduce(ops.Prod, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim=None, *, dtype=None, axis=None, keepdims=False):
        """Mean over `dim` (all dims if None); NaN for an empty reduction."""
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        source = self if dtype is None else self.to(check_dtype(dtype))
        if not is_floating(source.dtype):
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {source.dtype.name}"
            )
        total = source.sum(dim, keepdim)
        count = source.numel() // max(total.numel(), 1) if source.numel() else 0
        if count == 0:
            return total * math.nan
        return total / count

    def nanmean(self, dim=None, keepdim=False):
        present = ~self.isnan()
        return self.nansum(dim, keepdim) / present.sum(dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """Variance, divided by n - correction (1 unless unbiased=False or correction=)."""
        return self._moment(dim, unbiased, keepdim, correction, "var")

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """Standard deviation: sqrt(var) (same arguments); no gradient where it is 0."""
        return self._moment(dim, unbiased, keepdim, correction, "std")

    def _moment(self, dim, unbiased, keepdim, correction, name):
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        if not is_floating(self.dtype):
            raise RuntimeError(
                f"std and var only support floating point and complex dtypes, not {self.dtype.name}"
            )
        dims = self._dims(dim)
        kept = 1 if dims is None else math.prod(self.shape[d] for d in dims)
        count = self.numel() if dims is None else (kept if self.numel() else 0)
        if count - correction <= 0:
            warnings.warn(
                f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than "
                "the reduction factor (input numel divided by output numel).",
                UserWarning,
                stacklevel=3,
            )
        return apply(
            ops.Var, self, axis=dims, keepdims=keepdim, correction=correction, root=name == "std"
        )

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The p-norm over `dim` (all elements if None): p = 'fro' or 2, 1, inf, -inf, 0, ..."""
        source = self if dtype is None else self.to(check_dtype(dtype))
        if not is_floating(source.dtype):
            raise RuntimeError(
                f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                f"Got {source.dtype.name}"
            )
        if p == "fro" or p is None:
            p = 2
        if isinstance(p, str):
            raise RuntimeError(f"norm: p={p!r} is not supported for vectors")
        return source._reduce(ops.Norm, dim, keepdim, p=float(p))

    def logsumexp(self, dim=None, keepdim=False):
        """log(sum(exp(x))) over `dim`, without overflow; -inf rows give -inf."""
        return _floating(self)._reduce(ops.LogSumExp, dim, keepdim)

    def cumsum(self, dim, *, dtype=None):
        """Running sums along `dim` (integers in int64)."""
        axis = self._dim(dim)
        dtype = _accumulate_dtype(self.dtype, dtype)
        if self.ndim == 0:
            return self.to(dtype) if dtype is not None else self.clone()
        return apply(ops.Cumsum, self, axis=axis, dtype=dtype)

    # ------------------------------------------------------------ extremes

    def amax(self, dim=(), keepdim=False):
        """The largest values over `dim` (all if empty); ties share the gradient evenly."""
        return self._extreme_values(ops.Amax, dim, keepdim, "amax")

    def amin(self, dim=(), keepdim=False):
        """The smallest values over `dim` (all if empty); ties share the gradient evenly."""
        return self._extreme_values(ops.Amin, dim, keepdim, "amin")

    def _extreme_values(self, fn_cls, dim, keepdim, name):
        dims = self._dims(dim if dim != () else None)
        if dims is None and self.numel() == 0:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        for d in range(self.ndim) if dims is None else dims:
            if self.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
        return apply(fn_cls, self, axis=dims, keepdims=keepdim)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """max() is the largest value; max(dim) is (values, indices) along dim (the gradient
        goes to the index); max(other) is the elementwise maximum."""
        return self._extreme("max", dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """min() is the smallest value; min(dim) is (values, indices); min(other) elementwise."""
        return self._extreme("min", dim, keepdim, axis, keepdims)

    def _extreme(self, pick, dim, keepdim, axis, keepdims):
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        if type(dim) in TENSOR_TYPES:
            return self.maximum(dim) if pick == "max" else self.minimum(dim)
        if dim is None:
            if self.numel() == 0:
                raise RuntimeError(
                    f"{pick}(): Expected reduction dim to be specified for input.numel() == 0. "
                    "Specify the reduction dim with the 'dim' argument."
                )
            return apply(ops.Extreme, self, pick=pick)
        axis = self._dim(dim)
        if self.ndim and self.shape[axis] == 0:
            raise IndexError(f"{pick}(): Expected reduction dim {axis} to have non-zero size.")
        indices = self._arg_extreme(f"arg{pick}", axis, True)
        values = self.gather(axis, indices) if self.ndim else self
        result = MaxResult if pick == "max" else MinResult
        if keepdim or not self.ndim:
            return result(values, indices)
        return result(values.squeeze(axis), indices.squeeze(axis))

    def _arg_extreme(self, pick, dim, keepdim):
        if dim is None:
            if self.numel() == 0:
                raise IndexError(
                    f"{pick}(): Expected reduction dim to be specified for input.numel() == 0."
                )
            return apply(ops.ArgExtreme, self, pick=pick, axis=None, keepdims=keepdim)
        axis = self._dim(dim)
        if not self.ndim:
            return apply(ops.ArgExtreme, self, pick=pick, axis=None, keepdims=False)
        if self.shape[axis] == 0:
            raise IndexError(f"{pick}(): Expected reduction dim {axis} to have non-zero size.")
        return apply(ops.ArgExtreme, self, pick=pick, axis=axis, keepdims=keepdim)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Indices (int64) of the largest values (the first NaN wins); no gradient."""
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        _refuse_bool(self, "argmax")
        out = self._arg_extreme("argmax", dim, keepdim)
        return out.reshape([1] * self.ndim) if dim is None and keepdim else out

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Indices (int64) of the smallest values; no gradient."""
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        _refuse_bool(self, "argmin")
        out = self._arg_extreme("argmin", dim, keepdim)
        return out.reshape([1] * self.ndim) if dim is None and keepdim else out

    def any(self, dim=None, keepdim=False):
        return apply(ops.Logical, self != 0, op="any", **_axes(self, dim, keepdim))

    def all(self, dim=None, keepdim=False):
        return apply(ops.Logical, self != 0, op="all", **_axes(self, dim, keepdim))

    def count_nonzero(self, dim=None):
        return (self != 0).sum(dim)

    # ------------------------------------------------------------ sorting

    def sort(self, dim=-1, descending=False, stable=False):
        """(values, indices) sorted along `dim` (stable; NaN counts as the largest)."""
        if self.ndim == 0:
            self._dim(dim)
            return SortResult(self.clone(), self.new_zeros((), dtype=np.int64))
        axis = self._dim(dim)
        indices = apply(ops.SortIndices, self, axis=axis, descending=descending)
        return SortResult(self.gather(axis, indices), indices)

    def argsort(self, dim=-1, descending=False, stable=False):
        return self.sort(dim, descending, stable).indices

    def topk(self, k: int, dim=-1, largest=True, sorted=True):
        """(values, indices) of the k largest (or smallest) along `dim`."""
        axis = self._dim(dim)
        length = self.shape[axis] if self.ndim else 1
        if not 0 <= k <= length:
            raise RuntimeError(f"selected index k out of range (k={k}, size {length})")
        if self.ndim == 0:
            return TopkResult(self.clone(), self.new_zeros((), dtype=np.int64))
        indices = apply(ops.SortIndices, self, axis=axis, descending=largest)
        indices = indices.narrow(axis, 0, k)
        return TopkResult(self.gather(axis, indices), indices)

    def bincount(self, weights=None, minlength: int = 0):
        """How often each value 0..max occurs in this 1-D tensor of non-negative integers (at
        least `minlength` bins), or the sums of `weights` per value (float64 for integer
        weights, as PyTorch). Not differentiable in the weights."""
        values = to_device(self.array, "cpu")
        if self.ndim != 1 or self.dtype.kind not in "iu" or (values.size and values.min() < 0):
            if self.dtype.kind == "f":
                name = SCALAR_NAMES[self.dtype.name]
                raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{name}'")
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if weights is None:
            counts = np.bincount(values, minlength=minlength).astype(np.int64)
        else:
            weights = operand(weights, self).detach()
            dtype = weights.dtype if weights.dtype.kind == "f" else np.dtype(np.float64)
            sums = np.bincount(values, to_device(weights.array, "cpu"), minlength=minlength)
            counts = sums.astype(dtype)
        return leaf(to_device(counts, self.device), self.device)

    # ------------------------------------------------------------ softmax family

    def softmax(self, dim=None, dtype=None):
        """exp(x) / sum(exp(x)) along `dim`, computed without overflow."""
        source = _only_floating(self if dtype is None else self.to(check_dtype(dtype)), "softmax")
        return apply(ops.Softmax, source, axis=_softmax_dim(self, dim))

    def log_softmax(self, dim=None, dtype=None):
        """x - logsumexp(x) along `dim`, stable for any size of logits."""
        source = self if dtype is None else self.to(check_dtype(dtype))
        source = _only_floating(source, "log_softmax")
        return apply(ops.LogSoftmax, source, axis=_softmax_dim(self, dim, "log_softmax"))


def _only_floating(x, name: str):
    """x, if it holds floats; PyTorch has no integer softmax kernels."""
    if not is_floating(x.dtype):
        raise NotImplementedError(
            f'"{name}_lastdim_kernel_impl" not implemented for '
            f"'{SCALAR_NAMES.get(x.dtype.name, x.dtype.name)}'"
        )
    return x


def _refuse_bool(x, name: str) -> None:
    if x.dtype.kind == "b":
        raise RuntimeError(f"{name}(): does not support bool input")


def _floating(x):
    return x if is_floating(x.dtype) else cast(x, get_default_dtype())


def implicit_softmax_dim(name: str, x, stacklevel: int) -> int:
    """PyTorch's deprecated choice of dim for the softmax family, with its warning."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to "
        "include dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return 0 if x.ndim in (0, 1, 3) else 1


def _softmax_dim(x, dim, name: str = "softmax") -> int:
    if dim is None:
        dim = implicit_softmax_dim(name, x, 4)
    axis = x._dim(dim)
    return axis if x.ndim else None


def _accumulate_dtype(dtype: np.dtype, requested):
    """The dtype a sum accumulates in: `requested`, else int64 for integers and bools."""
    if requested is not None:
        return check_dtype(requested)
    return INT64 if dtype.kind in "iub" else None


def _axes(x, dim, keepdim) -> dict:
    return {"axis": x._dims(dim), "keepdims": keepdim}
