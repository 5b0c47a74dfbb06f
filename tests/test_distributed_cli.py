"""`mpiexec -n 2 python -m models.mnist_rnn train --distributed` end to end, on synthetic digits:
Ctrl-C saves (rank 0) and exits 130, a resume with 2 ranks ends bitwise where an uninterrupted
run ends, a resume in one process ends there up to float32 rounding, and starting under
mpiexec without --distributed is refused."""

import json

import numpy as np
import pytest
from mpi_run import mpiexec, needs_mpi
from test_mnist_cli import synthetic, train_args, weights

import tinygrad_rnn as tg
from models.mnist_rnn import cli, training

pytestmark = needs_mpi


def run(ranks: int, out, *extra: str, interrupt_at: str | None = None):
    """The command line under mpiexec; returns (rc, stdout, stderr)."""
    env = {"INTERRUPT_AT": interrupt_at} if interrupt_at else None
    argv = train_args(out, "--distributed", *extra)
    rc, printed, errors, _ = mpiexec(ranks, "tests/mnist_cli_program.py", *argv, env=env)
    return rc, printed, errors


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    rc, printed, errors = run(2, folder)
    assert rc == 0, errors
    return folder, printed


def interrupted(folder):
    """A 2-rank run that gets Ctrl-C after epoch 1, batch 2: it must save and exit 130."""
    rc, printed, errors = run(2, folder, interrupt_at="1,2")
    assert rc == 130, errors
    assert printed.count("interrupted: saved") == 1  # rank 0 alone reports and saves
    state = tg.load(folder / training.CHECKPOINT)
    assert state["epoch"] == 1 and 3 <= state["batch"] < 9
    return state


def test_rank_zero_alone_reports_and_writes(uninterrupted):
    folder, printed = uninterrupted
    assert printed.count("Validation accuracy") == 2  # one line per epoch, not per rank
    assert printed.count("test accuracy") == 1
    assert "2 ranks (mpi), 1 BLAS thread(s) each" in printed
    history = json.loads((folder / "metrics.json").read_text())["history"]
    assert len(history) == 2 and history[-1]["test_accuracy"] > 0.5
    assert (folder / "curves.png").stat().st_size > 0
    assert not list(folder.glob(".*.tmp*"))  # written atomically: no temporary files left


def test_interrupted_and_resumed_with_two_ranks_equals_an_uninterrupted_run(
    uninterrupted, tmp_path
):
    interrupted(tmp_path)
    rc, _, errors = run(2, tmp_path, "--resume", "--seed", "7")
    assert rc == 1 and errors.count("seed (42 -> 7)") == 2  # rank 0's error, on every rank
    rc, printed, errors = run(2, tmp_path, "--resume")
    assert rc == 0, errors
    assert printed.count("resuming") == 1
    for a, b in zip(weights(uninterrupted[0]), weights(tmp_path)):
        np.testing.assert_array_equal(a, b)


def test_interrupted_with_two_ranks_and_resumed_in_one_process(
    uninterrupted, tmp_path, monkeypatch
):
    interrupted(tmp_path)
    monkeypatch.setattr(training, "load_dataset", lambda name, split: synthetic(split))
    monkeypatch.setattr(cli, "load_dataset", lambda name, split: synthetic(split))
    assert cli.main(train_args(tmp_path, "--resume")) == 0
    for a, b in zip(weights(uninterrupted[0]), weights(tmp_path)):
        # one process sums the global batch in another order: float32 rounding, which
        # Adam amplifies to ~1e-5 on weights of ~0.1 (a 2-rank run against 1 process too)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)


def test_started_by_mpiexec_without_distributed_is_refused(tmp_path):
    argv = train_args(tmp_path / "run")
    rc, _, errors, _ = mpiexec(2, "tests/mnist_cli_program.py", *argv, limit=60)
    assert rc == 1
    assert errors.count("without --distributed") == 2  # each rank says why it stops
    assert not (tmp_path / "run").exists()


def test_jit_with_two_ranks_equals_eager_bitwise(uninterrupted, tmp_path):
    rc, _, errors = run(2, tmp_path, "--jit")
    assert rc == 0, errors
    for a, b in zip(weights(uninterrupted[0]), weights(tmp_path)):
        np.testing.assert_array_equal(a, b)
