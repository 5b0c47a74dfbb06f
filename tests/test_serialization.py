"""save/load of whole objects: round trips, the two formats, and weights_only's allow-list,
which must refuse every class not allowed and never run a malicious file's code."""

import argparse
import io
import json
import os
import pickle
import struct

import numpy as np
import pytest
import safetensors.numpy

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim, serialization


class TiedModel(nn.Module):
    """An embedding and a decoder sharing one weight, and a few plain attributes."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(6, 4)
        self.rnn = nn.LSTM(4, 4)
        self.decoder = nn.Linear(4, 6)
        self.decoder.weight = self.embedding.weight
        self.vocabulary = {"<eos>", "the"}
        self.scale = np.float32(0.5)

    def forward(self, tokens):
        output, _ = self.rnn(self.embedding(tokens))
        return self.decoder(output) * float(self.scale)


MODEL_CLASSES = [TiedModel, nn.Embedding, nn.LSTM, nn.Linear]


def metadata(payload: bytes) -> dict:
    (length,) = struct.unpack("<Q", payload[:8])
    return json.loads(payload[8 : 8 + length])["__metadata__"]


def saved(obj) -> io.BytesIO:
    buffer = io.BytesIO()
    tg.save(obj, buffer)
    buffer.seek(0)
    return buffer


@pytest.fixture(autouse=True)
def no_leftover_safe_globals():
    serialization.clear_safe_globals()
    yield
    serialization.clear_safe_globals()


def test_a_whole_module_round_trips_with_its_tied_weights(tmp_path):
    model = TiedModel()
    tokens = tg.tensor([[1, 2], [3, 4]])
    path = tmp_path / "model.pt"
    tg.save(model, path)
    with serialization.safe_globals(MODEL_CLASSES):
        loaded = tg.load(path)
    assert serialization.get_safe_globals() == []  # the block's allowances are gone
    assert type(loaded) is TiedModel and loaded.decoder.weight is loaded.embedding.weight
    assert isinstance(loaded.decoder.weight, nn.Parameter) and loaded.decoder.weight.requires_grad
    assert loaded.vocabulary == {"<eos>", "the"} and loaded.scale.dtype == np.float32
    np.testing.assert_array_equal(loaded(tokens).detach().numpy(), model(tokens).detach().numpy())
    assert len(list(loaded.parameters())) == len(list(model.parameters()))


def test_whole_objects_use_the_container_and_state_dicts_the_tree_format():
    model = TiedModel()
    container = metadata(saved(model).getvalue())
    assert container["pickle"] == "__pickle__" and "tree" not in container
    arrays = safetensors.numpy.load(saved(model).getvalue())
    assert "0" in arrays and arrays["__pickle__"].dtype == np.uint8  # values stored apart
    tree = metadata(saved({"model": model.state_dict(), "epoch": 2}).getvalue())
    assert "tree" in tree and "pickle" not in tree


def test_optimizer_state_and_nested_containers_round_trip():
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(tg.ones(4, 3)).sum().backward()
    opt.step()
    state = {
        "optimizer": opt.state_dict(),
        "history": [(1, 0.5), {"nested": [tg.arange(3), np.ones(2, np.int8)]}],
        "seen": {3, 1},
        ("tuple", "key"): tg.zeros(()),
    }
    loaded = tg.load(saved(state))
    assert loaded["seen"] == {1, 3} and loaded["history"][0] == (1, 0.5)
    assert loaded[("tuple", "key")].shape == ()
    assert loaded["history"][1]["nested"][1].dtype == np.int8
    fresh = optim.Adam(nn.Linear(3, 2).parameters(), lr=1.0)
    fresh.load_state_dict(loaded["optimizer"])
    assert fresh.param_groups[0]["lr"] == 0.1


def test_file_objects_and_paths(tmp_path):
    path = tmp_path / "state.pt"
    with open(path, "wb") as f:
        tg.save({"w": tg.ones(2), "names": {"a"}}, f)
    with open(path, "rb") as f:
        assert tg.load(f)["names"] == {"a"}
    assert tg.load(str(path))["w"].tolist() == [1.0, 1.0]


def test_an_arbitrary_class_is_refused_by_default_with_how_to_allow_it():
    buffer = saved({"args": argparse.Namespace(lr=0.1), "model": TiedModel()})
    with pytest.raises(pickle.UnpicklingError) as error:
        tg.load(buffer)
    message = str(error.value)
    for needed in ("argparse.Namespace", f"{__name__}.TiedModel", "add_safe_globals"):
        assert needed in message
    assert "weights_only=False" in message and "\n" not in message
    buffer.seek(0)
    assert "argparse.Namespace" in serialization.get_unsafe_globals_in_checkpoint(buffer)
    buffer.seek(0)
    assert tg.load(buffer, weights_only=False)["args"].lr == 0.1


def test_allow_listed_classes_load():
    buffer = saved({"args": argparse.Namespace(lr=0.1)})
    serialization.add_safe_globals([(argparse.Namespace, "argparse.Namespace")])
    assert tg.load(buffer)["args"] == argparse.Namespace(lr=0.1)
    assert serialization.get_safe_globals() == [(argparse.Namespace, "argparse.Namespace")]
    serialization.clear_safe_globals()
    buffer.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        tg.load(buffer)


class Exploit:
    """What a malicious file holds: unpickling it would run code (create a file)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def container(stream: bytes) -> io.BytesIO:
    """A file in the container format around a hand-made pickle stream."""
    arrays = {"__pickle__": np.frombuffer(stream, dtype=np.uint8)}
    meta = {"format": "tinygrad_rnn", "version": "1", "pickle": "__pickle__"}
    return io.BytesIO(safetensors.numpy.save(arrays, metadata=meta))


def test_a_malicious_file_never_runs_its_code(tmp_path):
    marker = tmp_path / "pwned"
    for stream in (
        pickle.dumps(Exploit(marker)),
        pickle.dumps(Exploit(marker), protocol=0),
        b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.",
    ):
        with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
            tg.load(container(stream))
    with pytest.raises(pickle.UnpicklingError):
        tg.load(saved({"x": Exploit(marker)}))
    assert not marker.exists()
    tg.load(saved({"x": Exploit(marker)}), weights_only=False)  # the user's explicit choice
    assert marker.exists()


def test_forged_references_are_refused():
    class Forger(pickle.Pickler):
        def persistent_id(self, obj):
            return obj if isinstance(obj, tuple) and obj and obj[0] == "tensor" else None

    for pid in (("tensor", "missing", tg.Tensor, False), ("tensor", "0", dict, False)):
        buffer = io.BytesIO()
        Forger(buffer).dump([pid])
        arrays = {"0": np.ones(1), "__pickle__": np.frombuffer(buffer.getvalue(), np.uint8)}
        meta = {"format": "tinygrad_rnn", "version": "1", "pickle": "__pickle__"}
        with pytest.raises(pickle.UnpicklingError):
            tg.load(io.BytesIO(safetensors.numpy.save(arrays, metadata=meta)))


def test_map_location_forms():
    buffer = saved({"w": tg.ones(2), "s": {1}})
    for location in ("cpu", tg.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        buffer.seek(0)
        assert tg.load(buffer, map_location=location)["w"].device == "cpu"
    buffer.seek(0)
    with pytest.raises(RuntimeError, match="pickle_module"):
        tg.load(buffer, pickle_module=pickle)


def test_pytorch_zip_files_are_named_as_such():
    with pytest.raises(tg.CheckpointError, match="zip file"):
        tg.load(io.BytesIO(b"PK\x03\x04" + bytes(60)))


def test_a_failed_save_of_an_unpicklable_object_leaves_no_file(tmp_path):
    path = tmp_path / "bad.pt"
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        tg.save({"f": lambda: 0}, path)
    assert not os.listdir(tmp_path)
