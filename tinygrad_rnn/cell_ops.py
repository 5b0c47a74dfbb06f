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


class LSTMCell(Function):
    """(h', c') stacked as (2, B, H), from gates a + b (B, 4H; PyTorch's order i, f, g, o) and
    the cell state c (B, H): i, f, o = sigmoid, g = tanh, c' = f c + i g, h' = o tanh(c')."""

    def forward(self, a, b, c):
        size = c.shape[-1]
        fused = _fused("lstm_forward", a, b, c, 4 * size)
        xp = get_array_module(c)
        if fused is not None:
            out = xp.empty((2, *c.shape), dtype=c.dtype)
            self.gates = xp.empty(a.shape, dtype=c.dtype)
            fused(a, b, c, size, out[0], out[1], self.gates)
            self.c, self.c_new = c, out[1]
            return out
        gates = a + b
        i, f, o = (sigmoid(gates[..., k * size : (k + 1) * size]) for k in (0, 1, 3))
        g = xp.tanh(gates[..., 2 * size : 3 * size])
        c_new = f * c + i * g
        self.i, self.f, self.g, self.o, self.c = i, f, g, o, c
        self.tanh_c = xp.tanh(c_new)
        return xp.stack([o * self.tanh_c, c_new])

    def backward(self, grad):
        grad_h, grad_c = grad[0], grad[1]
        size = self.c.shape[-1]
        fused = kernel("lstm_backward", grad_h, grad_c, self.c)
        xp = get_array_module(grad)
        if fused is not None and hasattr(self, "gates"):
            d_gates = xp.empty(self.gates.shape, dtype=grad.dtype)
            d_c = xp.empty(self.c.shape, dtype=grad.dtype)
            fused(grad_h, grad_c, self.c, self.c_new, self.gates, size, d_gates, d_c)
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
