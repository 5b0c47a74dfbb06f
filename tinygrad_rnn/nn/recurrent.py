"""Recurrent cells and layers with PyTorch's signatures and weight layout.

A layer is a Python loop over time that calls its cell's step once per time step, so the graph
is unrolled and backward through it is BPTT; nothing here has a hand-written backward. Each
layer first projects the inputs of all time steps at once (one large matmul instead of T small
ones); the step adds the recurrent part.

Weights follow PyTorch: weight_ih (G*H, D), weight_hh (G*H, H), bias_ih and bias_hh (G*H,) with
the gates stacked in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n), so a PyTorch state_dict
loads one to one.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import functional as F
from ..creation import zeros
from ..random import Generator, numpy_generator
from ..tensor import Tensor
from ..tensor_shape import stack
from . import init
from .layers import new_parameter
from .module import Module
from .utils import detach_state

# ---------------------------------------------------------------- one time step


def rnn_step(projected: Tensor, h: Tensor, w_hh_t: Tensor, nonlinearity: str) -> Tensor:
    """h' = act(projected + h @ W_hh^T); `projected` = x @ W_ih^T + biases, (B, H)."""
    if nonlinearity == "tanh":
        return F.add_tanh(projected, h @ w_hh_t)
    return (projected + h @ w_hh_t).relu()


def lstm_step(projected: Tensor, state, w_hh_t: Tensor) -> tuple[Tensor, Tensor]:
    """(h', c') from gates = projected + h @ W_hh^T, gates i, f, g, o of width H each."""
    h, c = state
    return F.lstm_cell(projected, h @ w_hh_t, c)


def gru_step(projected: Tensor, h: Tensor, w_hh_t: Tensor, b_hh: Tensor | None) -> Tensor:
    """h' = (1 - z) * n + z * h, with r, z, n as in PyTorch; `projected` = x @ W_ih^T + b_ih."""
    hidden = h @ w_hh_t
    return F.gru_cell(projected, hidden + b_hh if b_hh is not None else hidden, h)


# ---------------------------------------------------------------- shared machinery


class _Recurrent(Module):
    """Parameters and step dispatch shared by the cells and the layers of one kind."""

    kind = "RNN"  # or "LSTM", "GRU"
    gates = 1  # 4 for LSTM, 3 for GRU

    def _set_kind(self, nonlinearity: str | None) -> None:
        if nonlinearity is not None and self.kind != "RNN":
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                "'nonlinearity'"
            )
        nonlinearity = "tanh" if nonlinearity is None else nonlinearity
        self.nonlinearity = nonlinearity
        self.mode = f"RNN_{str(nonlinearity).upper()}" if self.kind == "RNN" else self.kind

    def _make_weights(self, suffix, input_size, hidden_size, bias, rng, dtype, device) -> None:
        """Create weight_ih, weight_hh, bias_ih, bias_hh (+ suffix), all U(±1/sqrt(H))."""
        bound = 1 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
        shapes = {
            "weight_ih": (self.gates * hidden_size, input_size),
            "weight_hh": (self.gates * hidden_size, hidden_size),
        }
        if bias:
            shapes.update(bias_ih=(self.gates * hidden_size,), bias_hh=(self.gates * hidden_size,))
        for name, shape in shapes.items():
            parameter = new_parameter(*shape, dtype=dtype, device=device)
            setattr(self, name + suffix, init.uniform_(parameter, -bound, bound, rng))
        if not bias:
            setattr(self, "bias_ih" + suffix, None)
            setattr(self, "bias_hh" + suffix, None)

    def _weights(self, suffix: str):
        d = self.__dict__
        return (
            d["weight_ih" + suffix],
            d["weight_hh" + suffix],
            d["bias_ih" + suffix],
            d["bias_hh" + suffix],
        )

    def _project(self, x: Tensor, w_ih: Tensor, b_ih, b_hh) -> Tensor:
        """x @ W_ih^T plus the biases that do not sit inside a gate (GRU keeps b_hh apart)."""
        projected = x @ w_ih.T
        if b_ih is not None:
            projected = projected + (b_ih if self.mode == "GRU" else b_ih + b_hh)
        return projected

    def _check_state(self, state: Tensor, expected: tuple, name: str) -> None:
        """PyTorch's check of an initial state: exactly the expected shape, no broadcasting."""
        if tuple(state.shape) != expected:
            raise RuntimeError(f"Expected {name} size {expected}, got {list(state.shape)}")

    def _step(self, projected: Tensor, state, w_hh_t: Tensor, b_hh):
        if state is None:  # zeros, as in PyTorch (so W_hh gets a gradient, zero or not)
            h = zeros(
                *projected.shape[:-1],
                w_hh_t.shape[0],
                dtype=projected.dtype,
                device=projected.device,
            )
            state = (h, h) if self.mode == "LSTM" else h
        if self.mode == "LSTM":
            return lstm_step(projected, state, w_hh_t)
        if self.mode == "GRU":
            return gru_step(projected, state, w_hh_t, b_hh)
        return rnn_step(projected, state, w_hh_t, "relu" if self.mode == "RNN_RELU" else "tanh")


# ---------------------------------------------------------------- cells: one step


class _Cell(_Recurrent):
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str | None = None,
        *,
        generator: int | Generator | None = None,
        dtype=None,
        device=None,
    ):
        super().__init__()
        self._set_kind(nonlinearity)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rng = numpy_generator(generator)
        self._make_weights("", input_size, hidden_size, bias, rng, dtype, device)

    def forward(self, input: Tensor, hx=None):
        """One step: input (B, D) or (D,), hx (B, H) (LSTM: a tuple (h, c)) or None for zeros."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[-1]} expected "
                f"{self.input_size}"
            )
        if self.kind == "RNN" and self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        state = self._cell_state(hx, x.shape[0], batched)
        w_ih, w_hh, b_ih, b_hh = self._weights("")
        out = self._step(self._project(x, w_ih, b_ih, b_hh), state, w_hh.T, b_hh)
        if batched:
            return out
        return tuple(o.squeeze(0) for o in out) if self.mode == "LSTM" else out.squeeze(0)

    def _cell_state(self, hx, batch: int, batched: bool):
        """hx checked as PyTorch checks it (a tuple of two for LSTM), with a batch dim."""
        if hx is None:
            return None
        if self.mode == "LSTM":
            if isinstance(hx, Tensor) or not isinstance(hx, (tuple, list)):
                raise TypeError(
                    "lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, not "
                    f"{type(hx).__name__}"
                )
            if len(hx) != 2:
                raise RuntimeError("lstm_cell expects two hidden states")
            parts = list(hx)
        else:
            parts = [hx]
        checked = []
        for k, part in enumerate(parts):
            part = part if batched or part.ndim != 1 else part.unsqueeze(0)
            if part.ndim != 2 or part.shape[0] != batch:
                rows = part.shape[0] if part.ndim else 0
                raise RuntimeError(
                    f"Input batch size {batch} doesn't match hidden{k} batch size {rows}"
                    if part.ndim == 2 or batched
                    else f"hidden{k} has inconsistent hidden_size: got {part.shape[0]}, "
                    f"expected {self.hidden_size}"
                )
            if part.shape[1] != self.hidden_size:
                raise RuntimeError(
                    f"hidden{k} has inconsistent hidden_size: got {part.shape[1]}, expected "
                    f"{self.hidden_size}"
                )
            checked.append(part)
        return tuple(checked) if self.mode == "LSTM" else checked[0]

    def extra_repr(self) -> str:
        extra = ", nonlinearity='relu'" if self.mode == "RNN_RELU" else ""
        bias = "" if self.bias else ", bias=False"
        return f"{self.input_size}, {self.hidden_size}{bias}{extra}"


class RNNCell(_Cell):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), as torch.nn.RNNCell."""


class LSTMCell(_Cell):
    """One LSTM step; forward(x, (h, c)) returns (h', c'), as torch.nn.LSTMCell."""

    kind, gates = "LSTM", 4


class GRUCell(_Cell):
    """One GRU step; forward(x, h) returns h', as torch.nn.GRUCell."""

    kind, gates = "GRU", 3


# ---------------------------------------------------------------- layers: loops over time


class _Layer(_Recurrent):
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        nonlinearity: str | None = None,
        truncate_bptt: int | None = None,
        generator: int | Generator | None = None,
        dtype=None,
        device=None,
    ):
        super().__init__()
        _check_layer_arguments(
            input_size, hidden_size, num_layers, dropout, nonlinearity or "tanh", self.kind
        )
        if bidirectional:
            raise NotImplementedError("bidirectional recurrent layers are not supported yet")
        self._set_kind(nonlinearity)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.truncate_bptt = truncate_bptt
        self.track_hidden_grads = False
        self.hidden_states: list[list[Tensor]] = []
        # None: the default generator at each call; a seed: one stream for this layer
        self.generator = None if generator is None else numpy_generator(generator)
        rng = numpy_generator(generator)
        for k in range(num_layers):
            size = input_size if k == 0 else hidden_size
            self._make_weights(f"_l{k}", size, hidden_size, bias, rng, dtype, device)

    def forward(self, input: Tensor, hx=None):
        """input (T, B, D), or (B, T, D) with batch_first, or (T, D) unbatched.

        hx: (num_layers, B, H) initial states (LSTM: a tuple (h0, c0)), or None for zeros.
        Returns (output, h_n): output (T, B, H) (batch_first: (B, T, H)) holds the top layer's
        state at every step; h_n (num_layers, B, H) the last state of each layer (LSTM:
        (h_n, c_n)). With `truncate_bptt = k`, the state is detached every k steps; with
        `track_hidden_grads = True`, every state h_t is kept so `hidden_grad_norms()` can report
        dL/dh_t after backward.
        """
        batched = input.ndim == 3
        self._check_input(input)
        x = input if batched else input.unsqueeze(1)
        x = x.transpose(0, 1) if batched and self.batch_first else x  # time-major from here
        steps, batch = x.shape[0], x.shape[1]
        initial = self._initial_states(hx, batched, batch)
        self.hidden_states = []
        finals = []
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._weights(f"_l{k}")
            projected = self._project(x.reshape(steps * batch, x.shape[-1]), w_ih, b_ih, b_hh)
            projected = projected.reshape(steps, batch, w_ih.shape[0])
            w_hh_t, state, outputs = w_hh.T, initial[k], []
            tracked = []
            for t in range(steps):
                if self.truncate_bptt and t and t % self.truncate_bptt == 0:
                    state = detach_state(state)
                state = self._step(projected[t], state, w_hh_t, b_hh)
                h = state[0] if self.mode == "LSTM" else state
                if self.track_hidden_grads:
                    h.retain_grad()
                    tracked.append(h)
                outputs.append(h)
            self.hidden_states.append(tracked)
            finals.append(state)
            x = stack(outputs)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True, generator=self.generator)
        output = x.transpose(0, 1) if batched and self.batch_first else x
        output = output if batched else output.squeeze(1)
        return output, self._final_states(finals, batched)

    def _check_input(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(
                f"{self.kind}: Expected input to be 2D or 3D, got {input.ndim}D tensor instead"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{input.shape[-1]}"
            )
        weight = self.weight_ih_l0
        if input.dtype != weight.dtype:
            raise ValueError(
                f"{self.kind} input dtype ({input.dtype.name}) does not match weight dtype "
                f"({weight.dtype.name}). Convert input: input.to({weight.dtype.name}), or "
                f"convert model: model.to({input.dtype.name})"
            )
        time_axis = 1 if input.ndim == 3 and self.batch_first else 0
        if input.shape[time_axis] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")

    def _initial_states(self, hx, batched: bool, batch: int) -> list:
        """The initial state of each layer, checked against PyTorch's expected shapes."""
        if hx is None:
            return [None] * self.num_layers
        if self.mode == "LSTM":
            if isinstance(hx, Tensor) or len(hx) != 2:
                if isinstance(hx, Tensor):
                    raise RuntimeError(
                        f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx and cx "
                        f"should also be {'3-D' if batched else '2-D'} but got ({hx.ndim - 1}-D, "
                        f"{hx.ndim - 1}-D) tensors"
                    )
                if len(hx) < 2:
                    raise IndexError("tuple index out of range")
                raise RuntimeError("lstm expects two hidden states")
            parts = tuple(hx)
        else:
            parts = (hx,)
        rank = 3 if batched else 2
        for part in parts:
            if part.ndim != rank:
                what = "hx and cx" if self.mode == "LSTM" else "hx"
                raise RuntimeError(
                    f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, {what} should "
                    f"also be {rank}-D but got {part.ndim}-D tensor"
                )
        if not batched:
            parts = tuple(p.unsqueeze(1) for p in parts)
        expected = (self.num_layers, batch, self.hidden_size)
        for k, part in enumerate(parts):
            name = "hidden" if self.mode != "LSTM" else f"hidden[{k}]"
            self._check_state(part, expected, name)
        layers = [tuple(p[k] for p in parts) for k in range(self.num_layers)]
        return layers if self.mode == "LSTM" else [layer[0] for layer in layers]

    def _final_states(self, finals: list, batched: bool):
        def gather(parts):
            out = stack(parts)
            return out if batched else out.squeeze(1)

        if self.mode == "LSTM":
            return gather([h for h, _ in finals]), gather([c for _, c in finals])
        return gather(finals)

    def hidden_grad_norms(self) -> np.ndarray:
        """(num_layers, T) L2 norms of dL/dh_t after backward (needs track_hidden_grads)."""
        if not self.hidden_states or not any(self.hidden_states):
            raise RuntimeError("set track_hidden_grads = True before the forward pass")
        return np.array(
            [
                [0.0 if h.grad is None else float(np.linalg.norm(h.grad.numpy())) for h in layer]
                for layer in self.hidden_states
            ]
        )

    def extra_repr(self) -> str:
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if self.mode == "RNN_RELU":
            parts.append("nonlinearity='relu'")
        if self.batch_first:
            parts.append("batch_first=True")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.truncate_bptt:
            parts.append(f"truncate_bptt={self.truncate_bptt}")
        return ", ".join(parts)


def _check_layer_arguments(input_size, hidden_size, num_layers, dropout, nonlinearity, kind):
    """PyTorch's checks of a recurrent layer's arguments, with its exception types."""
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if not isinstance(num_layers, int) or isinstance(num_layers, bool):
        raise TypeError(f"'{type(num_layers).__name__}' object cannot be interpreted as an integer")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if (
        not isinstance(dropout, numbers.Number)
        or isinstance(dropout, bool)
        or not 0 <= dropout <= 1
    ):
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the probability of an "
            "element being zeroed"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
            f"expects num_layers greater than 1, but got dropout={dropout} and "
            f"num_layers={num_layers}",
            UserWarning,
            stacklevel=4,
        )
    if kind == "RNN" and nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")


class RNN(_Layer):
    """A stack of tanh (or relu) RNN layers unrolled over time, as torch.nn.RNN."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        *args,
        **kwargs,
    ):
        super().__init__(
            input_size, hidden_size, num_layers, *args, nonlinearity=nonlinearity, **kwargs
        )


class LSTM(_Layer):
    """A stack of LSTM layers unrolled over time, as torch.nn.LSTM."""

    kind, gates = "LSTM", 4


class GRU(_Layer):
    """A stack of GRU layers unrolled over time, as torch.nn.GRU."""

    kind, gates = "GRU", 3
