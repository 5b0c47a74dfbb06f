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

import numpy as np

from .. import functional as F
from ..creation import Generator, make_generator, zeros
from ..tensor import Tensor, stack
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

    def _set_kind(self, nonlinearity: str) -> None:
        if self.kind == "RNN" and nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', not {nonlinearity!r}")
        self.mode = f"RNN_{nonlinearity.upper()}" if self.kind == "RNN" else self.kind

    def _make_weights(self, suffix, input_size, hidden_size, bias, rng, dtype, device) -> None:
        """Create weight_ih, weight_hh, bias_ih, bias_hh (+ suffix), all U(±1/sqrt(H))."""
        bound = 1 / math.sqrt(hidden_size)
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
        nonlinearity: str = "tanh",
        *,
        generator: int | Generator | None = None,
        dtype=None,
        device=None,
    ):
        super().__init__()
        self._set_kind(nonlinearity)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rng = make_generator(generator)
        self._make_weights("", input_size, hidden_size, bias, rng, dtype, device)

    def forward(self, x: Tensor, state=None):
        """One step: x (B, D) or (D,), state (B, H) (LSTM: (h, c)) or None for zeros."""
        if x.shape[-1] != self.input_size:
            raise ValueError(f"expected input of size {self.input_size}, got shape {x.shape}")
        w_ih, w_hh, b_ih, b_hh = self._weights("")
        return self._step(self._project(x, w_ih, b_ih, b_hh), state, w_hh.T, b_hh)

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
        nonlinearity: str = "tanh",
        truncate_bptt: int | None = None,
        generator: int | Generator | None = None,
        dtype=None,
        device=None,
    ):
        super().__init__()
        if bidirectional:
            raise ValueError("bidirectional recurrent layers are not supported")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), not {dropout}")
        self._set_kind(nonlinearity)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.truncate_bptt = truncate_bptt
        self.track_hidden_grads = False
        self.hidden_states: list[list[Tensor]] = []
        self.generator = make_generator(generator)
        for k in range(num_layers):
            size = input_size if k == 0 else hidden_size
            self._make_weights(f"_l{k}", size, hidden_size, bias, self.generator, dtype, device)

    def forward(self, input: Tensor, hx=None):  # noqa: A002 - PyTorch's name
        """input (T, B, D), or (B, T, D) with batch_first, or (T, D) unbatched.

        hx: (num_layers, B, H) initial states (LSTM: a tuple (h0, c0)), or None for zeros.
        Returns (output, h_n): output (T, B, H) (batch_first: (B, T, H)) holds the top layer's
        state at every step; h_n (num_layers, B, H) the last state of each layer (LSTM:
        (h_n, c_n)). With `truncate_bptt = k`, the state is detached every k steps; with
        `track_hidden_grads = True`, every state h_t is kept so `hidden_grad_norms()` can report
        dL/dh_t after backward.
        """
        batched = input.ndim == 3
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"expected input of shape (T, B, {self.input_size}) (or batch first, or (T, "
                f"{self.input_size}) unbatched), got {input.shape}"
            )
        x = input if batched else input.unsqueeze(1)
        x = x.transpose(0, 1) if batched and self.batch_first else x  # time-major from here
        steps, batch = x.shape[0], x.shape[1]
        initial = self._initial_states(hx, batched)
        self.hidden_states = []
        finals = []
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._weights(f"_l{k}")
            projected = self._project(x.reshape(steps * batch, -1), w_ih, b_ih, b_hh)
            projected = projected.reshape(steps, batch, -1)
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
                x = F.dropout(x, self.dropout, True, self.generator)
        output = x.transpose(0, 1) if batched and self.batch_first else x
        output = output if batched else output.squeeze(1)
        return output, self._final_states(finals, batched)

    def _initial_states(self, hx, batched: bool) -> list:
        if hx is None:
            return [None] * self.num_layers
        parts = hx if self.mode == "LSTM" else (hx,)
        if not batched:
            parts = tuple(p.unsqueeze(1) for p in parts)
        for p in parts:
            if p.ndim != 3 or p.shape[0] != self.num_layers or p.shape[2] != self.hidden_size:
                raise ValueError(
                    f"expected an initial state of shape ({self.num_layers}, B, "
                    f"{self.hidden_size}), got {p.shape}"
                )
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
