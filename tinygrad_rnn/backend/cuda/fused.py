"""Fused elementwise kernels for CuPy arrays: one GPU launch where the generic code makes several.

An op or optimizer asks the backend's `kernel(name, *arrays)` and gets a CuPy ElementwiseKernel,
or None when the arrays are NumPy's, differ in dtype, or fused kernels are switched off; on None
it runs its generic array code, which stays the reference the kernels are tested against. On a
GPU, each small elementwise op costs ~10 µs of host time to launch, so an RNN step is
launch-bound and fusing pays; on the CPU the generic code is already one pass per op.
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
    # an LSTM cell (cell_ops.LSTMCell): gates a + b (B, 4H) in the order i, f, g, o
    "lstm_forward": (
        "raw T a, raw T b, T c, int64 hidden",
        "T h, T c_new, raw T gates",
        """
        ptrdiff_t row = i / hidden, col = i % hidden, at = row * 4 * hidden + col;
        T s_i = 1 / (1 + exp(-(a[at] + b[at])));
        T s_f = 1 / (1 + exp(-(a[at + hidden] + b[at + hidden])));
        T t_g = tanh(a[at + 2 * hidden] + b[at + 2 * hidden]);
        T s_o = 1 / (1 + exp(-(a[at + 3 * hidden] + b[at + 3 * hidden])));
        c_new = s_f * c + s_i * t_g;
        h = s_o * tanh(c_new);
        gates[at] = s_i;
        gates[at + hidden] = s_f;
        gates[at + 2 * hidden] = t_g;
        gates[at + 3 * hidden] = s_o;
        """,
    ),
    "lstm_backward": (
        "T grad_h, T grad_c, T c, T c_new, raw T gates, int64 hidden",
        "raw T d_gates, T d_c",
        """
        ptrdiff_t row = i / hidden, col = i % hidden, at = row * 4 * hidden + col;
        T s_i = gates[at], s_f = gates[at + hidden];
        T t_g = gates[at + 2 * hidden], s_o = gates[at + 3 * hidden];
        T t_c = tanh(c_new);
        T d_c_new = grad_c + grad_h * s_o * (1 - t_c * t_c);
        d_gates[at] = d_c_new * t_g * s_i * (1 - s_i);
        d_gates[at + hidden] = d_c_new * c * s_f * (1 - s_f);
        d_gates[at + 2 * hidden] = d_c_new * s_i * (1 - t_g * t_g);
        d_gates[at + 3 * hidden] = grad_h * t_c * s_o * (1 - s_o);
        d_c = d_c_new * s_f;
        """,
    ),
    # a GRU cell (cell_ops.GRUCell): a, b (B, 3H) in the order r, z, n; acts keeps r, z, n, b_n
    "gru_forward": (
        "raw T a, raw T b, T h, int64 hidden",
        "T h_new, raw T acts",
        """
        ptrdiff_t row = i / hidden, col = i % hidden;
        ptrdiff_t at = row * 3 * hidden + col, kept = row * 4 * hidden + col;
        T r = 1 / (1 + exp(-(a[at] + b[at])));
        T z = 1 / (1 + exp(-(a[at + hidden] + b[at + hidden])));
        T b_n = b[at + 2 * hidden];
        T n = tanh(a[at + 2 * hidden] + r * b_n);
        h_new = n + z * (h - n);
        acts[kept] = r;
        acts[kept + hidden] = z;
        acts[kept + 2 * hidden] = n;
        acts[kept + 3 * hidden] = b_n;
        """,
    ),
    "gru_backward": (
        "T grad, T h, raw T acts, int64 hidden",
        "raw T d_a, raw T d_b, T d_h",
        """
        ptrdiff_t row = i / hidden, col = i % hidden;
        ptrdiff_t at = row * 3 * hidden + col, kept = row * 4 * hidden + col;
        T r = acts[kept], z = acts[kept + hidden];
        T n = acts[kept + 2 * hidden], b_n = acts[kept + 3 * hidden];
        T d_n = grad * (1 - z) * (1 - n * n);
        T d_r = d_n * b_n * r * (1 - r);
        T d_z = grad * (h - n) * z * (1 - z);
        d_a[at] = d_r;
        d_a[at + hidden] = d_z;
        d_a[at + 2 * hidden] = d_n;
        d_b[at] = d_r;
        d_b[at + hidden] = d_z;
        d_b[at + 2 * hidden] = d_n * r;
        d_h = grad * z;
        """,
    ),
    # SGD's step with a momentum buffer that already exists (rest = 1 - dampening)
    "sgd_momentum": (
        "T grad, T momentum, T rest, T lr, bool nesterov",
        "T param, T buffer",
        """
        buffer = momentum * buffer + rest * grad;
        param -= lr * (nesterov ? grad + momentum * buffer : buffer);
        """,
    ),
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


def _rmsprop_source(centered: bool, momentum: bool) -> tuple[str, str, str]:
    """RMSprop's update in place, for one of its four variants."""
    params = "T grad, T alpha, T rest, T eps, T lr" + (", T momentum" if momentum else "")
    outputs = "T param, T square_avg" + (", T grad_avg" if centered else "")
    outputs += ", T buffer" if momentum else ""
    body = "square_avg = alpha * square_avg + rest * grad * grad;"
    if centered:
        body += "grad_avg = alpha * grad_avg + rest * grad;"
        body += "T average = sqrt(square_avg - grad_avg * grad_avg) + eps;"
    else:
        body += "T average = sqrt(square_avg) + eps;"
    if momentum:
        body += "buffer = momentum * buffer + grad / average; param -= lr * buffer;"
    else:
        body += "param -= lr * grad / average;"
    return params, outputs, body


for _centered in (False, True):
    for _momentum in (False, True):
        _name = "rmsprop" + "_centered" * _centered + "_momentum" * _momentum
        _SOURCES[_name] = _rmsprop_source(_centered, _momentum)

_kernels: dict = {}
_enabled = True


def _serves(array) -> bool:
    """Whether fused kernels apply to `array`: a CuPy array, with the kernels switched on."""
    return type(array) is not np.ndarray and _enabled and type(array).__module__.startswith("cupy")


def kernel(name: str, *arrays):
    """The fused kernel `name` for these arrays (all CuPy, one float dtype), else None."""
    first = arrays[0]
    if not _serves(first):
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


def stack(arrays, out=None):
    """`arrays` (CuPy, one shape and dtype, C-contiguous) stacked on a new first axis with one
    launch per 64 of them, into `out` if given (C-contiguous, of the stacked shape); None where
    that does not apply. CuPy's own stack of many arrays first copies their addresses from the
    host, which a CUDA graph capture cannot hold."""
    first = arrays[0]
    if not _serves(first):
        return None
    if first.itemsize not in _WORDS or any(
        a.shape != first.shape or a.dtype != first.dtype or not a.flags.c_contiguous for a in arrays
    ):
        return None
    import cupy

    shape = (len(arrays), *first.shape)
    if out is None:
        out = cupy.empty(shape, dtype=first.dtype)
    elif out.shape != shape or out.dtype != first.dtype or not out.flags.c_contiguous:
        return None
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
