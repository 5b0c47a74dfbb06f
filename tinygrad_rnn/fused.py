"""Fused elementwise kernels for CuPy arrays: one GPU launch where the generic code makes several.

An op or optimizer asks `kernel(name, *arrays)` and gets a CuPy ElementwiseKernel, or None when
the arrays are NumPy's, differ in dtype, or fused kernels are switched off; on None it runs its
generic array code, which stays the reference the kernels are tested against. On a GPU, each
small elementwise op costs ~10 µs of host time to launch, so an RNN step is launch-bound and
fusing pays; on the CPU the generic code is already one pass per op.
"""

from __future__ import annotations

import contextlib

import numpy as np

# name: (input parameters, output parameters, body); T is the arrays' float type
_SOURCES = {
    # tanh(a + b): an RNN cell's update
    "add_tanh": ("T a, T b", "T out", "out = tanh(a + b)"),
    # the gradient through y = tanh(x)
    "tanh_backward": ("T y, T grad", "T out", "out = grad * (1 - y * y)"),
    # one Adam step in place, with the bias corrections folded into two scalars
    "adam": (
        "T grad, T beta1, T beta2, T rest1, T rest2, T inv_correction2, T eps, T step_size",
        "T param, T exp_avg, T exp_avg_sq",
        """
        exp_avg = beta1 * exp_avg + rest1 * grad;
        exp_avg_sq = beta2 * exp_avg_sq + rest2 * grad * grad;
        param -= exp_avg / (sqrt(exp_avg_sq) * inv_correction2 + eps) * step_size;
        """,
    ),
}

_kernels: dict = {}
_enabled = True


def kernel(name: str, *arrays):
    """The fused kernel `name` for these arrays (all CuPy, one float dtype), else None."""
    first = arrays[0]
    if type(first) is np.ndarray or not _enabled or not type(first).__module__.startswith("cupy"):
        return None
    dtype = first.dtype
    if dtype not in (np.float32, np.float64) or any(
        getattr(a, "dtype", None) != dtype for a in arrays
    ):
        return None
    if name not in _kernels:
        import cupy

        params, outputs, body = _SOURCES[name]
        _kernels[name] = cupy.ElementwiseKernel(params, outputs, body, f"tinygrad_rnn_{name}")
    return _kernels[name]


@contextlib.contextmanager
def disabled():
    """Run the generic array code instead of the fused kernels (what the tests compare with)."""
    global _enabled
    previous, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = previous


_STACK_CHUNK = 64  # sources per launch: their pointers travel as kernel arguments
_WORDS = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long long"}
_stack_kernels: dict = {}


def _stack_kernel(count: int, itemsize: int):
    """A kernel copying `count` sources (pointer arguments p0, p1, ...) into consecutive blocks
    of `out`; blockIdx.y picks the source, so the choice is uniform within a block."""
    key = (count, itemsize)
    if key not in _stack_kernels:
        import cupy

        name = f"tinygrad_rnn_stack_{count}_{itemsize}"
        pointers = ", ".join(f"const T* p{k}" for k in range(count))
        cases = " ".join(f"case {k}: source = p{k}; break;" for k in range(count))
        source = f"""
        typedef {_WORDS[itemsize]} T;
        extern "C" __global__ void {name}(T* out, long long size, {pointers}) {{
            const T* source = 0;
            switch (blockIdx.y) {{ {cases} }}
            T* target = out + blockIdx.y * size;
            for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < size;
                 i += (long long)gridDim.x * blockDim.x) {{
                target[i] = source[i];
            }}
        }}
        """
        _stack_kernels[key] = cupy.RawKernel(source, name)
    return _stack_kernels[key]


def stack(arrays):
    """`arrays` (CuPy, one shape and dtype, C-contiguous) stacked on a new first axis with one
    launch per 64 of them; None where that does not apply. CuPy's own stack of many arrays
    first copies their addresses from the host, which a CUDA graph capture cannot hold."""
    first = arrays[0]
    if type(first) is np.ndarray or not _enabled or not type(first).__module__.startswith("cupy"):
        return None
    if first.itemsize not in _WORDS or any(
        a.shape != first.shape or a.dtype != first.dtype or not a.flags.c_contiguous for a in arrays
    ):
        return None
    import cupy

    out = cupy.empty((len(arrays), *first.shape), dtype=first.dtype)
    size = first.size
    if size == 0:
        return out
    threads = 256
    blocks = min((size + threads - 1) // threads, 1024)
    for start in range(0, len(arrays), _STACK_CHUNK):
        chunk = arrays[start : start + _STACK_CHUNK]
        kernel = _stack_kernel(len(chunk), first.itemsize)
        pointers = [np.uint64(a.data.ptr) for a in chunk]
        kernel((blocks, len(chunk)), (threads,), (out[start:], np.int64(size), *pointers))
    return out
