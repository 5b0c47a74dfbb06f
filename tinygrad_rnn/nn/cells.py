"""Recurrent cells (one time step) with PyTorch's signatures and weight layout, and the step
functions the layers share.

Weights follow PyTorch: weight_ih (G*H, D), weight_hh (G*H, H), bias_ih and bias_hh (G*H,) with
the gates stacked in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n), so a PyTorch state_dict
loads one to one. An LSTM with projections adds weight_hr (P, H).
"""

from __future__ import annotations

import math

from .. import functional as F
from ..creation import zeros
from ..random import Generator, numpy_generator
from ..tensor import Tensor
from . import init
from .layers import new_parameter
from .module import Module

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

    def _make_weights(
        self, suffix, input_size, hidden_size, bias, rng, dtype, device, proj_size=0
    ) -> None:
        """Create weight_ih, weight_hh, bias_ih, bias_hh (and weight_hr with projections), +
        suffix, in PyTorch's order, all U(±1/sqrt(H))."""
        bound = 1 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
        recurrent = proj_size or hidden_size  # the size of the state fed back
        shapes = {
            "weight_ih": (self.gates * hidden_size, input_size),
            "weight_hh": (self.gates * hidden_size, recurrent),
        }
        if bias:
            shapes.update(bias_ih=(self.gates * hidden_size,), bias_hh=(self.gates * hidden_size,))
        if proj_size:
            shapes["weight_hr"] = (proj_size, hidden_size)
        for name, shape in shapes.items():
            parameter = new_parameter(*shape, dtype=dtype, device=device)
            setattr(self, name + suffix, init.uniform_(parameter, -bound, bound, rng))
        if not bias:
            setattr(self, "bias_ih" + suffix, None)
            setattr(self, "bias_hh" + suffix, None)

    def _weights(self, suffix: str):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction."""
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

    def _step(self, projected: Tensor, state, w_hh_t: Tensor, b_hh, w_hr_t=None):
        """The next state from the projected input and the state (None: zeros, as in PyTorch,
        so W_hh gets a gradient, zero or not); an LSTM with projections maps h through
        W_hr."""
        if state is None:
            rows = projected.shape[:-1]
            h = zeros(*rows, w_hh_t.shape[0], dtype=projected.dtype, device=projected.device)
            if self.mode == "LSTM":
                width = projected.shape[-1] // 4
                c = (
                    h
                    if width == h.shape[-1]
                    else zeros(*rows, width, dtype=h.dtype, device=h.device)
                )
                state = (h, c)
            else:
                state = h
        if self.mode == "LSTM":
            h, c = lstm_step(projected, state, w_hh_t)
            return (h if w_hr_t is None else h @ w_hr_t), c
        if self.mode == "GRU":
            return gru_step(projected, state, w_hh_t, b_hh)
        return rnn_step(projected, state, w_hh_t, "relu" if self.mode == "RNN_RELU" else "tanh")


# ---------------------------------------------------------------- cells: one step


class RNNCellBase(_Recurrent):
    """The base of RNNCell, LSTMCell and GRUCell, as torch.nn.RNNCellBase (for isinstance)."""

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


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), as torch.nn.RNNCell."""


class LSTMCell(RNNCellBase):
    """One LSTM step; forward(x, (h, c)) returns (h', c'), as torch.nn.LSTMCell."""

    kind, gates = "LSTM", 4


class GRUCell(RNNCellBase):
    """One GRU step; forward(x, h) returns h', as torch.nn.GRUCell."""

    kind, gates = "GRU", 3
