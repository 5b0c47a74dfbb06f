"""Tensors print as PyTorch prints them (numbers, widths, wrapping, summaries, suffixes), with
PyTorch's print options; dtype names print short (float64 where PyTorch says torch.float64)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import printing

torch = pytest.importorskip("torch")


def _same_text(make):
    ours, theirs = repr(make(tg)), repr(make(torch)).replace("torch.", "")
    assert ours == theirs


@pytest.fixture(autouse=True)
def _default_options():
    yield
    for lib in (tg, torch):
        lib.set_printoptions(profile="default", sci_mode=None)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.tensor([[-1.3502, -1.5037, -1.37, -1.3303]]),
        lambda lib: lib.tensor(3.5),
        lambda lib: lib.tensor([1.0, 2.0, 3.0]),
        lambda lib: lib.zeros(1, 20),
        lambda lib: lib.arange(40),
        lambda lib: lib.tensor([1e-5, 1.0]),
        lambda lib: lib.tensor([1e9, 1.0, 3.0]),
        lambda lib: lib.tensor([float("nan"), float("inf"), -float("inf"), 1.5]),
        lambda lib: lib.tensor([True, False]),
        lambda lib: lib.arange(2000.0).reshape(40, 50) / 3,
        lambda lib: lib.arange(3000),
        lambda lib: lib.zeros(0, 3),
        lambda lib: lib.zeros(0, dtype=lib.float64),
        lambda lib: lib.zeros(0, 2, dtype=lib.int64),
        lambda lib: lib.zeros(0, dtype=lib.bool),
        lambda lib: lib.tensor([[0, 255], [7, 3]], dtype=lib.uint8),
        lambda lib: lib.tensor([1, 2], dtype=lib.int32),
        lambda lib: lib.tensor([1.5, 2.0], requires_grad=True),
        lambda lib: lib.tensor([1.5, 2.0], requires_grad=True) * 2,
        lambda lib: (lib.arange(16.0, dtype=lib.float64).reshape(2, 8) / 3).requires_grad_(),
        lambda lib: lib.tensor([1.5, 2.25], dtype=lib.float16),
    ],
)
def test_everyday_tensors_print_as_pytorch(make):
    _same_text(make)


@given(
    st.lists(st.integers(0, 5), min_size=0, max_size=3),
    st.sampled_from([1e-6, 1e-3, 1.0, 1e3, 1e9]),
    st.integers(0, 2**16),
)
def test_drawn_tensors_print_as_pytorch(shape, scale, seed):
    values = np.random.default_rng(seed).standard_normal(shape) * scale
    _same_text(lambda lib: lib.tensor(values, dtype=lib.float32))
    _same_text(lambda lib: lib.tensor(np.round(values * 3), dtype=lib.float64))


@pytest.mark.parametrize(
    "options",
    [
        {"precision": 2},
        {"profile": "short"},
        {"profile": "full"},
        {"sci_mode": True},
        {"sci_mode": False},
        {"linewidth": 40, "threshold": 10, "edgeitems": 1},
    ],
)
def test_print_options_as_pytorch(options):
    for lib in (tg, torch):
        lib.set_printoptions(**options)
    _same_text(lambda lib: lib.arange(1200.0).reshape(30, 40) / 7)
    _same_text(lambda lib: lib.tensor([1e-5, 2.5, 300.0]))


def test_a_nodes_name_is_pytorchs_form():
    node = (tg.ones(1, requires_grad=True) * 2).grad_fn
    assert node.name() == "MulBackward0" and repr(node).startswith("<MulBackward0 object at")
    with pytest.raises(ValueError, match="Invalid profile"):
        printing.set_printoptions(profile="long")
