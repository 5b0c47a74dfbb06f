"""The benchmarks run end to end at a tiny size; their built-in equality checks must pass."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import bench_engine, bench_gpu, lm_step, lstm_step, numpy_rnn, rnn_step


def test_engine_benchmark_runs_and_checks_the_gradients(tmp_path):
    result = bench_engine.main(["--repeats", "2", "--out", str(tmp_path / "engine.json")])
    assert result["rnn"]["max_grad_diff"] < 1e-5
    assert "matmul" in json.loads((tmp_path / "engine.json").read_text())["ops"]


def test_training_step_benchmark_runs_every_variant(tmp_path):
    out = tmp_path / "step.json"
    rnn_step.main(
        ["--repeats", "2", "--batches", "8", "--lengths", "3", "6", "--no-epoch", "--out", str(out)]
        + ["--plot", "--no-peers", "--long", "4", "5", "1"]
    )
    assert out.with_suffix(".png").stat().st_size > 10_000
    result = json.loads(out.read_text())
    assert {"engine eager", "engine compiled (tg.jit)", "numpy floor"} <= set(result["steps"]["8"])
    assert result["lengths"]["6"]["engine compiled"]["compile_seconds"] > 0
    assert "numpy floor" in result["long"]


def test_gpu_benchmark_dry_runs_on_the_cpu_with_every_loss_checked(tmp_path):
    out = tmp_path / "gpu.json"
    bench_gpu.main(["--device", "cpu", "--repeats", "2", "--batches", "8", "--out", str(out)])
    timing = json.loads(out.read_text())["8"]
    assert {"engine eager", "engine jit", "floor"} <= set(timing)


@settings(max_examples=15)
@given(batch=st.integers(1, 5), steps=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_the_buffered_floor_computes_the_floors_loss_and_gradients(batch, steps, seed):
    rng = np.random.default_rng(seed)
    params = numpy_rnn.init_params(3, 4, 5, seed=seed, dtype=np.float64)
    x, labels = rng.standard_normal((batch, steps, 3)), rng.integers(0, 5, batch)
    buffered = numpy_rnn.BufferedBPTT()
    for _ in range(2):  # the second call reuses the buffers
        loss, grads = buffered.loss_and_grads(params, x, labels)
        want_loss, want = numpy_rnn.loss_and_grads(params, x, labels)
        assert loss == pytest.approx(want_loss, rel=1e-12)
        for name, value in want.items():
            np.testing.assert_allclose(grads[name], value, rtol=1e-10, atol=1e-14)


def test_distributed_benchmark_runs_as_a_world_of_one(tmp_path, monkeypatch):
    from benchmarks import bench_distributed

    monkeypatch.setattr(bench_distributed, "limit_blas_threads", lambda ranks: 1)
    out = tmp_path / "distributed.json"
    options = ["--models", "basic", "--batch-size", "8", "--steps", "2", "--warmup", "1"]
    bench_distributed.main([*options, "--out", str(out)])
    (result,) = json.loads(out.read_text())["results"]
    assert result["ranks"] == 1 and result["rows_per_rank"] == 8
    assert 0 < result["sync_ms"] < result["step_ms"]


def test_language_model_benchmark_runs_small_with_every_loss_checked(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "lm.json"
    sizes = ["--sizes", "50", "8", "5", "3"]
    lm_step.main([*sizes, "--repeats", "2", "--no-torch-compile", "--out", str(out)])
    timing = json.loads(out.read_text())["timing"]
    assert {"engine eager", "engine compiled (tg.jit)", "torch eager"} <= set(timing)


def test_lstm_benchmark_runs_small_with_every_loss_checked(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "lstm.json"
    lstm_step.main(["--batch", "4", "--repeats", "2", "--out", str(out)])
    timing = json.loads(out.read_text())["timing"]
    assert set(timing) == {"engine eager", "engine compiled (tg.jit)", "torch eager, fused nn.LSTM"}
