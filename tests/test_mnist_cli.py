"""The command line end to end on a small synthetic data set: training, metrics, checkpoints,
exact resume after Ctrl-C, evaluate, predict and argument errors."""

import json

import numpy as np
import pytest
from cli_checks import one_error_line, usage_error

from models.mnist_rnn import cli, training


def synthetic(split):
    """Digits as one bright row whose position is the label (learnable in a few batches)."""
    size = 5_600 if split == "train" else 300
    rng = np.random.default_rng(0 if split == "train" else 1)
    labels = rng.integers(0, 10, size)
    images = rng.integers(0, 40, (size, 28, 28)).astype(np.uint8)
    images[np.arange(size), 2 * labels + 4] = 250
    return images, labels.astype(np.int64)


@pytest.fixture(autouse=True)
def fake_data(monkeypatch):
    monkeypatch.setattr(training, "load_dataset", lambda name, split: synthetic(split))
    monkeypatch.setattr(cli, "load_dataset", lambda name, split: synthetic(split))


def train_args(out, *extra):
    return [
        "train",
        "--limit",
        "450",
        "--epochs",
        "2",
        "--batch-size",
        "50",
        "--no-progress",
        "--out",
        str(out),
        *extra,
    ]


def weights(folder):
    model, _ = training.load_trained(folder / training.CHECKPOINT)
    return [p.detach().cpu().numpy() for p in model.parameters()]


def test_train_writes_metrics_plots_and_a_checkpoint(tmp_path, capsys):
    assert cli.main(train_args(tmp_path / "run")) == 0
    printed = capsys.readouterr().out
    assert "Last batch accuracy" in printed and "Validation accuracy" in printed
    folder = tmp_path / "run"
    for name in (
        "checkpoint.safetensors",
        "metrics.csv",
        "metrics.json",
        "curves.png",
        "grad_norms.png",
    ):
        assert (folder / name).stat().st_size > 0
    lines = (folder / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,train_loss,last_batch_accuracy") and len(lines) == 3
    history = json.loads((folder / "metrics.json").read_text())["history"]
    assert history[-1]["test_accuracy"] > 0.5  # the bright row is easy to learn
    assert np.array(history[-1]["grad_norms"]).shape == (1, 28)
    assert (folder / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path, monkeypatch):
    assert cli.main(train_args(tmp_path / "whole")) == 0

    original_train = training.train

    def interrupt_at(epoch, batch):
        if (epoch, batch) == (1, 3):
            raise KeyboardInterrupt

    monkeypatch.setattr(cli, "train", lambda config: original_train(config, interrupt_at))
    with pytest.raises(SystemExit) as stop:
        cli.main(train_args(tmp_path / "split"))
    assert stop.value.code == 130
    monkeypatch.setattr(cli, "train", original_train)
    assert cli.main(train_args(tmp_path / "split", "--resume")) == 0

    for a, b in zip(weights(tmp_path / "whole"), weights(tmp_path / "split")):
        np.testing.assert_array_equal(a, b)
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())["history"]
    split = json.loads((tmp_path / "split" / "metrics.json").read_text())["history"]
    for row_whole, row_split in zip(whole, split):
        for key in ("train_loss", "last_batch_accuracy", "valid_accuracy", "test_accuracy"):
            assert row_whole[key] == row_split[key]


def test_jit_training_equals_eager_training(tmp_path):
    """Compiled (the default, and the older --jit) and --eager train the same weights."""
    assert cli.main(train_args(tmp_path / "eager", "--eager")) == 0
    assert cli.main(train_args(tmp_path / "jit", "--jit")) == 0
    assert cli.main(train_args(tmp_path / "compiled")) == 0
    for a, b, c in zip(*(weights(tmp_path / name) for name in ("eager", "jit", "compiled"))):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_resume_with_other_settings_and_overwriting_are_refused(tmp_path, capsys):
    assert cli.main(train_args(tmp_path / "run")) == 0
    assert cli.main(train_args(tmp_path / "run")) == 1
    assert "pass --resume" in capsys.readouterr().err
    assert cli.main(train_args(tmp_path / "run", "--resume", "--seed", "7")) == 1
    assert "seed (42 -> 7)" in capsys.readouterr().err


def test_evaluate_and_predict(tmp_path, capsys):
    folder = tmp_path / "run"
    assert cli.main(train_args(folder)) == 0
    capsys.readouterr()
    assert cli.main(["evaluate", "--out", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "confusion matrix" in printed
    matrix = np.array([line.split()[1:] for line in printed.splitlines()[-10:]], dtype=int)
    assert matrix.sum() == 300

    import matplotlib.image

    image, label = synthetic("test")[0][0], synthetic("test")[1][0]
    matplotlib.image.imsave(tmp_path / "digit.png", image, cmap="gray", vmin=0, vmax=255)
    assert cli.main(["predict", "--out", str(folder), "0", str(tmp_path / "digit.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"test[0] (label {label}): ")
    assert lines[1].startswith(str(tmp_path / "digit.png"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--epochs", "0"], "argument --epochs: must be positive, got 0"),
        (["train", "--lr", "fast"], "argument --lr: expected a number, got 'fast'"),
        (["train", "--lr", "nan"], "argument --lr: must be a finite number, got nan"),
        (["train", "--lr", "inf"], "argument --lr: must be a finite number, got inf"),
        (["train", "--lr=-1e400"], "argument --lr: must be a finite number, got -1e400"),
        (["train", "--model", "gru"], "argument --model: invalid choice: 'gru'"),
        (["fly"], "argument command: invalid choice: 'fly'"),
    ],
)
def test_bad_arguments_get_one_line(argv, message, capsys):
    assert message in usage_error(cli.main, argv, capsys)


def test_missing_checkpoint_is_one_line(tmp_path, capsys):
    assert cli.main(["evaluate", "--out", str(tmp_path / "none")]) == 1
    assert "checkpoint.safetensors is missing" in one_error_line(capsys)
    assert cli.main(["predict", "--out", str(tmp_path / "none"), "0"]) == 1
    assert "train first" in one_error_line(capsys)


def test_resume_without_a_run_and_out_naming_a_file_are_refused(tmp_path, capsys):
    assert cli.main(train_args(tmp_path / "none", "--resume")) == 1
    assert "nothing to resume" in one_error_line(capsys)
    assert not (tmp_path / "none").exists()
    (tmp_path / "file").write_text("not a folder")
    assert cli.main(train_args(tmp_path / "file")) == 1
    assert "is an existing file" in one_error_line(capsys)


def test_checkpoints_without_a_config_are_one_line(tmp_path, capsys):
    import tinygrad_rnn as tg

    (tmp_path / "weights").mkdir()
    tg.save({"model": {"w": tg.zeros(2)}}, tmp_path / "weights" / "checkpoint.safetensors")
    assert cli.main(["evaluate", "--out", str(tmp_path / "weights")]) == 1
    assert "holds no run config" in one_error_line(capsys)
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "checkpoint.safetensors").write_bytes(b"\x00" * 20)
    assert cli.main(["evaluate", "--out", str(tmp_path / "garbage")]) == 1
    assert "not a readable checkpoint" in one_error_line(capsys)
    foreign = {"config": {"variant": "stacked"}, "model": {}}
    tg.save(foreign, tmp_path / "weights" / "checkpoint.safetensors")
    assert cli.main(["evaluate", "--out", str(tmp_path / "weights")]) == 1
    assert "another command's run" in one_error_line(capsys)


def test_predict_on_files_that_are_no_png_is_one_line(tmp_path, capsys):
    folder = tmp_path / "run"
    assert cli.main(train_args(folder, "--epochs", "1", "--limit", "100")) == 0
    capsys.readouterr()
    (tmp_path / "notes.png").write_text("not an image")
    assert cli.main(["predict", "--out", str(folder), str(tmp_path / "notes.png")]) == 1
    assert "is not a PNG image" in one_error_line(capsys)
    assert cli.main(["predict", "--out", str(folder), str(tmp_path / "absent.png")]) == 1
    assert "No such file" in one_error_line(capsys)
    assert cli.main(["predict", "--out", str(folder), "300"]) == 1
    assert "outside the test split" in one_error_line(capsys)


def test_unexpected_errors_are_one_line_unless_debugging(tmp_path, capsys, monkeypatch):
    def broken(config):
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(cli, "train", broken)
    assert cli.main(train_args(tmp_path / "run")) == 1
    assert "unexpected RuntimeError: a bug over two lines" in one_error_line(capsys)
    monkeypatch.setenv("TINYGRAD_RNN_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(train_args(tmp_path / "run"))


def test_cuda_without_a_gpu_is_one_line(capsys):
    if __import__("tinygrad_rnn").cuda_is_available():
        pytest.skip("a GPU is present")
    assert cli.main(["train", "--device", "cuda"]) == 1
    assert "needs CuPy" in capsys.readouterr().err
