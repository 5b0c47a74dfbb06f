"""Bidirectional layers, LSTM projections, unbatched input and packed variable-length batches,
against PyTorch from the same weights (float64), and against finite differences."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils import rnn as rnn_utils

torch = pytest.importorskip("torch")

KINDS = ["RNN", "LSTM", "GRU"]


def pair(kind: str, seed: int, **kwargs):
    """A PyTorch layer and ours with its weights, both float64."""
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, kind)(3, 4, **kwargs).double()
    ours = getattr(nn, kind)(3, 4, **kwargs).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def first(state):
    return state[0] if isinstance(state, tuple) else state


def assert_same_gradients(ours, theirs, x_ours, x_theirs):
    params = dict(ours.named_parameters())
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(
            params[name].grad.numpy(), parameter.grad.numpy(), atol=1e-12, err_msg=name
        )
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
@given(
    layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    projected=st.booleans(),
    steps=st.integers(1, 5),
    batch=st.integers(0, 3),
    seed=st.integers(0, 1000),
)
def test_padded_layers_match_pytorch(
    kind, batch_first, layers, bidirectional, projected, steps, batch, seed
):
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    if kind == "LSTM" and projected:
        kwargs["proj_size"] = 2
    ours, theirs = pair(kind, seed, **kwargs)
    shape = (batch, steps, 3) if batch_first else (steps, batch, 3)
    x = np.random.default_rng(seed).standard_normal(shape)
    x_ours, x_theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, state_ours = ours(x_ours)
    out_theirs, state_theirs = theirs(x_theirs)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), atol=1e-12)
    for mine, reference in zip(
        state_ours if kind == "LSTM" else [state_ours],
        state_theirs if kind == "LSTM" else [state_theirs],
    ):
        np.testing.assert_allclose(mine.detach().numpy(), reference.detach().numpy(), atol=1e-12)
    weights = np.random.default_rng(seed + 1).standard_normal(out_ours.shape)
    ((out_ours * tg.tensor(weights)).sum() + first(state_ours).sum()).backward()
    ((out_theirs * torch.tensor(weights)).sum() + first(state_theirs).sum()).backward()
    if batch:
        assert_same_gradients(ours, theirs, x_ours, x_theirs)


@pytest.mark.parametrize("kind", KINDS)
@given(
    lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    bidirectional=st.booleans(),
    with_state=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_packed_sequences_match_pytorch(kind, lengths, bidirectional, with_state, seed):
    ours, theirs = pair(kind, seed, num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((max(lengths), len(lengths), 3))
    x_ours, x_theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    packed_ours = rnn_utils.pack_padded_sequence(x_ours, lengths, enforce_sorted=False)
    packed_theirs = torch.nn.utils.rnn.pack_padded_sequence(x_theirs, lengths, enforce_sorted=False)
    assert packed_ours.batch_sizes.tolist() == packed_theirs.batch_sizes.tolist()
    hx_ours = hx_theirs = None
    if with_state:
        h0 = rng.standard_normal((2 * (1 + bidirectional), len(lengths), 4))
        hx_ours, hx_theirs = tg.tensor(h0), torch.tensor(h0)
        if kind == "LSTM":
            hx_ours, hx_theirs = (hx_ours, hx_ours * 2), (hx_theirs, hx_theirs * 2)
    out_ours, state_ours = ours(packed_ours, hx_ours)
    out_theirs, state_theirs = theirs(packed_theirs, hx_theirs)
    padded_ours, lengths_ours = rnn_utils.pad_packed_sequence(out_ours, batch_first=True)
    padded_theirs, lengths_theirs = torch.nn.utils.rnn.pad_packed_sequence(
        out_theirs, batch_first=True
    )
    assert lengths_ours.tolist() == lengths_theirs.tolist() == lengths
    np.testing.assert_allclose(
        padded_ours.detach().numpy(), padded_theirs.detach().numpy(), atol=1e-12
    )
    np.testing.assert_allclose(
        first(state_ours).detach().numpy(), first(state_theirs).detach().numpy(), atol=1e-12
    )
    weights = rng.standard_normal(padded_ours.shape)
    ((padded_ours * tg.tensor(weights)).sum() + first(state_ours).sum()).backward()
    ((padded_theirs * torch.tensor(weights)).sum() + first(state_theirs).sum()).backward()
    assert_same_gradients(ours, theirs, x_ours, x_theirs)
    for b, length in enumerate(lengths):  # padded steps receive no gradient
        assert not x_ours.grad.numpy()[length:, b].any()


@given(lengths=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=st.integers(0, 100))
def test_packed_lstm_gradients_match_finite_differences(lengths, seed):
    layer = nn.LSTM(2, 3, bidirectional=True, generator=seed).double()
    x = tg.tensor(
        np.random.default_rng(seed).standard_normal((max(lengths), len(lengths), 2)),
        requires_grad=True,
    )

    def run(inputs):
        packed = rnn_utils.pack_padded_sequence(inputs, lengths, enforce_sorted=False)
        output, (h_n, _) = layer(packed)
        padded, _ = rnn_utils.pad_packed_sequence(output)
        return (padded * padded).sum() + h_n.sum()

    assert tg.gradcheck(run, [x])
    assert tg.gradcheck(lambda w: run(x), [layer.weight_hh_l0_reverse], directional=True)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_matches_pytorch(kind):
    ours, theirs = pair(kind, 3, num_layers=2, bidirectional=True)
    x = np.random.default_rng(3).standard_normal((5, 3))
    out_ours, state_ours = ours(tg.tensor(x))
    out_theirs, state_theirs = theirs(torch.tensor(x))
    assert out_ours.shape == tuple(out_theirs.shape) == (5, 8)
    assert first(state_ours).shape == tuple(first(state_theirs).shape) == (4, 4)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), atol=1e-12)


def test_padding_helpers_match_pytorch():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    for kwargs in ({}, {"batch_first": True, "padding_value": -1.0}, {"padding_side": "left"}):
        np.testing.assert_array_equal(
            rnn_utils.pad_sequence(ours, **kwargs).detach().numpy(),
            torch.nn.utils.rnn.pad_sequence(theirs, **kwargs).detach().numpy(),
        )
    packed_ours = rnn_utils.pack_sequence(ours, enforce_sorted=False)
    packed_theirs = torch.nn.utils.rnn.pack_sequence(theirs, enforce_sorted=False)
    np.testing.assert_array_equal(
        packed_ours.data.detach().numpy(), packed_theirs.data.detach().numpy()
    )
    assert packed_ours.sorted_indices.tolist() == packed_theirs.sorted_indices.tolist()
    assert packed_ours.unsorted_indices.tolist() == packed_theirs.unsorted_indices.tolist()
    for mine, reference in zip(
        rnn_utils.unpack_sequence(packed_ours), torch.nn.utils.rnn.unpack_sequence(packed_theirs)
    ):
        np.testing.assert_array_equal(mine.detach().numpy(), reference.detach().numpy())
    padded, lengths = rnn_utils.pad_packed_sequence(packed_ours, total_length=7)
    assert padded.shape == (7, 3, 2) and lengths.tolist() == [3, 5, 1]


def test_packing_refuses_what_pytorch_refuses():
    x = tg.zeros(4, 2, 3)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(x, [2, 4])
    with pytest.raises(RuntimeError, match="greater than 0"):
        rnn_utils.pack_padded_sequence(x, [4, 0])
    packed = rnn_utils.pack_padded_sequence(x, [4, 2])
    with pytest.raises(ValueError, match="total_length"):
        rnn_utils.pad_packed_sequence(packed, total_length=3)


def test_layer_arguments_are_checked_as_pytorch_checks_them():
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(TypeError, match="nonlinearity"):
        nn.LSTM(3, 4, nonlinearity="relu")
    layer = nn.LSTM(3, 4, bidirectional=True)
    layer.flatten_parameters()
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 5, 4\)"):
        layer(tg.zeros(2, 5, 3), (tg.zeros(1, 5, 4), tg.zeros(1, 5, 4)))
    assert "bidirectional=True" in repr(layer)
