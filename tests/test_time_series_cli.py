"""The time-series command line end to end: training with a window, the book's line,
metrics, figures, BPTT made visible, exact resume after Ctrl-C, generate, and errors."""

import json

import numpy as np
import pytest
from cli_checks import one_error_line, usage_error

from models.time_series import cli, training


def train_args(out, *extra):
    return ["train", "--iterations", "30", "--no-progress", "--out", str(out), *extra]


def test_train_prints_the_books_line_and_writes_its_files(tmp_path, capsys):
    folder = tmp_path / "run"
    assert cli.main(train_args(folder, "--variant", "stacked")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("0\tMSE: ") and lines[1].startswith("29\tMSE: ")
    for name in ("checkpoint.safetensors", "metrics.json", "bptt_graph.gv"):
        assert (folder / name).stat().st_size > 0
    for name in ("predictions.png", "bptt_heatmap.png"):
        assert (folder / name).read_bytes()[:4] == b"\x89PNG"
    csv = (folder / "metrics.csv").read_text().splitlines()
    assert csv[0] == "iteration,mse,seconds" and len(csv) == 3
    history = json.loads((folder / "metrics.json").read_text())["history"]
    assert history[-1]["mse"] < history[0]["mse"]
    assert np.array(history[-1]["state_grad_norms"]).shape == (20,)


def test_the_books_figure_14_5_window(tmp_path):
    folder = tmp_path / "run"
    assert cli.main(train_args(folder, "--steps", "5", "--window", "2:4")) == 0
    history = json.loads((folder / "metrics.json").read_text())["history"]
    output_norms = np.array(history[-1]["output_grad_norms"])
    assert np.all(output_norms[:2] == 0) and np.all(output_norms[2:] > 0)
    source = (folder / "bptt_graph.gv").read_text()
    assert source.count("ignored") == 2 and "Y(0)" in source and "Y(4)" in source


def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path, monkeypatch):
    assert cli.main(train_args(tmp_path / "whole")) == 0
    original_train = training.train

    def interrupt(iteration):
        if iteration == 17:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli, "train", lambda config: original_train(config, interrupt))
    with pytest.raises(SystemExit) as stop:
        cli.main(train_args(tmp_path / "split"))
    assert stop.value.code == 130
    monkeypatch.setattr(cli, "train", original_train)
    assert cli.main(train_args(tmp_path / "split", "--resume")) == 0
    whole, _ = training.load_trained(tmp_path / "whole")
    split, _ = training.load_trained(tmp_path / "split")
    for a, b in zip(whole.parameters(), split.parameters()):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    rows = [
        json.loads((tmp_path / run / "metrics.json").read_text())["history"]
        for run in ("whole", "split")
    ]
    assert [r["mse"] for r in rows[0]] == [r["mse"] for r in rows[1]]


def test_generate_draws_the_creative_sequences(tmp_path, capsys):
    folder = tmp_path / "run"
    assert cli.main(train_args(folder)) == 0
    assert cli.main(["generate", "--out", str(folder), "--length", "40"]) == 0
    assert "40 generated values" in capsys.readouterr().out
    assert (folder / "creative.png").read_bytes()[:4] == b"\x89PNG"
    model, config = training.load_trained(folder)
    sequence = training.generate(model, np.zeros(config.steps), 5)
    assert sequence.shape == (25,) and np.all(sequence[:20] == 0)
    assert np.all(np.isfinite(sequence))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--window", "4:2"], "t_min must not exceed t_max"),
        (["train", "--window", "a:b"], "expected t_min:t_max"),
        (["train", "--lr", "nan"], "argument --lr: must be a finite number, got nan"),
        (["train", "--lr", "inf"], "argument --lr: must be a finite number, got inf"),
        (["train", "--iterations", "0"], "argument --iterations: must be positive"),
        (["train", "--variant", "deep"], "invalid choice: 'deep'"),
    ],
)
def test_bad_arguments_get_one_line(argv, message, capsys):
    assert message in usage_error(cli.main, argv, capsys)


def test_run_folder_errors_are_one_line(tmp_path, capsys):
    assert cli.main(train_args(tmp_path / "run", "--steps", "5", "--window", "3:9")) == 1
    assert "does not fit --steps 5" in one_error_line(capsys)
    assert cli.main(train_args(tmp_path / "none", "--resume")) == 1
    assert "nothing to resume" in one_error_line(capsys)
    (tmp_path / "file").write_text("")
    assert cli.main(train_args(tmp_path / "file")) == 1
    assert "existing file" in one_error_line(capsys)
    assert cli.main(["generate", "--out", str(tmp_path / "none")]) == 1
    assert "train first" in one_error_line(capsys)
    assert cli.main(train_args(tmp_path / "run")) == 0
    capsys.readouterr()
    assert cli.main(train_args(tmp_path / "run")) == 1
    assert "pass --resume" in one_error_line(capsys)
    assert cli.main(train_args(tmp_path / "run", "--resume", "--window", "0:3")) == 1
    assert "window ((0, 19) -> (0, 3))" in one_error_line(capsys)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["projection", "stacked"])
def test_the_books_settings_reach_its_mse(tmp_path, variant, capsys):
    """The book: 0.0418 (projection) and 0.0431 (stacked) at iteration 1400."""
    assert cli.main(["train", "--variant", variant, "--no-progress", "--out", str(tmp_path)]) == 0
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    at_1400 = next(row for row in history if row["iteration"] == 1400)
    assert at_1400["mse"] <= 0.05
    assert history[-1]["seconds"] < 120


@pytest.mark.parametrize("variant", ["projection", "stacked"])
def test_the_compiled_default_trains_what_eager_trains(tmp_path, variant):
    assert cli.main(train_args(tmp_path / "compiled", "--variant", variant)) == 0
    assert cli.main(train_args(tmp_path / "eager", "--variant", variant, "--eager")) == 0
    compiled, config = training.load_trained(tmp_path / "compiled")
    eager, _ = training.load_trained(tmp_path / "eager")
    assert config.compiled
    for a, b in zip(compiled.parameters(), eager.parameters()):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
