"""Data parallelism over MPI, with real ranks: `mpiexec -n 2` and `-n 3` started as subprocesses.

In float64, N ranks with a global batch B end two epochs with the weights of one process with
batch B to 1e-10 (the basic and the LSTM model, uneven splits and a one-row last batch
included); the replicas are bitwise identical, and so are two identical runs. Failures end the
job: a crash or a stalled rank, within seconds or the timeout.
"""

import numpy as np
import pytest
from ddp_program import heads_gradients, train_run
from mpi_run import mpiexec, needs_mpi

pytestmark = needs_mpi

RUNS = {  # what ddp_program's "train" saves, and the one-process run it must equal
    "basic": dict(kind="basic"),
    "lstm": dict(kind="lstm"),
    "basic-jit": dict(kind="basic"),
    "other-seeds": dict(kind="basic"),  # rank r starts from seed 3 + 10 r: DDP takes rank 0's
    "no-sync": dict(kind="basic", batch_size=40, rows=80),
}


def load(path) -> list[np.ndarray]:
    with np.load(path) as file:
        return [file[f"arr_{i}"] for i in range(len(file.files))]


@pytest.fixture(scope="module")
def one_process():
    """The one-process weights for each run name (runs with the same settings shared)."""
    weights = {}

    def run(settings: dict):
        key = tuple(sorted(settings.items()))
        if key not in weights:
            options = dict(settings)
            weights[key] = train_run(options.pop("kind"), False, **options)
        return weights[key]

    return {name: run(settings) for name, settings in RUNS.items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Each world size's saved weights, per run name and rank (one mpiexec job per size)."""
    results = {}
    for ranks in (2, 3):
        out = tmp_path_factory.mktemp(f"ranks{ranks}")
        rc, _, err, _ = mpiexec(ranks, "tests/ddp_program.py", "train", str(out))
        assert rc == 0, err
        results[ranks] = {
            name: [load(out / f"{name}-rank{r}.npz") for r in range(ranks)] for name in RUNS
        }
    return results


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("name", list(RUNS))
def test_ranks_end_with_the_weights_of_one_process(trained, one_process, ranks, name):
    replicas = trained[ranks][name]
    for got, expected in zip(replicas[0], one_process[name]):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    initial = train_run(RUNS[name]["kind"], False, epochs=0)
    moved = [np.abs(a - b).max() for a, b in zip(one_process[name], initial)]
    assert min(moved) > 1e-3  # training moved every weight: the comparison means something
    for other in replicas[1:]:  # every rank holds bitwise the same weights
        for a, b in zip(replicas[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("ranks", [2, 3])
def test_jit_replays_equal_eager_steps_bitwise(trained, ranks):
    for a, b in zip(trained[ranks]["basic-jit"][0], trained[ranks]["basic"][0]):
        np.testing.assert_array_equal(a, b)


def test_two_identical_runs_are_bitwise_identical(trained, tmp_path):
    rc, _, err, _ = mpiexec(2, "tests/ddp_program.py", "train", str(tmp_path))
    assert rc == 0, err
    for name in RUNS:
        for rank in range(2):
            again = load(tmp_path / f"{name}-rank{rank}.npz")
            for a, b in zip(again, trained[2][name][rank]):
                np.testing.assert_array_equal(a, b)


def test_a_parameter_mismatch_raises_the_same_error_on_every_rank(tmp_path):
    rc, _, err, _ = mpiexec(2, "tests/ddp_program.py", "mismatch", str(tmp_path))
    assert rc == 0, err
    messages = {(tmp_path / f"rank{r}.txt").read_text() for r in range(2)}
    assert messages == {
        "DistributedDataParallel needs the same parameters on every rank, but rank 1 has "
        "dense.weight (10, 25) float64 where rank 0 has dense.weight (10, 24) float64"
    }


def test_parameters_unused_on_some_or_all_ranks_are_averaged_without_waiting(tmp_path):
    rc, _, err, _ = mpiexec(2, "tests/ddp_program.py", "unused", str(tmp_path), limit=60)
    assert rc == 0, err
    own = [heads_gradients(rank, ddp=False) for rank in range(2)]
    for rank in range(2):
        got = load(tmp_path / f"unused-rank{rank}.npz")
        for head in range(2):  # rank 1 has no gradient for head 1: it counts as zeros
            np.testing.assert_allclose(got[head], (own[0][head] + own[1][head]) / 2, atol=1e-15)


def test_an_exception_on_one_rank_ends_every_rank_within_seconds(tmp_path):
    rc, _, err, seconds = mpiexec(2, "tests/ddp_program.py", "crash", str(tmp_path), limit=60)
    assert rc != 0
    assert "ValueError: rank 1 fails on purpose" in err  # the message is kept
    assert "[rank 1 of 2] uncaught ValueError" in err
    assert not (tmp_path / "rank0-finished.txt").exists()
    assert seconds < 40, seconds  # the group's timeout is 60 s: the abort hook ended it


def test_a_stalled_rank_makes_the_others_time_out_and_ends_the_job(tmp_path):
    rc, _, err, seconds = mpiexec(2, "tests/ddp_program.py", "stall", str(tmp_path), limit=60)
    assert rc != 0
    assert "DistTimeoutError: rank 0: all_reduce" in err and "timeout 2 s" in err
    assert seconds < 20, seconds  # rank 1 sleeps for 120 s


def test_a_rank_exiting_with_an_error_status_ends_the_job(tmp_path):
    rc, _, err, seconds = mpiexec(2, "tests/ddp_program.py", "exit", str(tmp_path), limit=60)
    assert rc != 0
    assert "[rank 1] exiting before the run ended" in err
    assert seconds < 20, seconds


def test_a_rank_that_dies_before_joining_ends_the_job_within_the_timeout(tmp_path):
    rc, _, err, seconds = mpiexec(2, "tests/ddp_program.py", "early", str(tmp_path), limit=60)
    assert rc != 0
    assert "Timeout (0:00:02)!" in err and "import_mpi" in err  # where rank 0 was stuck
    assert seconds < 20, seconds
