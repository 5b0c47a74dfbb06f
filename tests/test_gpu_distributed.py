"""The NCCL backend on GPUs, with `mpiexec -n 1` and, where the machine has more GPUs, one rank
per GPU: collectives on CuPy arrays, DDP training (eager and jit) equal to one CPU process in
float64, and the MPI backend moving CuPy arrays through pinned host memory."""

import numpy as np
import pytest
from ddp_program import train_run
from mpi_run import mpiexec, needs_mpi

pytestmark = [pytest.mark.gpu, needs_mpi]


def gpu_count() -> int:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no CuPy, no driver: the gpu mark skips these tests anyway
        return 0


def load(path) -> list[np.ndarray]:
    with np.load(path) as file:
        return [file[f"arr_{i}"] for i in range(len(file.files))]


@pytest.mark.parametrize("ranks", sorted({1, max(gpu_count(), 1)}))
def test_nccl_backend_trains_as_one_cpu_process(tmp_path, ranks):
    from cupy.cuda import nccl

    if not nccl.available:
        pytest.skip("CuPy finds no NCCL library: pip install nvidia-nccl-cu12")
    rc, _, err, _ = mpiexec(ranks, "tests/ddp_program.py", "cuda", str(tmp_path), limit=300)
    assert rc == 0, err
    expected = train_run("basic", False)
    values = np.arange(1.0, ranks + 1)
    for rank in range(ranks):
        total, mean, largest, broadcast = load(tmp_path / f"cuda-collectives-rank{rank}.npz")
        np.testing.assert_allclose(total, [values.sum(), -values.sum() + ranks])
        np.testing.assert_allclose(mean, [values.mean(), -(values - 1).mean()])
        np.testing.assert_allclose(largest, [ranks, 0])
        np.testing.assert_array_equal(broadcast, [ranks - 1] * 3)
        for name in ("cuda-basic", "cuda-basic-jit"):
            for got, want in zip(load(tmp_path / f"{name}-rank{rank}.npz"), expected):
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
        staged, *weights = load(tmp_path / f"cuda-over-mpi-rank{rank}.npz")
        np.testing.assert_allclose(staged, [values.sum(), -values.sum() + ranks])
        for got, want in zip(weights, expected):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
