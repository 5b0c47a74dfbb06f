"""Activations: tanh (and an RNN cell's tanh(a + b)), sigmoid, relu, softplus, erf. Each
saves what its backward reads, the result where it can (tanh, sigmoid), as PyTorch does."""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..backend import get_array_module, kernel


class Erf(Function):
    """The error function (exact: math.erf per element on the CPU, CuPy's erf on a GPU)."""

    saved_inputs = (0,)

    def forward(self, a):
        self.a = a
        if isinstance(a, np.ndarray):
            return np.frompyfunc(math.erf, 1, 1)(a).astype(a.dtype)
        from cupyx.scipy.special import erf

        return erf(a)

    def backward(self, grad):
        xp = get_array_module(grad)
        return (grad * (2 / math.sqrt(math.pi)) * xp.exp(-self.a * self.a),)


class Softplus(Function):
    """log(1 + exp(beta a)) / beta, or a where beta a > threshold (one op, so the unused
    branch's overflow never reaches the gradient)."""

    saved_inputs = (0,)

    def forward(self, a, beta, threshold):
        xp = get_array_module(a)
        self.a, self.beta, self.threshold = a, beta, threshold
        scaled = a * beta
        with np.errstate(over="ignore"):
            return xp.where(scaled > threshold, a, xp.log1p(xp.exp(scaled)) / beta)

    def backward(self, grad):
        scaled = self.a * self.beta
        with np.errstate(over="ignore"):
            slope = sigmoid(scaled)
        return (grad * get_array_module(grad).where(scaled > self.threshold, 1, slope),)


def _tanh_slope(out, grad):
    """grad * (1 - out**2): the gradient through out = tanh(x)."""
    fused = kernel("tanh_backward", out, grad)
    if fused is not None:
        return fused(out, grad)
    slope = 1 - out * out
    slope *= grad  # in place: one array fewer to allocate and fill at every time step
    return slope


class Tanh(Function):
    saves_output = True

    def forward(self, a):
        self.out = get_array_module(a).tanh(a)
        return self.out

    def backward(self, grad):
        return (_tanh_slope(self.out, grad),)


class AddTanh(Function):
    """tanh(a + b): an RNN cell's update as one op (and one fused kernel on a GPU)."""

    saves_output = True

    def forward(self, a, b):
        fused = kernel("add_tanh", a, b)
        if fused is not None:
            self.out = fused(a, b)
        else:
            z, xp = a + b, get_array_module(a)  # z is fresh: tanh may overwrite it
            self.out = xp.tanh(z, out=z) if getattr(z, "ndim", 0) else xp.tanh(z)
        return self.out

    def backward(self, grad):
        slope = _tanh_slope(self.out, grad)
        return slope, slope


def sigmoid(a):
    """1 / (1 + exp(-a)) on an array."""
    # exp is vectorised where tanh is not (twice as fast on float32); exp(-a) overflowing
    # to inf for a very negative a gives the right limit, 0, so the warning is noise
    with np.errstate(over="ignore"):
        return 1 / (1 + get_array_module(a).exp(-a))


class Sigmoid(Function):
    saves_output = True

    def forward(self, a):
        self.out = sigmoid(a)
        return self.out

    def backward(self, grad):
        out = self.out
        return (grad * out * (1 - out),)


class Relu(Function):
    """max(x, 0); as PyTorch, the gradient passes wherever the result is not <= 0 (NaN too)."""

    saves_output = True

    def forward(self, a):
        self.out = get_array_module(a).maximum(a, 0)
        return self.out

    def backward(self, grad):
        return (grad * ~(self.out <= 0),)
