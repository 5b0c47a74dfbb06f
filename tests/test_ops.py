"""The op table, checked forward against NumPy and backward against finite differences."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_table import CASES

import tinygrad_rnn as tg


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(data=st.data())
def test_forward_matches_numpy_and_leaves_inputs_alone(case, data):
    arrays, kwargs = case.draw(data)
    originals = [a.copy() for a in arrays]
    out = case.op(*[tg.tensor(a, requires_grad=True) for a in arrays], **kwargs)
    expected = case.reference(*arrays, **kwargs)
    assert out.shape == np.shape(expected)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected, rtol=1e-12, atol=1e-12)
    out.backward(np.ones(out.shape))
    for array, original in zip(arrays, originals):
        np.testing.assert_array_equal(array, original)


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(data=st.data())
def test_backward_matches_finite_differences(case, data):
    arrays, kwargs = case.draw(data)
    inputs = [tg.tensor(a, requires_grad=True) for a in arrays]
    assert tg.gradcheck(
        lambda *xs: case.op(*xs, **kwargs), inputs, seed=data.draw(st.integers(0, 99))
    )


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(data=st.data())
def test_float32_in_float32_out_and_gradients(case, data):
    arrays, kwargs = case.draw(data)
    inputs = [tg.tensor(a, dtype=tg.float32, requires_grad=True) for a in arrays]
    out = case.op(*inputs, **kwargs)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    for x in inputs:
        assert x.grad is not None and x.grad.dtype == np.float32 and x.grad.shape == x.shape
