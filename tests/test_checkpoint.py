"""Checkpoints: exact round trips, atomic writes, clear errors for foreign or torn files."""

import os

import numpy as np
import pytest
import safetensors.numpy

import tinygrad_rnn as tg
from tinygrad_rnn import checkpoint, nn, optim


def trained_state():
    model = nn.LSTM(3, 4, num_layers=2, generator=0)
    opt = optim.Adam(model.parameters(), lr=0.01)
    for step in range(3):
        output, _ = model(tg.randn(5, 2, 3, generator=step))
        opt.zero_grad()
        output.sum().backward()
        opt.step()
    rng = np.random.default_rng(7)
    rng.random(3)
    return model, opt, rng


def test_round_trip_is_exact(tmp_path):
    model, opt, rng = trained_state()
    path = tmp_path / "checkpoint.safetensors"
    tg.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "epoch": 3,
            "rng": rng,
            "history": [0.5, (1, "two", None)],
            "mask": np.arange(4) > 1,
        },
        path,
    )
    state = tg.load(path)
    assert state["epoch"] == 3 and state["history"] == [0.5, (1, "two", None)]
    np.testing.assert_array_equal(state["mask"], [False, False, True, True])
    assert state["rng"].random() == rng.random()

    fresh = nn.LSTM(3, 4, num_layers=2, generator=99)
    fresh.load_state_dict(state["model"])
    for a, b in zip(model.parameters(), fresh.parameters()):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.5)
    fresh_opt.load_state_dict(state["optimizer"])
    for p, q in zip(model.parameters(), fresh.parameters()):
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(opt.state[p][key], fresh_opt.state[q][key])
        assert fresh_opt.state[q]["step"] == 3
    assert fresh_opt.param_groups[0]["lr"] == 0.01 and fresh_opt.param_groups[0]["betas"] == (
        0.9,
        0.999,
    )


def test_tensors_keep_dtype_and_requires_grad(tmp_path):
    path = tmp_path / "t.safetensors"
    tg.save({"a": tg.ones(2, dtype=tg.float64, requires_grad=True), "b": tg.arange(3)}, path)
    state = tg.load(path, device="cpu")
    assert state["a"].dtype == np.float64 and state["a"].requires_grad
    assert state["b"].dtype == np.int64 and not state["b"].requires_grad


def test_a_save_that_fails_midway_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.safetensors"
    tg.save({"epoch": 1, "w": tg.ones(3)}, path)
    original = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        tg.save({"epoch": 2, "w": tg.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert tg.load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.safetensors"]  # no debris


def test_truncated_file_raises_a_clear_error(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    tg.save({"w": tg.ones(100)}, path)
    data = path.read_bytes()
    for cut in (4, 40, len(data) - 10):
        path.write_bytes(data[:cut])
        with pytest.raises(tg.CheckpointError, match="not a readable checkpoint"):
            tg.load(path)


def test_foreign_files_are_refused(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(tg.CheckpointError, match="not a readable checkpoint"):
        tg.load(garbage)
    foreign = tmp_path / "foreign.safetensors"
    foreign.write_bytes(safetensors.numpy.save({"w": np.ones(2, dtype=np.float32)}))
    with pytest.raises(tg.CheckpointError, match="not a tinygrad_rnn checkpoint"):
        tg.load(foreign)
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "missing.safetensors")


def test_unsupported_values_are_named():
    with pytest.raises(tg.CheckpointError, match="cannot save set at bad"):
        checkpoint._encode({"bad": {1, 2}}, "", {})
