"""Matrix products of CuPy arrays through cuBLAS, called directly with ctypes.

CuPy refuses to call cuBLAS while a stream is being captured into a CUDA graph, and jit's
CUDA-graph replay needs its matmuls captured. cuBLAS itself captures fine when it has its own
handle, bound to the current stream, with a workspace it owns (so it allocates nothing while
capturing). This module keeps one such handle; `matmul` follows NumPy's rules (1-D operands,
broadcast batch dimensions) for float32 and float64 and returns None for anything else, which
the caller then hands to CuPy. A direct call also costs less host time than cupy.matmul.
"""

from __future__ import annotations

import ctypes
import math

import numpy as np

_OP_N, _OP_T = 0, 1
_WORKSPACE_BYTES = 32 << 20  # what cuBLAS asks for on Hopper


class CublasError(RuntimeError):
    """cuBLAS could not be loaded or returned an error status."""


class _Handle:
    """A cuBLAS handle with its own workspace, and the gemm entry points."""

    def __init__(self):
        import cupy

        self.lib = _load_library()
        self.handle = ctypes.c_void_p()
        self.check(self.lib.cublasCreate_v2(ctypes.byref(self.handle)), "cublasCreate")
        self.workspace = cupy.empty(_WORKSPACE_BYTES, dtype=np.uint8)
        self.stream = None
        int_, ptr, i64 = ctypes.c_int, ctypes.c_void_p, ctypes.c_longlong
        self.gemm, self.batched = {}, {}
        types = ((np.float32, "S", ctypes.c_float), (np.float64, "D", ctypes.c_double))
        for dtype, letter, scalar in types:
            by_ref = ctypes.POINTER(scalar)
            # handle, op_a, op_b, m, n, k, alpha, a, ld_a, b, ld_b, beta, c, ld_c
            gemm = getattr(self.lib, f"cublas{letter}gemm_v2")
            gemm.argtypes = [ptr, *[int_] * 5, by_ref, ptr, int_, ptr, int_, by_ref, ptr, int_]
            # the same with each matrix's stride after its leading dimension, then the count
            batched = getattr(self.lib, f"cublas{letter}gemmStridedBatched")
            batched.argtypes = [
                *(ptr, *[int_] * 5, by_ref),
                *(ptr, int_, i64, ptr, int_, i64, by_ref, ptr, int_, i64, int_),
            ]
            one, zero = scalar(1), scalar(0)  # ctypes passes them by reference
            self.gemm[np.dtype(dtype)] = (gemm, one, zero)
            self.batched[np.dtype(dtype)] = (batched, one, zero)

    def check(self, status: int, what: str) -> None:
        if status != 0:
            raise CublasError(f"{what} failed with cuBLAS status {status}")

    def bind(self, stream_ptr: int) -> None:
        """Run on `stream_ptr` from now on (the workspace is set again, as cuBLAS asks)."""
        if stream_ptr != self.stream:
            self.check(
                self.lib.cublasSetStream_v2(self.handle, ctypes.c_void_p(stream_ptr)),
                "cublasSetStream",
            )
            self.check(
                self.lib.cublasSetWorkspace_v2(
                    self.handle,
                    ctypes.c_void_p(self.workspace.data.ptr),
                    ctypes.c_size_t(_WORKSPACE_BYTES),
                ),
                "cublasSetWorkspace",
            )
            self.stream = stream_ptr


def _load_library():
    """The libcublas that CuPy uses (already in the process once CuPy made its own handle)."""
    import cupy

    cupy.cuda.device.get_cublas_handle()  # makes CuPy load libcublas
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "libcublas.so" in line}
    except OSError:
        paths = set()
    names = sorted(p for p in paths if "libcublasLt" not in p)
    names += ["libcublas.so.13", "libcublas.so.12", "libcublas.so"]
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise CublasError("libcublas could not be loaded")


_handle: _Handle | None = None
_unavailable = False


def _get_handle():
    global _handle, _unavailable
    if _handle is None and not _unavailable:
        try:
            _handle = _Handle()
        except (CublasError, OSError, AttributeError):
            _unavailable = True  # an unusual CuPy or cuBLAS: CuPy's own matmul serves
    return _handle


def _operand(x):
    """(array, op, leading dimension) for cuBLAS's column-major view of row-major `x`."""
    if x.flags.c_contiguous:
        return x, _OP_N, max(1, x.shape[1])
    if x.flags.f_contiguous:
        return x, _OP_T, max(1, x.shape[0])
    import cupy

    return _operand(cupy.ascontiguousarray(x))


def _gemm(handle, a, b, out=None):
    """a (m, k) @ b (k, n) for 2-D arrays of one float dtype, into `out` if given (a
    C-contiguous (m, n) array of that dtype)."""
    import cupy

    (m, k), n = a.shape, b.shape[1]
    if out is None:
        out = cupy.empty((m, n), dtype=a.dtype)
    if m == 0 or n == 0 or k == 0:
        out.fill(0)
        return out
    a, op_a, ld_a = _operand(a)
    b, op_b, ld_b = _operand(b)
    gemm, one, zero = handle.gemm[a.dtype]
    # row-major out = a @ b is column-major out^T = b^T a^T: pass b first
    status = gemm(
        handle.handle,
        op_b,
        op_a,
        n,
        m,
        k,
        one,
        b.data.ptr,
        ld_b,
        a.data.ptr,
        ld_a,
        zero,
        out.data.ptr,
        n,
    )
    handle.check(status, "gemm")
    return out


def _batched(handle, a, b):
    """a (..., m, k) @ b (..., k, n) with broadcast batch dimensions."""
    import cupy

    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    (m, k), n = a.shape[-2:], b.shape[-1]
    count = math.prod(batch)
    if count == 0 or m == 0 or n == 0 or k == 0:
        return cupy.zeros((*batch, m, n), dtype=a.dtype)
    a = cupy.ascontiguousarray(cupy.broadcast_to(a, (*batch, m, k)))
    b = cupy.ascontiguousarray(cupy.broadcast_to(b, (*batch, k, n)))
    out = cupy.empty((*batch, m, n), dtype=a.dtype)
    gemm, one, zero = handle.batched[a.dtype]
    status = gemm(
        handle.handle,
        _OP_N,
        _OP_N,
        n,
        m,
        k,
        one,
        b.data.ptr,
        max(1, n),
        k * n,
        a.data.ptr,
        max(1, k),
        m * k,
        zero,
        out.data.ptr,
        n,
        m * n,
        count,
    )
    handle.check(status, "gemmStridedBatched")
    return out


def matmul(a, b, out=None):
    """a @ b by NumPy's rules for float32/float64 CuPy arrays, written into `out` if given (a
    C-contiguous array of the result's shape and dtype); None when this cannot do it."""
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64) or not a.ndim or not b.ndim:
        return None
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        return None  # CuPy raises the shape error
    handle = _get_handle()
    if handle is None:
        return None
    import cupy

    handle.bind(cupy.cuda.get_current_stream().ptr)
    if a2.ndim == 2 and b2.ndim == 2 and a.ndim == 2 and b.ndim == 2:
        if out is not None and (
            out.shape != (a2.shape[0], b2.shape[1])
            or out.dtype != a.dtype
            or not out.flags.c_contiguous
        ):
            return None
        return _gemm(handle, a2, b2, out)
    if out is not None:
        return None
    out = _gemm(handle, a2, b2) if a2.ndim == 2 and b2.ndim == 2 else _batched(handle, a2, b2)
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out
