"""Interchange: state dicts to and from real PyTorch modules, memory sharing, checkpoints.

The first part runs PyTorch and tinygrad_rnn side by side on the same weights. The
checkpoint part has no PyTorch counterpart (tinygrad_rnn writes safetensors, not pickles), so
it checks the behaviour the project documents: 0-d shapes kept, colliding keys refused, a
malformed file always a CheckpointError, paths and file objects both accepted.
"""

import io
import pathlib

import numpy as np
import pytest
from diff_harness import cases, check, check_raises, check_same, dtype, to_numpy, torch

import tinygrad_rnn as tg

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def _tied(lib):
    class Tied(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.encode = lib.nn.Linear(3, 3)
            self.decode = lib.nn.Linear(3, 3)
            self.decode.weight = self.encode.weight

        def forward(self, x):
            return self.decode(self.encode(x).tanh())

    return Tied()


MODULES = {
    "Linear": (lambda lib: lib.nn.Linear(4, 3), (5, 4)),
    "RNN 2 layers": (lambda lib: lib.nn.RNN(4, 3, 2), (6, 2, 4)),
    "RNN relu no bias": (lambda lib: lib.nn.RNN(4, 3, nonlinearity="relu", bias=False), (6, 2, 4)),
    "LSTM batch_first": (lambda lib: lib.nn.LSTM(4, 3, 2, batch_first=True), (2, 6, 4)),
    "GRU": (lambda lib: lib.nn.GRU(4, 3), (6, 2, 4)),
    "RNNCell": (lambda lib: lib.nn.RNNCell(4, 3), (2, 4)),
    "LSTMCell": (lambda lib: lib.nn.LSTMCell(4, 3), (2, 4)),
    "GRUCell": (lambda lib: lib.nn.GRUCell(4, 3), (2, 4)),
    "Embedding": (lambda lib: lib.nn.Embedding(5, 3), None),
    "Sequential": (
        lambda lib: lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.Linear(6, 2)),
        (3, 4),
    ),
    "tied weights": (_tied, (2, 3)),
}


def _first(output):
    while isinstance(output, (tuple, list)):
        output = output[0]
    return output


def _run(lib, module, shape):
    if shape is None:
        return module(lib.tensor([[0, 4], [2, 2]]))
    x = lib.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape).astype(np.float32))
    return _first(module(x))


@pytest.mark.parametrize("name", list(MODULES))
def test_state_dict_keys_and_order_match(name):
    make, _ = MODULES[name]
    check(lambda lib: [[key, list(value.shape)] for key, value in make(lib).state_dict().items()])


@pytest.mark.parametrize("name", list(MODULES))
def test_loading_a_torch_state_dict_strictly(name):
    """A PyTorch module's state_dict() (torch tensors) loads into ours with strict=True, and
    the two modules then compute the same output."""
    make, shape = MODULES[name]
    torch.manual_seed(0)
    theirs = make(torch)
    ours = make(tg)
    ours.load_state_dict(theirs.state_dict())
    expected = to_numpy(torch, _run(torch, theirs, shape))
    np.testing.assert_allclose(to_numpy(tg, _run(tg, ours, shape)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(MODULES))
def test_our_state_dict_loads_into_torch_strictly(name):
    make, shape = MODULES[name]
    ours = make(tg)
    theirs = make(torch)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    expected = to_numpy(torch, _run(torch, theirs, shape))
    np.testing.assert_allclose(to_numpy(tg, _run(tg, ours, shape)), expected, rtol=1e-5, atol=1e-6)


def test_tied_weights_stay_tied_after_loading():
    def case(lib):
        module = _tied(lib)
        state = {k: v * 0 + i for i, (k, v) in enumerate(module.state_dict().items())}
        module.load_state_dict(state)
        return [
            module.encode.weight is module.decode.weight,
            module.decode.weight,
            [name for name, _ in module.named_parameters()],
        ]

    check(case)


LOAD_STATE_DICT = {
    "strict=False returns missing and unexpected keys": lambda lib: _incompatible(
        lib.nn.Linear(2, 3).load_state_dict(
            {"weight": lib.zeros(3, 2), "extra": lib.zeros(1)}, strict=False
        )
    ),
    "strict load returns no missing keys": lambda lib: _incompatible(
        lib.nn.Linear(2, 3).load_state_dict({"weight": lib.zeros(3, 2), "bias": lib.zeros(3)})
    ),
    "the module's parameter stays the same object": lambda lib: _same_parameter(lib),
    "load copies the values": lambda lib: _load_copies(lib),
    "state_dict values carry no grad": lambda lib: [
        v.requires_grad for v in lib.nn.Linear(2, 3).state_dict().values()
    ],
    "state_dict values share memory with the parameters": lambda lib: _shares_memory(lib),
    "load_state_dict casts float64 values to the parameter's dtype": lambda lib: _cast_on_load(lib),
}


def _incompatible(result):
    return [result.missing_keys, result.unexpected_keys]


def _same_parameter(lib):
    module = lib.nn.Linear(2, 3)
    weight = module.weight
    module.load_state_dict({"weight": lib.ones(3, 2), "bias": lib.zeros(3)})
    return [module.weight is weight, module.weight, module.weight.requires_grad]


def _load_copies(lib):
    module = lib.nn.Linear(2, 3)
    source = lib.ones(3, 2)
    module.load_state_dict({"weight": source, "bias": lib.zeros(3)})
    source.mul_(5)
    return module.weight


def _shares_memory(lib):
    module = lib.nn.Linear(2, 3)
    state = module.state_dict()
    state["bias"].fill_(7.0)
    return module.bias


def _cast_on_load(lib):
    module = lib.nn.Linear(2, 1)
    module.load_state_dict(
        {
            "weight": lib.tensor(np.array([[0.1, 0.2]])),
            "bias": lib.tensor(np.array([1.0 / 3.0])),
        }
    )
    return [module.weight, module.bias]


@pytest.mark.parametrize("case", cases(LOAD_STATE_DICT))
def test_load_state_dict_semantics(case):
    check(case)


LOAD_STATE_DICT_REFUSED = {
    "a missing key, strict": lambda lib: lib.nn.Linear(2, 3).load_state_dict(
        {"weight": lib.zeros(3, 2)}
    ),
    "an unexpected key, strict": lambda lib: lib.nn.Linear(2, 3).load_state_dict(
        {"weight": lib.zeros(3, 2), "bias": lib.zeros(3), "extra": lib.zeros(1)}
    ),
    "a shape mismatch, even non-strict": lambda lib: lib.nn.Linear(2, 3).load_state_dict(
        {"weight": lib.zeros(2, 2)}, strict=False
    ),
    "a torch-layout RNN missing a layer": lambda lib: lib.nn.RNN(2, 3, 2).load_state_dict(
        dict(lib.nn.RNN(2, 3, 1).state_dict())
    ),
}


@pytest.mark.parametrize("case", cases(LOAD_STATE_DICT_REFUSED))
def test_load_state_dict_refused(case):
    check_raises(case)


# ---------------------------------------------------------------- memory sharing


def _from_numpy_shares(lib):
    array = np.zeros(3)
    t = lib.from_numpy(array)
    array[0] = 5.0
    t[1] = 7.0
    return [t, array.tolist(), t.dtype]


def _from_numpy_keeps_dtype(lib):
    return [
        lib.from_numpy(np.zeros(2, dtype=np.float32)).dtype,
        lib.from_numpy(np.zeros(2, dtype=np.int32)).dtype,
        lib.from_numpy(np.zeros(2, dtype=np.uint8)).dtype,
    ]


def _as_tensor_shares(lib):
    array = np.zeros(3)
    t = lib.as_tensor(array)
    array[0] = 5.0
    return [t, t.dtype]


def _as_tensor_copies_to_convert(lib):
    array = np.zeros(3)
    t = lib.as_tensor(array, dtype=dtype(lib, "float32"))
    array[0] = 5.0
    return [t, t.dtype]


def _as_tensor_of_a_tensor(lib):
    t = lib.zeros(2)
    return [lib.as_tensor(t) is t, lib.as_tensor([1.5, 2.0]).dtype, lib.as_tensor([1, 2]).dtype]


def _tensor_copies(lib):
    array = np.zeros(3)
    t = lib.tensor(array)
    array[0] = 5.0
    return t


def _tensor_of_a_tensor_copies(lib):
    source = lib.zeros(3)
    copy = lib.tensor(source)
    source.add_(1)
    return [copy, copy.requires_grad]


def _parameter_from_numpy_does_not_alias(lib):
    array = np.ones(3, dtype=np.float32)
    w = lib.nn.Parameter(lib.tensor(array))
    optimizer = lib.optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    optimizer.step()
    return [w, array.tolist()]


def _numpy_shares(lib):
    t = lib.zeros(3)
    view = t.numpy()
    view[0] = 5.0
    return t


def _legacy_constructor_of_an_array(lib):
    array = np.array([1.5, 2.5])
    t = lib.Tensor(array)
    array[0] = 9.0
    return [t, t.dtype]


MEMORY = {
    "from_numpy shares memory": _from_numpy_shares,
    "from_numpy keeps the dtype": _from_numpy_keeps_dtype,
    "as_tensor shares memory": _as_tensor_shares,
    "as_tensor copies to convert": _as_tensor_copies_to_convert,
    "as_tensor of a tensor and of lists": _as_tensor_of_a_tensor,
    "tensor copies an array": _tensor_copies,
    "tensor copies a tensor": _tensor_of_a_tensor_copies,
    "Parameter(tensor(array)) does not alias the array": _parameter_from_numpy_does_not_alias,
    "numpy() shares memory": _numpy_shares,
    "Tensor(float64 array) is a float32 copy": _legacy_constructor_of_an_array,
    "Tensor([1, 2]) is float32": lambda lib: lib.Tensor([1, 2]),
}


@pytest.mark.parametrize("case", cases(MEMORY))
def test_memory_sharing(case):
    check(case)


def test_from_numpy_refuses_unsupported_input():
    check_raises(lambda lib: lib.from_numpy([1.0, 2.0]))


def test_from_numpy_of_a_non_contiguous_view():
    check_same(lambda lib: lib.from_numpy(np.arange(6.0).reshape(2, 3)[:, ::2]))


# ---------------------------------------------------------------- checkpoints (ours only)


def _round_trip(value, tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    tg.save(value, path)
    return tg.load(path)


def test_a_zero_d_tensor_keeps_its_shape(tmp_path):
    loaded = _round_trip({"t": tg.tensor(2.5), "i": tg.tensor(3)}, tmp_path)
    assert loaded["t"].shape == () and loaded["t"].item() == 2.5
    assert loaded["i"].shape == () and loaded["i"].dtype == tg.tensor(3).dtype


def test_a_module_with_a_scalar_parameter_reloads_its_own_checkpoint(tmp_path):
    class Scaled(tg.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = tg.nn.Parameter(tg.tensor(1.5))
            self.linear = tg.nn.Linear(2, 2)

    module = Scaled()
    fresh = Scaled()
    fresh.load_state_dict(_round_trip(module.state_dict(), tmp_path))
    assert fresh.scale.shape == () and fresh.scale.item() == 1.5


@pytest.mark.parametrize(
    "name",
    ["float16", "float32", "float64", "int32", "int64", "uint8", "bool"],
)
def test_dtypes_and_shapes_survive(name, tmp_path):
    array = np.arange(6).reshape(2, 3).astype(np.dtype(name))
    loaded = _round_trip({"x": tg.tensor(array), "empty": tg.zeros(0, 3)}, tmp_path)
    np.testing.assert_array_equal(np.asarray(loaded["x"].numpy()), array)
    assert loaded["x"].dtype == tg.tensor(array).dtype
    assert loaded["empty"].shape == (0, 3)


def test_requires_grad_and_nesting_survive(tmp_path):
    value = {
        "w": tg.zeros(2, requires_grad=True),
        "nested": {"list": [tg.ones(1), 2, "s"], "tuple": (1.5, None)},
    }
    loaded = _round_trip(value, tmp_path)
    assert loaded["w"].requires_grad
    assert loaded["nested"]["list"][1:] == [2, "s"]
    assert loaded["nested"]["tuple"] == (1.5, None)


def test_keys_with_slashes_round_trip(tmp_path):
    loaded = _round_trip({"a/b": tg.ones(1), "c": {"d/e": tg.zeros(1)}}, tmp_path)
    assert float(loaded["a/b"].item()) == 1.0 and float(loaded["c"]["d/e"].item()) == 0.0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"a/b": tg.ones(1), "a": {"b": tg.zeros(1)}}, id="'a/b' and 'a'->'b'"),
        pytest.param({"a": {"b": tg.zeros(1)}, "a/b": tg.ones(1)}, id="'a'->'b' and 'a/b'"),
        pytest.param({"x/0": tg.ones(1), "x": [tg.zeros(1)]}, id="'x/0' and 'x'[0]"),
    ],
)
def test_colliding_keys_are_refused(value, tmp_path):
    with pytest.raises(tg.CheckpointError):
        tg.save(value, tmp_path / "checkpoint.safetensors")


@pytest.mark.parametrize("key", [("a", "b"), None], ids=["a tuple key", "a None key"])
def test_keys_the_tree_format_cannot_hold_go_into_the_pickle_container(key, tmp_path):
    loaded = _round_trip({key: tg.ones(1)}, tmp_path)  # as torch.save takes any picklable key
    assert list(loaded) == [key] and loaded[key].tolist() == [1.0]


def test_save_and_load_take_file_objects_and_paths(tmp_path):
    buffer = io.BytesIO()
    tg.save({"x": tg.ones(2)}, buffer)
    buffer.seek(0)
    assert tg.load(buffer)["x"].shape == (2,)
    tg.save({"x": tg.ones(3)}, str(tmp_path / "as-string"))
    assert tg.load(str(tmp_path / "as-string"))["x"].shape == (3,)
    tg.save({"x": tg.ones(4)}, pathlib.Path(tmp_path) / "as-path")
    assert tg.load(pathlib.Path(tmp_path) / "as-path")["x"].shape == (4,)


MALFORMED = {
    "empty file": b"",
    "random bytes": bytes(range(256)) * 4,
    "a header length past the end": (10**9).to_bytes(8, "little") + b"{}",
    "a header that is not JSON": (4).to_bytes(8, "little") + b"nope",
    "a safetensors file of someone else": None,
    "a truncated checkpoint": "truncated",
    "a checkpoint whose tree is not JSON": "bad tree",
    "a tree naming a tensor that is not there": "missing tensor",
    "a pickle": b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_checkpoint_is_a_checkpoint_error(name, tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    content = MALFORMED[name]
    if content is None:
        import safetensors.numpy

        safetensors.numpy.save_file({"x": np.zeros(2)}, str(path))
    elif content == "truncated":
        tg.save({"x": tg.ones(100)}, path)
        path.write_bytes(path.read_bytes()[:-50])
    elif content in ("bad tree", "missing tensor"):
        import safetensors.numpy

        tree = "{" if content == "bad tree" else '{"__tensor__": "y", "requires_grad": false}'
        safetensors.numpy.save_file(
            {"x": np.zeros(2)},
            str(path),
            metadata={"format": "tinygrad_rnn", "version": "1", "tree": tree},
        )
    else:
        path.write_bytes(content)
    with pytest.raises(tg.CheckpointError):
        tg.load(path)
