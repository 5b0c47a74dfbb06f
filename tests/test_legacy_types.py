"""PyTorch's legacy tensor types (torch.FloatTensor, torch.LongTensor, ..., tensor.new) and the
deprecated add(alpha, other) form that old programs still use, against PyTorch where it is
installed."""

import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg

torch = pytest.importorskip("torch")

TYPES = ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "ByteTensor", "BoolTensor"]

DATA = {
    "list": [1.7, 2.0, -0.2],
    "nested": [[1, 2], [3, 4]],
    "tuple": (1, 0),
    "array": np.arange(4, dtype=np.float64),
}


def _outcome(lib, make):
    try:
        result = make(lib)
    except Exception as error:  # the error's type is what is compared
        return type(error)
    return tuple(result.shape), str(result.dtype).split(".")[-1], result.tolist()


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("data", DATA, ids=str)
def test_a_legacy_type_converts_data_as_pytorch(name, data):
    assert _outcome(tg, lambda lib: getattr(lib, name)(DATA[data])) == _outcome(
        torch, lambda lib: getattr(lib, name)(DATA[data])
    )


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("sizes", [(), (3,), (2, 3), (0, 4)], ids=str)
def test_sizes_give_a_tensor_of_that_shape_and_dtype(name, sizes):
    """PyTorch leaves the memory uninitialised; here it is zeros."""
    ours, theirs = getattr(tg, name)(*sizes), getattr(torch, name)(*sizes)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert not ours.numpy().any()
    assert tuple(getattr(tg, name)(tg.Size(sizes)).shape) == tuple(theirs.shape)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.FloatTensor(-1),
        lambda lib: lib.FloatTensor(2.5),
        lambda lib: lib.LongTensor(lib.zeros(2)),
        lambda lib: lib.LongTensor([[1, 2], [3]]),
        lambda lib: lib.ones(2).add(lib.ones(2), lib.ones(2)),
    ],
)
def test_bad_input_raises_pytorchs_error_type(make):
    assert _outcome(tg, make) == _outcome(torch, make)
    assert isinstance(_outcome(tg, make), type)


def test_isinstance_and_type_name_the_dtype_and_device():
    for lib in (tg, torch):
        floats, longs = lib.zeros(2), lib.zeros(2, dtype=lib.long)
        assert isinstance(floats, lib.FloatTensor) and not isinstance(floats, lib.LongTensor)
        assert isinstance(longs, lib.LongTensor) and not isinstance(floats, lib.cuda.FloatTensor)
        assert floats.type() == "torch.FloatTensor" and longs.type() == "torch.LongTensor"
        assert type(lib.FloatTensor([1.0])) is lib.Tensor


@pytest.mark.parametrize(
    "target", [lambda lib: lib.LongTensor, lambda lib: "torch.LongTensor", lambda lib: lib.double]
)
def test_type_converts(target):
    assert _outcome(tg, lambda lib: lib.tensor([1.5, -2.5]).type(target(lib))) == _outcome(
        torch, lambda lib: lib.tensor([1.5, -2.5]).type(target(lib))
    )


@pytest.mark.parametrize(
    "args", [(), (2, 3), ([1, 2],), ((3.5,),)], ids=["nothing", "sizes", "list", "tuple"]
)
def test_new_keeps_the_tensors_dtype(args):
    def make(lib):
        result = lib.tensor([1.5], dtype=lib.float64).new(*args)
        return result if args and not isinstance(args[0], int) else result.zero_()

    assert _outcome(tg, make) == _outcome(torch, make)


def test_a_tensor_of_the_same_type_is_taken_as_it_is():
    source = tg.tensor([1.0, 2.0])
    alias = tg.FloatTensor(source)
    alias.add_(1)
    np.testing.assert_array_equal(source.numpy(), [2.0, 3.0])  # PyTorch's alias, too


def test_the_deprecated_alpha_first_form_updates_weights_with_a_warning():
    """Old programs step with p.data.add_(-lr, p.grad)."""
    weight = tg.tensor([1.0, 2.0], requires_grad=True)
    (weight * weight).sum().backward()
    with pytest.warns(UserWarning, match="deprecated"):
        weight.data.add_(-0.5, weight.grad)
    np.testing.assert_array_equal(weight.detach().numpy(), [0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(tg.ones(2).sub(2, tg.ones(2)).numpy(), [-1.0, -1.0])
