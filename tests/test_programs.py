"""Five PyTorch RNN programs, written as PyTorch users write them (tests/programs/), run with no
line changed on PyTorch itself and through `python -m tinygrad_rnn.run`: the same losses,
step by step. Each program draws its starting weights with NumPy, so both start alike."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

PROGRAMS = Path(__file__).parent / "programs"
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")

CASES = {
    "word_lm": (["--dropout", "0"], 1e-4),  # dropout draws from each library's own stream
    "bilstm_tagger": ([], 1e-4),
    "seq2seq_attention": ([], 1e-4),
    "lstmcell_lbfgs": ([], 1e-7),  # float64 throughout
    "lstm_classifier": ([], 1e-4),
}


def run(command: list[str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, *command], capture_output=True, text=True, timeout=300, cwd=PROGRAMS
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_pytorch_program_runs_unchanged_and_matches_pytorch(name):
    args, tolerance = CASES[name]
    script = str(PROGRAMS / f"{name}.py")
    theirs = run([script, *args])
    ours = run(["-m", "tinygrad_rnn.run", script, *args])
    assert len(ours) == len(theirs) > 3
    for mine, reference in zip(ours, theirs):
        assert NUMBER.sub("#", mine) == NUMBER.sub("#", reference)  # the same lines
        np.testing.assert_allclose(
            [float(n) for n in NUMBER.findall(mine)],
            [float(n) for n in NUMBER.findall(reference)],
            rtol=tolerance,
            atol=tolerance,
            err_msg=f"{name}: {mine!r} vs {reference!r}",
        )


TUTORIALS = sorted((PROGRAMS / "tutorials").glob("*.py"))


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda path: path.stem)
def test_a_tutorial_style_program_runs_unchanged_through_the_runner(script, tmp_path):
    """Programs in the style of well-known PyTorch tutorials and blog posts (their own
    idioms: legacy types, in-place shape methods, Categorical, manual SGD on .data, ...):
    they run to the end through the runner, in a folder of their own (some save files)."""
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_rnn.run", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "not supported" not in done.stderr
    assert done.stdout.strip()


def test_pytorchs_word_language_model_example_runs_unchanged_through_the_runner(tmp_path):
    """A project laid out as pytorch/examples' word_language_model (data.py, model.py, main.py
    and generate.py): trains, saves the whole model, and generate.py loads it and samples."""
    project = PROGRAMS / "tutorials" / "word_language_model"
    options = ["--model", "LSTM", "--emsize", "32", "--nhid", "32", "--epochs", "2", "--tied"]
    save = str(tmp_path / "model.pt")
    for script, args in (
        ("main.py", [*options, "--bptt", "10", "--dry-run", "--save", save]),
        ("generate.py", ["--checkpoint", save, "--outf", str(tmp_path / "generated.txt")]),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "tinygrad_rnn.run", str(project / script), *args],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=project,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "generated.txt").read_text().split()
