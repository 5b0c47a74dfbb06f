"""The compiler's CUDA lowering: the compiled step on CuPy (fused kernels, cuBLAS with out=,
CUDA graphs) against the same step on the CPU. Skips without a CUDA device and CuPy."""

import json

import numpy as np
import pytest
from test_compiler import Classifier, training_step

import tinygrad_rnn as tg
from benchmarks import lm_step
from tinygrad_rnn import optim

pytestmark = pytest.mark.gpu


def _train(device, kind, dtype, calls=5, **options):
    model = Classifier(kind, dtype, **options).to(device)
    step = tg.jit(training_step(model, optim.Adam(model.parameters(), lr=0.01)))
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(calls):
        x = tg.tensor(rng.standard_normal((4, 7, 5)), dtype=dtype, device=device)
        labels = tg.tensor(rng.integers(0, 3, 4), device=device)
        losses.append(step(x, labels).item())
    weights = [p.detach().cpu().numpy() for p in model.parameters()]
    return losses, weights, step


@pytest.mark.parametrize(
    ("dtype", "rtol"), [(tg.float64, 1e-10), (tg.float32, 1e-4)], ids=["float64", "float32"]
)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_compiled_steps_on_the_gpu_train_as_on_the_cpu(kind, dtype, rtol):
    """Fused kernels and cuBLAS sum in other orders than NumPy: equal within rounding (float32:
    1e-4 relative after 5 Adam steps; float64: 1e-10)."""
    gpu_losses, gpu_weights, step = _train("cuda", kind, dtype)
    cpu_losses, cpu_weights, _ = _train("cpu", kind, dtype)
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=rtol)
    for a, b in zip(gpu_weights, cpu_weights):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol / 10)
    assert step.graphed == 1


def test_elementwise_statements_are_fused_into_generated_kernels():
    _, _, step = _train("cuda", "RNN", tg.float32, calls=2)
    source = step.source()
    assert "# fused: 2 calls" in source and "# fused: 3 calls" in source  # tanh(a+b), its slope
    assert "kernel" in source


def test_the_language_model_benchmark_runs_on_the_gpu(tmp_path):
    out = tmp_path / "lm.json"
    sizes = ["--sizes", "50", "8", "5", "3"]
    lm_step.main(
        [*sizes, "--device", "cuda", "--repeats", "2", "--no-torch-compile"]
        + [
            "--out",
            str(out),
        ]
    )
    assert "engine compiled (tg.jit)" in json.loads(out.read_text())["timing"]
