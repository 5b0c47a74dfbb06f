"""The op table on "cuda" against "cpu" (skipped where no CUDA device is present)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_table import CASES

import tinygrad_rnn as tg

pytestmark = pytest.mark.gpu


def _run(case, arrays, kwargs, device):
    inputs = [tg.tensor(a, requires_grad=True, device=device) for a in arrays]
    kwargs = {
        k: tg.tensor(v, device=device) if isinstance(v, np.ndarray) else v
        for k, v in kwargs.items()
    }
    out = case.op(*inputs, **kwargs)
    out.backward(tg.ones(out.shape, dtype=out.dtype, device=device))
    return out.detach().cpu().numpy(), [x.grad.detach().cpu().numpy() for x in inputs]


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(data=st.data())
def test_op_matches_cpu_in_float64(case, data):
    arrays, kwargs = case.draw(data)
    out_cpu, grads_cpu = _run(case, arrays, kwargs, "cpu")
    out_gpu, grads_gpu = _run(case, arrays, kwargs, "cuda")
    np.testing.assert_allclose(out_gpu, out_cpu, rtol=1e-10, atol=1e-12)
    for grad_gpu, grad_cpu in zip(grads_gpu, grads_cpu):
        np.testing.assert_allclose(grad_gpu, grad_cpu, rtol=1e-10, atol=1e-12)


def test_tensor_moves_between_devices_with_its_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda" and type(y.array).__module__.startswith("cupy")
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.detach().cpu().numpy(), [2.0, 4.0])
    assert x.grad.device == "cpu"


def test_mixing_devices_is_refused():
    with pytest.raises(RuntimeError, match="cpu and cuda"):
        tg.ones(2) + tg.ones(2, device="cuda")


def test_labels_out_of_range_are_refused_on_the_gpu():
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        tg.F.cross_entropy(tg.ones(2, 3, device="cuda"), tg.tensor([0, 5], device="cuda"))


def test_default_device_switch():
    tg.set_default_device("cuda")
    try:
        assert tg.zeros(2).device == "cuda" and tg.randn(3, generator=0).device == "cuda"
    finally:
        tg.set_default_device("cpu")
