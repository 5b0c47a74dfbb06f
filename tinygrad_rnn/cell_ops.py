"""The LSTM and GRU cell updates as one op each: the gates' nonlinearities and the state update,
forward and backward, written out once in array code and once as a fused GPU kernel.

As separate ops an LSTM step is fourteen small ops forward and more backward; on a GPU each is
a launch, so the cell is launch-bound. Each op below takes the two halves of the gates'
pre-activation (the input side `a` and the recurrent side `b`, summed inside) and the previous
state. The array code is the reference the fused kernels are tested against.
"""

from __future__ import annotations

import numpy as np

from .autograd import Function
from .backend import get_array_module, kernel
from .ops import sigmoid


def _fused(name, a, b, state, width):
    """The fused kernel when every operand has the exact shape it expects, else None."""
    rows = state.shape[0] if state.ndim == 2 else None
    if rows is None or a.shape != (rows, width) or b.shape != (rows, width):
        return None
    return kernel(name, a, b, state)


def _sigmoid_into(x) -> None:
    """x = 1 / (1 + exp(-x)) in place: ops.sigmoid's operations, in its order."""
    xp = get_array_module(x)
    xp.negative(x, out=x)
    with np.errstate(over="ignore"):  # exp(-x) overflowing to inf gives the limit, 0
        xp.exp(x, out=x)
    xp.add(1, x, out=x)
    xp.divide(1, x, out=x)


def lstm_forward_into(a, b, c, out, acts, tanh_c) -> None:
    """LSTMCell's forward for exact shapes, into given arrays: out (2, B, H) takes h' and c',
    acts (4, B, H) the gates i, f, g, o after their nonlinearities, one contiguous block per
    gate (NumPy's transcendental loops run a third faster on contiguous memory than on a
    (B, 4H) array's column blocks; the GPU kernels keep their own order in the same memory),
    tanh_c (B, H) tanh(c') for backward (the GPU kernel recomputes it). Compiled steps call
    it with their own buffers."""
    size = c.shape[-1]
    fused = kernel("lstm_forward", a, b, c)
    if fused is not None:
        fused(a, b, c, size, out[0], out[1], acts)
        return
    xp = get_array_module(c)
    gate_major = (c.shape[0], 4, size)
    xp.add(
        a.reshape(gate_major).transpose(1, 0, 2), b.reshape(gate_major).transpose(1, 0, 2), out=acts
    )
    i, f, g, o = acts
    _sigmoid_into(acts[:2])  # i and f
    _sigmoid_into(o)
    xp.tanh(g, out=g)
    h, c_new = out[0], out[1]
    xp.multiply(f, c, out=c_new)
    xp.multiply(i, g, out=h)  # i g, in h's place until h is made
    xp.add(c_new, h, out=c_new)
    xp.tanh(c_new, out=tanh_c)
    xp.multiply(o, tanh_c, out=h)


def lstm_backward_into(grad_h, grad_c, c, c_new, acts, tanh_c, d_gates, d_c, scratch) -> None:
    """LSTMCell's backward for exact shapes, into d_gates (B, 4H) and d_c (B, H); scratch
    (2, B, H) is overwritten. The products run in the generic code's order."""
    size = c.shape[-1]
    fused = kernel("lstm_backward", grad_h, grad_c, c)
    if fused is not None:
        fused(grad_h, grad_c, c, c_new, acts, size, d_gates, d_c)
        return
    xp = get_array_module(c)
    i, f, g, o = acts
    term, rest = scratch
    column = [d_gates[:, k * size : (k + 1) * size] for k in range(4)]
    xp.multiply(tanh_c, tanh_c, out=rest)  # d_c' = grad_c + grad_h o (1 - tanh(c')^2)
    xp.subtract(1, rest, out=rest)
    xp.multiply(grad_h, o, out=d_c)
    xp.multiply(d_c, rest, out=d_c)
    xp.add(grad_c, d_c, out=d_c)
    for k, other, gate in ((0, g, i), (1, c, f)):  # d_c' other s (1 - s)
        xp.multiply(d_c, other, out=term)
        xp.multiply(term, gate, out=term)
        xp.subtract(1, gate, out=rest)
        xp.multiply(term, rest, out=column[k])
    xp.multiply(d_c, i, out=term)  # d_c' i (1 - g^2)
    xp.multiply(g, g, out=rest)
    xp.subtract(1, rest, out=rest)
    xp.multiply(term, rest, out=column[2])
    xp.multiply(grad_h, tanh_c, out=term)  # grad_h tanh(c') o (1 - o)
    xp.multiply(term, o, out=term)
    xp.subtract(1, o, out=rest)
    xp.multiply(term, rest, out=column[3])
    xp.multiply(d_c, f, out=d_c)  # d_c = d_c' f


def _exact(a, b, c) -> bool:
    """Operands of the shapes an LSTM layer gives: (B, 4H), (B, 4H), (B, H), one dtype."""
    return (
        c.ndim == 2
        and a.shape == b.shape == (c.shape[0], 4 * c.shape[1])
        and a.dtype == b.dtype == c.dtype
    )


class LSTMCell(Function):
    """(h', c') stacked as (2, B, H), from gates a + b (B, 4H; PyTorch's order i, f, g, o) and
    the cell state c (B, H): i, f, o = sigmoid, g = tanh, c' = f c + i g, h' = o tanh(c')."""

    def forward(self, a, b, c):
        xp = get_array_module(c)
        if _exact(a, b, c):  # one pass per operation into preallocated arrays
            out = xp.empty((2, *c.shape), dtype=c.dtype)
            self.acts = xp.empty((4, *c.shape), dtype=c.dtype)
            self.tanh_c = xp.empty(c.shape, dtype=c.dtype)
            lstm_forward_into(a, b, c, out, self.acts, self.tanh_c)
            self.c, self.c_new = c, out[1]
            return out
        size = c.shape[-1]
        gates = a + b
        i, f, o = (sigmoid(gates[..., k * size : (k + 1) * size]) for k in (0, 1, 3))
        g = xp.tanh(gates[..., 2 * size : 3 * size])
        c_new = f * c + i * g
        self.i, self.f, self.g, self.o, self.c = i, f, g, o, c
        self.tanh_c = xp.tanh(c_new)
        return xp.stack([o * self.tanh_c, c_new])

    def backward(self, grad):
        grad_h, grad_c = grad[0], grad[1]
        xp = get_array_module(grad)
        if hasattr(self, "acts"):
            rows, size = self.c.shape
            d_gates = xp.empty((rows, 4 * size), dtype=grad.dtype)
            d_c = xp.empty(self.c.shape, dtype=grad.dtype)
            scratch = xp.empty((2, rows, size), dtype=grad.dtype)
            lstm_backward_into(
                grad_h, grad_c, self.c, self.c_new, self.acts, self.tanh_c, d_gates, d_c, scratch
            )
            return d_gates, d_gates, d_c
        i, f, g, o, tanh_c = self.i, self.f, self.g, self.o, self.tanh_c
        d_c_new = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
        d_i = d_c_new * g * i * (1 - i)
        d_f = d_c_new * self.c * f * (1 - f)
        d_g = d_c_new * i * (1 - g * g)
        d_o = grad_h * tanh_c * o * (1 - o)
        shape = np.broadcast_shapes(d_i.shape, d_f.shape, d_g.shape, d_o.shape)
        parts = [xp.broadcast_to(part, shape) for part in (d_i, d_f, d_g, d_o)]
        d_gates = xp.concatenate(parts, axis=-1)
        return d_gates, d_gates, d_c_new * f


class GRUCell(Function):
    """h' from the input side a = W_ih x + b_ih and the recurrent side b = W_hh h + b_hh
    (B, 3H; PyTorch's order r, z, n) and h (B, H): r, z = sigmoid, n = tanh(a_n + r b_n),
    h' = n + z (h - n)."""

    def forward(self, a, b, h):
        size = h.shape[-1]
        fused = _fused("gru_forward", a, b, h, 3 * size)
        xp = get_array_module(h)
        if fused is not None:
            self.h, self.acts = h, xp.empty((h.shape[0], 4 * size), dtype=h.dtype)
            out = xp.empty(h.shape, dtype=h.dtype)
            fused(a, b, h, size, out, self.acts)
            return out
        r = sigmoid(a[..., :size] + b[..., :size])
        z = sigmoid(a[..., size : 2 * size] + b[..., size : 2 * size])
        b_n = b[..., 2 * size :]
        n = xp.tanh(a[..., 2 * size :] + r * b_n)
        self.r, self.z, self.n, self.b_n, self.h = r, z, n, b_n, h
        return n + z * (h - n)

    def backward(self, grad):
        size = self.h.shape[-1]
        xp = get_array_module(grad)
        fused = kernel("gru_backward", grad, self.h)
        if fused is not None and hasattr(self, "acts"):
            rows = self.h.shape[0]
            d_a = xp.empty((rows, 3 * size), dtype=grad.dtype)
            d_b = xp.empty((rows, 3 * size), dtype=grad.dtype)
            d_h = xp.empty(self.h.shape, dtype=grad.dtype)
            fused(grad, self.h, self.acts, size, d_a, d_b, d_h)
            return d_a, d_b, d_h
        r, z, n = self.r, self.z, self.n
        d_n = grad * (1 - z) * (1 - n * n)
        d_r = d_n * self.b_n * r * (1 - r)
        d_z = grad * (self.h - n) * z * (1 - z)
        shape = np.broadcast_shapes(d_r.shape, d_z.shape, d_n.shape)
        d_r, d_z, d_n = (xp.broadcast_to(part, shape) for part in (d_r, d_z, d_n))
        d_a = xp.concatenate([d_r, d_z, d_n], axis=-1)
        d_b = xp.concatenate([d_r, d_z, d_n * r], axis=-1)
        return d_a, d_b, grad * z
