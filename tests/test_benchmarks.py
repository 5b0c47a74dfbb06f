"""The benchmarks run end to end at a tiny size; their built-in equality checks must pass."""

import json

from benchmarks import bench_engine, bench_gpu, rnn_step


def test_engine_benchmark_runs_and_checks_the_gradients(tmp_path):
    result = bench_engine.main(["--repeats", "2", "--out", str(tmp_path / "engine.json")])
    assert result["rnn"]["max_grad_diff"] < 1e-5
    assert "matmul" in json.loads((tmp_path / "engine.json").read_text())["ops"]


def test_training_step_benchmark_runs_every_variant(tmp_path):
    out = tmp_path / "step.json"
    rnn_step.main(
        ["--repeats", "2", "--batches", "8", "--lengths", "3", "6", "--no-epoch", "--out", str(out)]
        + ["--plot"]
    )
    assert out.with_suffix(".png").stat().st_size > 10_000
    steps = json.loads(out.read_text())["steps"]["8"]
    assert {"engine eager", "engine jit (capture + replay)", "numpy floor"} <= set(steps)


def test_gpu_benchmark_dry_runs_on_the_cpu_with_every_loss_checked(tmp_path):
    out = tmp_path / "gpu.json"
    bench_gpu.main(["--device", "cpu", "--repeats", "2", "--batches", "8", "--out", str(out)])
    timing = json.loads(out.read_text())["8"]
    assert {"engine eager", "engine jit", "floor"} <= set(timing)
