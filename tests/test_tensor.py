"""Tensor's PyTorch-like surface, factories, devices and the errors users see."""

import importlib.util

import numpy as np
import pytest

import tinygrad_rnn as tg


def test_python_floats_become_float32_and_arrays_keep_their_dtype():
    assert tg.tensor([1.0, 2.0]).dtype == np.float32
    assert tg.tensor(3).dtype == np.int64
    assert tg.tensor(np.zeros(2)).dtype == np.float64
    assert tg.tensor([1, 2], dtype=tg.float64).dtype == np.float64
    assert tg.Tensor(np.ones(2, dtype=np.float64)).dtype == np.float32  # the legacy constructor
    assert tg.Tensor(2, 3).shape == (2, 3) and tg.Tensor().shape == (0,)


def test_tensor_copies_while_as_tensor_and_from_numpy_share():
    array = np.zeros(3, dtype=np.float32)
    assert tg.as_tensor(array).array is array
    assert tg.from_numpy(array).array is array
    copied = tg.tensor(array)
    copied.array[0] = 5
    assert array[0] == 0


def test_attributes_and_conversions():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.device == "cpu" and x.is_leaf
    assert x.requires_grad and x.grad is None
    assert x.sum().item() == 10.0
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert isinstance(x.detach().cpu().numpy(), np.ndarray)
    assert x.to("cpu") is x
    assert x.to(tg.float64).dtype == np.float64 and x.double().dtype == np.float64
    assert "requires_grad=True" in repr(x) and repr(x).startswith("tensor(")
    assert "grad_fn=<MulBackward0>" in repr(x * 2)


def test_cast_is_differentiable():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.detach().cpu().numpy(), [3.0, 3.0])


def test_factories():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).detach().cpu().numpy().sum() == 0
    assert tg.ones(4, dtype=tg.float64).dtype == np.float64
    assert tg.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert tg.arange(5).dtype == np.int64 and tg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(0.0, 1.0, 0.5).tolist() == [0.0, 0.5]
    assert tg.zeros_like(tg.ones(2, dtype=tg.float64)).dtype == np.float64
    assert tg.ones_like(tg.ones(3)).tolist() == [1.0, 1.0, 1.0]
    assert tg.randn(3, 4, requires_grad=True).requires_grad


def test_random_factories_are_reproducible_from_a_seed_or_generator():
    np.testing.assert_array_equal(
        tg.randn(5, generator=3).detach().cpu().numpy(),
        tg.randn(5, generator=3).detach().cpu().numpy(),
    )
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    np.testing.assert_array_equal(
        tg.rand(4, generator=rng_a).detach().cpu().numpy(),
        tg.rand(4, generator=rng_b).detach().cpu().numpy(),
    )
    assert tg.rand(100, generator=0).detach().cpu().numpy().min() >= 0


def test_comparisons_and_argmax_carry_no_gradient():
    x = tg.tensor([1.0, 3.0, 2.0], requires_grad=True)
    for result in (x > 1.5, x == 3.0, x <= x, x.argmax()):
        assert not result.requires_grad and result.grad_fn is None
    assert (x > 1.5).tolist() == [False, True, True]
    assert x.argmax().item() == 1


def test_tensors_are_hashable_by_identity():
    x = tg.ones(2)
    assert {x: 1}[x] == 1


def test_dropout_scales_kept_units_and_is_identity_in_eval():
    x = tg.ones(1000, requires_grad=True)
    y = tg.F.dropout(x, p=0.25, training=True, generator=0)
    kept = y.detach().cpu().numpy() != 0
    np.testing.assert_allclose(y.detach().cpu().numpy()[kept], 1 / 0.75)
    assert 0.65 < kept.mean() < 0.85
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().cpu().numpy(), kept / 0.75)
    assert tg.F.dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(
        tg.F.dropout(x, 0.5, generator=7).detach().cpu().numpy(),
        tg.F.dropout(x, 0.5, generator=7).detach().cpu().numpy(),
    )


def test_one_hot_and_nll_loss():
    one_hot = tg.F.one_hot(tg.tensor([2, 0]), 3)
    assert one_hot.dtype == np.int64
    np.testing.assert_array_equal(one_hot.numpy(), [[0, 0, 1], [1, 0, 0]])
    log_probs = tg.tensor([[-1.0, -2.0], [-3.0, -0.5]], requires_grad=True)
    loss = tg.F.nll_loss(log_probs, tg.tensor([1, 0]))
    assert loss.item() == pytest.approx(2.5)
    loss.backward()
    np.testing.assert_allclose(log_probs.grad.detach().cpu().numpy(), [[0, -0.5], [-0.5, 0]])


# ---------------------------------------------------------------- errors


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"\(2x3 and 4x5\)"):
        tg.ones(2, 3) @ tg.ones(4, 5)
    with pytest.raises(RuntimeError, match="at least 1D"):
        tg.tensor(2.0) @ tg.ones(2)


def test_broadcast_mismatch_names_both_sizes():
    with pytest.raises(RuntimeError, match=r"tensor a \(3\) must match .* tensor b \(4\)"):
        tg.ones(2, 3) + tg.ones(4)
    with pytest.raises(RuntimeError, match=r"expanded size of the tensor \(4\).*size \(3\)"):
        tg.ones(3).expand(2, 4)


def test_mixing_devices_names_both():
    a, b = tg.ones(2), tg.ones(2)
    b.device = "cuda"  # only the label matters: the check happens before any array math
    with pytest.raises(RuntimeError, match="cpu and cuda"):
        a + b


@pytest.mark.parametrize(
    ("labels", "error", "pattern"),
    [
        (np.array([0.0, 1.0]), RuntimeError, "target dtype to be Long or Byte, but got float64"),
        (np.array([0, 3]), IndexError, "Target 3 is out of bounds"),
        (np.array([-1, 0]), IndexError, "Target -1 is out of bounds"),
        (np.array([0, 1, 2]), ValueError, r"batch_size \(2\) to match target batch_size \(3\)"),
    ],
)
def test_bad_labels_are_refused(labels, error, pattern):
    with pytest.raises(error, match=pattern):
        tg.F.cross_entropy(tg.ones(2, 3), labels)


def test_unsupported_dtypes_are_refused_by_name():
    with pytest.raises(TypeError, match="unsupported dtype complex128"):
        tg.tensor(np.array([1 + 2j]))
    with pytest.raises(TypeError, match="unsupported dtype"):
        tg.ones(2, dtype=np.dtype("U3"))
    with pytest.raises(TypeError, match="not the string 'float32'"):
        tg.ones(2, dtype="float32")


def test_only_floating_tensors_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2], requires_grad=True)


def test_backward_needs_a_scalar_or_a_grad():
    x = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\[2\].*\[3\]"):
        (x * 2).backward(np.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.ones(1).backward()


def test_unknown_device_is_refused():
    for name in ("tpu", "gpu", "CPU", "cuda:x"):
        with pytest.raises(RuntimeError, match=f"unknown device '{name}'"):
            tg.ones(2, device=name)


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_cuda_without_cupy_says_how_to_get_it():
    assert not tg.cuda_is_available()
    with pytest.raises(RuntimeError, match="needs CuPy"):
        tg.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="needs CuPy"):
        tg.ones(2).to("cuda")


def test_gradcheck_reports_the_worst_element():
    class WrongSquare(tg.autograd.Function):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, grad):
            return (grad * self.a,)  # should be 2 * a

    from tinygrad_rnn.dispatch import apply as _apply

    x = tg.tensor([1.0, 3.0, 2.0], requires_grad=True)
    with pytest.raises(
        tg.GradcheckError, match=r"input 0 \(shape \(3,\)\) at index \(\d,\): backward gives -?\d"
    ):
        tg.gradcheck(lambda t: _apply(WrongSquare, t), [x])
    with pytest.raises(tg.GradcheckError, match="random direction"):
        tg.gradcheck(lambda t: _apply(WrongSquare, t), [x], directional=True)
    assert tg.gradcheck(lambda t: t * t, [x], directional=True)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
def test_python_numbers_out_of_an_integer_dtypes_range_are_refused_as_pytorch(dtype):
    torch = pytest.importorskip("torch")
    values = [
        [-1],
        [-129],
        [-256],
        [255],
        [256],
        [128],
        [-0.2],
        [-1.0],
        [255.9],
        [float("nan")],
        [float("inf")],
        [2**31],
        [-(2**31) - 1],
        [2**63 - 1],
        [True],
        [[1, 2], [3, 300]],
        [],
    ]
    for value in values:
        outcomes = []
        for lib in (tg, torch):
            try:
                outcomes.append(lib.tensor(value, dtype=getattr(lib, dtype)).tolist())
            except RuntimeError:
                outcomes.append(RuntimeError)
        assert outcomes[0] == outcomes[1], value
