"""Recurrent layers (RNN, LSTM, GRU) with PyTorch's signatures, weight layout and options:
stacked layers, bidirectional, LSTM projections, dropout between layers, unbatched input and
PackedSequence input.

A layer is a Python loop over time that calls its cell's step once per time step, so the graph
is unrolled and backward through it is BPTT; nothing here has a hand-written backward. Each
layer first projects the inputs of all time steps at once (one large matmul instead of T small
ones); the step adds the recurrent part. With a PackedSequence, step t runs on the
batch_sizes[t] sequences still going (sorted longest first), so padded steps neither produce
output nor receive gradient, and each sequence's last state is its own.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .. import functional as F
from ..creation import zeros
from ..random import Generator, numpy_generator
from ..tensor import Tensor
from ..tensor_shape import cat, stack
from .cells import (
    GRUCell,
    LSTMCell,
    RNNCell,
    RNNCellBase,
    _Recurrent,
    gru_step,
    lstm_step,
    rnn_step,
)
from .utils import detach_state
from .utils.rnn import PackedSequence

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "GRUCell",
    "LSTMCell",
    "RNNBase",
    "RNNCell",
    "RNNCellBase",
    "gru_step",
    "lstm_step",
    "rnn_step",
]


class RNNBase(_Recurrent):
    """The base of RNN, LSTM and GRU, as torch.nn.RNNBase for isinstance; its constructor takes
    the layer's own arguments (PyTorch's takes a `mode` string first)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        nonlinearity: str | None = None,
        truncate_bptt: int | None = None,
        generator: int | Generator | None = None,
    ):
        super().__init__()
        _check_layer_arguments(
            input_size, hidden_size, num_layers, dropout, nonlinearity or "tanh", self.kind
        )
        _check_projection(proj_size, hidden_size, self.kind)
        self._set_kind(nonlinearity)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bool(bidirectional), proj_size
        self.truncate_bptt = truncate_bptt
        self.track_hidden_grads = False
        self.hidden_states: list[list[Tensor]] = []
        # None: the default generator at each call; a seed: one stream for this layer
        self.generator = None if generator is None else numpy_generator(generator)
        rng = numpy_generator(generator)
        out_size = (proj_size or hidden_size) * self.directions
        for k in range(num_layers):
            size = input_size if k == 0 else out_size
            for suffix in self._suffixes(k):
                self._make_weights(suffix, size, hidden_size, bias, rng, dtype, device, proj_size)

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.directions]

    @property
    def _flat_weights_names(self) -> list[str]:
        """The parameters' names, layer by layer and direction by direction (PyTorch's)."""
        names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"][: 4 if self.bias else 2]
        names += ["weight_hr"] if self.proj_size else []
        return [n + s for k in range(self.num_layers) for s in self._suffixes(k) for n in names]

    @property
    def all_weights(self) -> list[list]:
        """The parameters grouped per layer and direction, as PyTorch's `all_weights`."""
        per = len(self._flat_weights_names) // (self.num_layers * self.directions)
        weights = [getattr(self, name) for name in self._flat_weights_names]
        return [weights[i : i + per] for i in range(0, len(weights), per)]

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs weights for cuDNN here; the loop reads them as they are."""

    def forward(self, input, hx=None):
        """input (T, B, D), or (B, T, D) with batch_first, or (T, D) unbatched, or a
        PackedSequence.

        hx: (L * directions, B, H_out) initial states (LSTM: a tuple (h0, c0), c0 with H), or
        None for zeros. Returns (output, h_n): output (T, B, directions * H_out) (batch_first:
        (B, T, ...); a PackedSequence for one) holds the top layer's state at every step; h_n
        (L * directions, B, H_out) the last state of each layer and direction (LSTM: (h_n, c_n)).
        H_out is proj_size for an LSTM with projections, else hidden_size. With
        `truncate_bptt = k` the state is detached every k steps; with `track_hidden_grads = True`
        every state h_t is kept so `hidden_grad_norms()` can report dL/dh_t after backward.
        """
        packed = isinstance(input, PackedSequence)
        if packed:
            x, steps, batch = input.data, _packed_steps(input.batch_sizes), input.batch_sizes[0]
            batch, batched = int(batch), True
        else:
            self._check_input(input)
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            x = x.transpose(0, 1) if batched and self.batch_first else x  # time-major from here
            steps, batch = x.shape[0], x.shape[1]
        initial = self._initial_states(hx, batched, batch)
        if packed and hx is not None:  # states arrive in the caller's order, steps run sorted
            initial = [_permuted(state, input.sorted_indices) for state in initial]
        self.hidden_states, finals = [], []
        for k in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes(k)):
                run = self._run_packed if packed else self._run_padded
                out, state = run(
                    x,
                    steps,
                    initial[k * self.directions + direction],
                    suffix,
                    reverse=direction == 1,
                )
                outputs.append(out)
                finals.append(state)
            x = outputs[0] if len(outputs) == 1 else cat(outputs, -1)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True, generator=self.generator)
        h_n = self._final_states(finals, batched)
        if packed:
            h_n = _permuted(h_n, input.unsorted_indices, dim=1)
            output = PackedSequence(
                x, input.batch_sizes, input.sorted_indices, input.unsorted_indices
            )
            return output, h_n
        output = x.transpose(0, 1) if batched and self.batch_first else x
        return (output if batched else output.squeeze(1)), h_n

    def _weights_of(self, suffix: str):
        w_ih, w_hh, b_ih, b_hh = self._weights(suffix)
        w_hr = self.__dict__.get("weight_hr" + suffix)
        return w_ih, w_hh.T, b_ih, b_hh, None if w_hr is None else w_hr.T

    def _run_padded(self, x: Tensor, steps: int, state, suffix: str, reverse: bool):
        """One layer and direction over a (T, B, D) input: ((T, B, H_out), last state)."""
        w_ih, w_hh_t, b_ih, b_hh, w_hr_t = self._weights_of(suffix)
        batch = x.shape[1]
        projected = self._project(x.reshape(steps * batch, x.shape[-1]), w_ih, b_ih, b_hh)
        projected = projected.reshape(steps, batch, w_ih.shape[0])
        outputs, tracked = [None] * steps, []
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        for count, t in enumerate(order):
            if self.truncate_bptt and count and count % self.truncate_bptt == 0:
                state = detach_state(state)
            state = self._step(projected[t], state, w_hh_t, b_hh, w_hr_t)
            outputs[t] = self._track(state, tracked)
        self.hidden_states.append(tracked)
        return stack(outputs), state

    def _run_packed(self, data: Tensor, steps: list, state, suffix: str, reverse: bool):
        """One layer and direction over packed rows: step t updates its first batch_sizes[t]
        sequences and leaves the others' states as they were."""
        w_ih, w_hh_t, b_ih, b_hh, w_hr_t = self._weights_of(suffix)
        projected = self._project(data, w_ih, b_ih, b_hh)
        batch = steps[0][1]
        if state is None:
            state = self._zero_state(projected, batch, w_hh_t)
        outputs, tracked = [None] * len(steps), []
        order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
        for count, t in enumerate(order):
            start, size = steps[t]
            if self.truncate_bptt and count and count % self.truncate_bptt == 0:
                state = detach_state(state)
            parts = state if self.mode == "LSTM" else (state,)
            active = tuple(p[:size] for p in parts)
            new = self._step(
                projected[start : start + size],
                active if self.mode == "LSTM" else active[0],
                w_hh_t,
                b_hh,
                w_hr_t,
            )
            outputs[t] = self._track(new, tracked)
            new_parts = new if self.mode == "LSTM" else (new,)
            merged = tuple(
                n if size == batch else cat([n, p[size:]]) for n, p in zip(new_parts, parts)
            )
            state = merged if self.mode == "LSTM" else merged[0]
        self.hidden_states.append(tracked)
        return cat(outputs), state

    def _zero_state(self, projected: Tensor, batch: int, w_hh_t: Tensor):
        h = zeros(batch, w_hh_t.shape[0], dtype=projected.dtype, device=projected.device)
        if self.mode != "LSTM":
            return h
        return h, zeros(batch, self.hidden_size, dtype=h.dtype, device=h.device)

    def _track(self, state, tracked: list) -> Tensor:
        h = state[0] if self.mode == "LSTM" else state
        if self.track_hidden_grads:
            h.retain_grad()
            tracked.append(h)
        return h

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
        """The initial state of each layer and direction, checked against PyTorch's shapes."""
        count = self.num_layers * self.directions
        if hx is None:
            return [None] * count
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
        sizes = [self.proj_size or self.hidden_size, self.hidden_size]
        for k, part in enumerate(parts):
            name = "hidden" if self.mode != "LSTM" else f"hidden[{k}]"
            self._check_state(part, (count, batch, sizes[k]), name)
        states = [tuple(p[i] for p in parts) for i in range(count)]
        return states if self.mode == "LSTM" else [s[0] for s in states]

    def _final_states(self, finals: list, batched: bool):
        def gather(parts):
            out = stack(parts)
            return out if batched else out.squeeze(1)

        if self.mode == "LSTM":
            return gather([h for h, _ in finals]), gather([c for _, c in finals])
        return gather(finals)

    def hidden_grad_norms(self) -> np.ndarray:
        """(layers * directions, T) L2 norms of dL/dh_t after backward (needs
        track_hidden_grads), the reverse direction's in time order too."""
        if not self.hidden_states or not any(self.hidden_states):
            raise RuntimeError("set track_hidden_grads = True before the forward pass")
        return np.array(
            [
                [
                    0.0 if h.grad is None else float(np.linalg.norm(h.grad.detach().cpu().numpy()))
                    for h in layer
                ]
                for layer in self.hidden_states
            ]
        )

    def extra_repr(self) -> str:
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.proj_size:
            parts.append(f"proj_size={self.proj_size}")
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if not self.bias:
            parts.append("bias=False")
        if self.batch_first:
            parts.append("batch_first=True")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.bidirectional:
            parts.append("bidirectional=True")
        if self.truncate_bptt:
            parts.append(f"truncate_bptt={self.truncate_bptt}")
        return ", ".join(parts)


def _packed_steps(batch_sizes) -> list[tuple[int, int]]:
    """(start row, rows) of each time step of a PackedSequence's data."""
    sizes = [
        int(s)
        for s in np.asarray(batch_sizes.array if hasattr(batch_sizes, "array") else batch_sizes)
    ]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    return list(zip(starts, sizes))


def _permuted(state, indices, dim: int = 0):
    """A state (or LSTM pair) with its batch dim reordered by `indices` (None: as it is)."""
    if state is None or indices is None:
        return state
    if isinstance(state, tuple):
        return tuple(_permuted(s, indices, dim) for s in state)
    return state.index_select(dim, indices)


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


def _check_projection(proj_size, hidden_size: int, kind: str) -> None:
    if proj_size and kind != "LSTM":
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if not isinstance(proj_size, int) or proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class _Unprojected(RNNBase):
    """PyTorch's signature of RNN and GRU: no proj_size (only LSTM has projections)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        **kwargs,
    ):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
            **kwargs,
        )


class RNN(_Unprojected):
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


class LSTM(RNNBase):
    """A stack of LSTM layers unrolled over time, as torch.nn.LSTM (proj_size included)."""

    kind, gates = "LSTM", 4


class GRU(_Unprojected):
    """A stack of GRU layers unrolled over time, as torch.nn.GRU."""

    kind, gates = "GRU", 3
