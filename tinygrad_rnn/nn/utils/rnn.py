"""Variable-length batches, as torch.nn.utils.rnn: pad_sequence, PackedSequence and packing.

A PackedSequence holds the steps of a batch of sequences time-major without padding: step t
holds the batch_sizes[t] sequences still going, longest first. The recurrent layers run step t
on those rows only, so padding neither produces output nor receives gradient. Packing and
unpacking are single indexing ops, so gradients flow through them.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ... import functional as F
from ...creation import as_tensor, full
from ...tensor import Tensor
from ...tensor_shape import stack

_Fields = namedtuple(
    "PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"]
)


class PackedSequence(_Fields):
    """(data (N, *), batch_sizes (T,) int64 on the CPU, sorted_indices, unsorted_indices), as
    torch.nn.utils.rnn.PackedSequence; build it with pack_padded_sequence or pack_sequence."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _inverse(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """The same sequence with its data moved or cast (the indices follow the device)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        moved = [None if i is None else i.to(data.device) for i in self[2:]]
        return type(self)(data, self.batch_sizes, *moved)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self) -> PackedSequence:
        return self.to("cuda")

    def float(self) -> PackedSequence:
        return self.to(np.float32)

    def double(self) -> PackedSequence:
        return self.to(np.float64)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _inverse(permutation: Tensor) -> Tensor:
    order = permutation.array
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[np.asarray(order.get() if hasattr(order, "get") else order)] = np.arange(len(order))
    return as_tensor(inverse, device=permutation.device)


def _lengths(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.device != "cpu" or lengths.ndim != 1:
            raise RuntimeError(
                "'lengths' argument should be a 1D CPU int64 tensor, but got "
                f"{lengths.ndim}D {lengths.device} {lengths.dtype.name} tensor"
            )
        lengths = lengths.array
    return np.asarray(lengths, dtype=np.int64).reshape(-1)


def _packed_positions(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For lengths sorted longest first: (time index, batch index) of every packed row, in
    packed order, and the batch size of every step."""
    steps = int(lengths[0]) if len(lengths) else 0
    batch_sizes = (lengths[None, :] > np.arange(steps)[:, None]).sum(axis=1)
    times = np.repeat(np.arange(steps), batch_sizes)
    rows = np.concatenate([np.arange(n) for n in batch_sizes]) if steps else np.zeros(0, int)
    return times, rows.astype(np.int64), batch_sizes.astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True):
    """A PackedSequence from a padded batch (T, B, *) ((B, T, *) with batch_first) and each
    sequence's length."""
    lengths = _lengths(lengths)
    if len(lengths) and lengths.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' "
            "that is <= 0"
        )
    batch_dim = 0 if batch_first else 1
    if len(lengths) != input.shape[batch_dim]:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
            f"(batch_size={input.shape[batch_dim]})"
        )
    sorted_indices = None
    if enforce_sorted:
        if (np.diff(lengths) > 0).any():
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = as_tensor(order.astype(np.int64), device=input.device)
    batch = input if sorted_indices is None else input.index_select(batch_dim, sorted_indices)
    time_major = batch.transpose(0, 1) if batch_first else batch
    if len(lengths) and lengths[0] > time_major.shape[0]:
        raise RuntimeError(
            f"Expected sequence length to be at most {time_major.shape[0]}, but got "
            f"{int(lengths[0])}"
        )
    times, rows, batch_sizes = _packed_positions(lengths)
    data = time_major[as_tensor(times, device=input.device), as_tensor(rows, device=input.device)]
    return PackedSequence(data, as_tensor(batch_sizes), sorted_indices)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
):
    """(padded (T, B, *) ((B, T, *) with batch_first), lengths (B,) int64) from a
    PackedSequence, in the batch order the sequences were packed from."""
    batch_sizes = np.asarray(sequence.batch_sizes.array, dtype=np.int64)
    steps, batch = len(batch_sizes), int(batch_sizes[0]) if len(batch_sizes) else 0
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}"
            )
        steps = total_length
    data = sequence.data
    padded = full(
        (steps, batch, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device
    )
    times, rows, _ = _packed_positions(lengths)
    device = data.device
    padded[as_tensor(times, device=device), as_tensor(rows, device=device)] = data
    lengths = as_tensor(lengths)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths.index_select(0, sequence.unsorted_indices.to("cpu"))
    return (padded.transpose(0, 1) if batch_first else padded), lengths


def pad_sequence(
    sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"
) -> Tensor:
    """Sequences (L_i, *) padded to the longest and stacked: (T, B, *) ((B, T, *) with
    batch_first); padding_side "left" pads before the values."""
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    sequences = list(sequences)
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = longest - s.shape[0]
        widths = [0, 0] * (s.ndim - 1) + ([0, extra] if padding_side == "right" else [extra, 0])
        padded.append(F.pad(s, widths, value=padding_value) if extra else s)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """A PackedSequence from a list of sequences (L_i, *)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The sequences of a padded batch, each cut to its length."""
    time_major = padded_sequences.transpose(0, 1) if batch_first else padded_sequences
    return [time_major[: int(n), b] for b, n in enumerate(_lengths(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The sequences of a PackedSequence, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return [padded[b, : int(n)] for b, n in enumerate(lengths.array)]


__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]
