"""Names public PyTorch RNN programs use that the op tables do not cover: diag/diagonal, the
in-place shape methods, legacy conversions, attribute errors, printing-adjacent protocols and
the recurrent layers' weight lists; against PyTorch where it is installed."""

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.unsupported import UnsupportedAttributeError

torch = pytest.importorskip("torch")


def _both(make):
    """make(lib) on both libraries: values (or the exception type) and gradients."""
    outcomes = []
    for lib in (tg, torch):
        try:
            outcomes.append(make(lib))
        except Exception as error:  # the type is what is compared
            outcomes.append(type(error))
    return outcomes


@st.composite
def diagonal_cases(draw):
    shape = draw(st.lists(st.integers(0, 4), min_size=2, max_size=4))
    rank = len(shape)
    dim1, dim2 = draw(st.integers(-rank, rank - 1)), draw(st.integers(-rank, rank - 1))
    return shape, draw(st.integers(-4, 4)), dim1, dim2


@given(diagonal_cases())
def test_diagonal_values_and_gradients_as_pytorch(case):
    shape, offset, dim1, dim2 = case
    values = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)

    def run(lib):
        x = lib.tensor(values, requires_grad=True)
        d = x.diagonal(offset, dim1, dim2)
        weights = lib.tensor(np.linspace(1, 2, d.numel()).reshape(tuple(d.shape)))
        (d * weights).sum().backward()
        return d.tolist(), x.grad.tolist()

    ours, theirs = _both(run)
    assert ours == theirs


@pytest.mark.parametrize("offset", [-2, -1, 0, 1, 3])
@pytest.mark.parametrize("shape", [(3,), (0,), (3, 3), (2, 4), (2, 2, 2), ()])
def test_diag_builds_or_reads_a_diagonal_as_pytorch(shape, offset):
    values = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) + 1

    def run(lib):
        x = lib.tensor(values, requires_grad=True)
        out = lib.diag(x, offset)
        out.sum().backward()
        return out.tolist(), x.grad.tolist()

    ours, theirs = _both(run)
    assert ours == theirs


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.unsqueeze_(0),
        lambda t: t.unsqueeze_(-1),
        lambda t: t.squeeze_(),
        lambda t: t.squeeze_(1),
        lambda t: t.t_() if t.ndim <= 2 else t.transpose_(0, 2),
        lambda t: t.transpose_(0, -1),
    ],
)
def test_in_place_shape_methods_change_the_tensor_and_keep_its_history(change):
    def run(lib):
        x = lib.arange(6.0, dtype=lib.float64).reshape(2, 1, 3).requires_grad_()
        y = x * 2
        assert change(y) is y
        weights = lib.arange(float(y.numel()), dtype=lib.float64).reshape(tuple(y.shape))
        (y * weights).sum().backward()
        return tuple(y.shape), y.tolist(), x.grad.tolist()

    ours, theirs = _both(run)
    assert ours == theirs


def test_in_place_shape_methods_refuse_a_leaf_that_requires_grad():
    for lib in (tg, torch):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            lib.ones(2, requires_grad=True).unsqueeze_(0)
    with tg.no_grad():
        assert tuple(tg.ones(2, requires_grad=True).unsqueeze_(0).shape) == (1, 2)


def test_conversions_formats_and_pointers_as_pytorch():
    for lib in (tg, torch):
        longs = lib.zeros(2, dtype=lib.long)
        assert str(longs.type(lib.Tensor).dtype).endswith("float32")
        assert f"{lib.tensor(0.125):.2f}" == "0.12"
        with pytest.raises(TypeError, match="unsupported format string"):
            f"{lib.tensor([0.12]):.3f}"
        t = lib.zeros(4)
        assert t[1:].data_ptr() == t.data_ptr() + 4
        with pytest.raises(TypeError, match="must be Tensor, not float"):
            lib.sqrt(4.0)
        with pytest.raises(RuntimeError, match="floating-point"):
            lib.multinomial(lib.tensor([1, 2]), 1)


def test_a_missing_tensor_attribute_names_itself_as_unsupported():
    with pytest.raises(UnsupportedAttributeError, match=r"Tensor\.no_such_method is not supported"):
        tg.zeros(2).no_such_method()
    assert not hasattr(tg.zeros(2), "no_such_method")
    assert getattr(tg.zeros(2), "__no_such_dunder__", 7) == 7


def test_a_saved_state_dict_loads_as_an_ordered_dict_and_a_dict_as_a_dict():
    model = nn.Linear(2, 3)
    for obj, kind in ((model.state_dict(), "OrderedDict"), ({"a": tg.zeros(1)}, "dict")):
        buffer = io.BytesIO()
        tg.save(obj, buffer)
        buffer.seek(0)
        assert type(tg.load(buffer)).__name__ == kind


@pytest.mark.parametrize(
    "options", [{}, {"num_layers": 2, "bidirectional": True}, {"bias": False}, {"proj_size": 2}]
)
def test_recurrent_weight_lists_as_pytorch(options):
    ours, theirs = nn.LSTM(3, 4, **options), torch.nn.LSTM(3, 4, **options)
    assert ours._flat_weights_names == theirs._flat_weights_names
    assert [[tuple(p.shape) for p in group] for group in ours.all_weights] == [
        [tuple(p.shape) for p in group] for group in theirs.all_weights
    ]


@pytest.mark.parametrize("name", ["torch.Tensor", "torch.DoubleTensor", "torch.int64", "Float"])
def test_type_by_name_as_pytorch(name):
    def run(lib):
        return str(lib.tensor([1.5]).type(name).dtype).rpartition(".")[2]

    ours, theirs = _both(run)
    assert ours == theirs


def test_numpy_scalars_into_integer_dtypes_are_range_checked():
    for lib in (tg, torch):
        with pytest.raises(RuntimeError, match="without overflow"):
            lib.tensor(np.int64(300), dtype=lib.int8)
        with pytest.raises(RuntimeError, match="without overflow"):
            lib.tensor(np.float64(1e30), dtype=lib.int32)
        assert lib.zeros(0).data_ptr() == 0


def test_a_missing_private_attribute_is_a_plain_attribute_error():
    with pytest.raises(AttributeError) as caught:
        getattr(tg.zeros(1), "_no_such_field")  # noqa: B009 - the lookup is what is tested
    assert not isinstance(caught.value, UnsupportedAttributeError)


EINSUMS = [
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("bnd,bd->bn", [(2, 3, 4), (2, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("ij->j", [(3, 4)]),
    ("ij,kl->ijkl", [(2, 3), (4, 1)]),
    ("abc,cd,de->abe", [(2, 3, 4), (4, 5), (5, 2)]),
    ("ba", [(2, 3)]),
    ("ijk->", [(2, 3, 4)]),
]


@pytest.mark.parametrize(("equation", "shapes"), EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_values_and_gradients_as_pytorch(equation, shapes):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(shape) for shape in shapes]

    def run(lib):
        tensors = [lib.tensor(v, requires_grad=True) for v in values]
        out = lib.einsum(equation, *tensors)
        weights = np.linspace(1, 2, out.numel()).reshape(tuple(out.shape))
        (out * lib.tensor(weights)).sum().backward()
        return out.detach().numpy(), [t.grad.numpy() for t in tensors]

    (ours, our_grads), (theirs, their_grads) = run(tg), run(torch)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    for a, b in zip(our_grads, their_grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.bincount(lib.tensor([0, 1, 1, 2]), minlength=5),
        lambda lib: lib.bincount(lib.tensor([0, 1, 1]), weights=lib.tensor([0.5, 1.0, 2.0])),
        lambda lib: lib.bincount(lib.tensor([0, 1, 1]), weights=lib.tensor([1, 2, 3])),
        lambda lib: lib.tensor([], dtype=lib.long).bincount(),
        lambda lib: lib.bincount(lib.tensor([-1, 2])),
        lambda lib: lib.bincount(lib.tensor([[1]])),
        lambda lib: lib.bincount(lib.tensor([1.5])),
    ],
)
def test_bincount_as_pytorch(make):
    def run(lib):
        out = make(lib)
        return out.tolist(), str(out.dtype).rpartition(".")[2]

    ours, theirs = _both(run)
    assert ours == theirs


def test_parameter_vectors_and_the_old_clipping_name():
    import warnings

    for lib in (tg, torch):
        model = lib.nn.Linear(2, 2)
        vector = lib.nn.utils.parameters_to_vector(model.parameters())
        assert tuple(vector.shape) == (6,) and vector.requires_grad
        lib.nn.utils.vector_to_parameters(lib.arange(6.0), model.parameters())
        assert model.weight.tolist() == [[0.0, 1.0], [2.0, 3.0]] and model.bias.tolist() == [4, 5]
        w = lib.ones(2, requires_grad=True)
        (w * 3).sum().backward()
        with pytest.warns(FutureWarning, match="clip_grad_norm_"):
            norm = lib.nn.utils.clip_grad_norm([w], 1.0)
        assert abs(float(norm) - 18**0.5) < 1e-6
        with pytest.raises(RuntimeError, match="requires grad"):
            np.asarray(lib.ones(2, requires_grad=True))
        rows = lib.zeros(1, 3).masked_fill(lib.ones(1, 3, dtype=lib.bool), float("-inf"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert np.isnan(lib.softmax(rows, 1).numpy()).all()
        with pytest.warns(UserWarning, match="for log_softmax") as caught:
            lib.nn.functional.log_softmax(lib.zeros(2, 3))
        assert caught[0].filename == __file__
        assert repr(lib.nn.RNN(2, 3, nonlinearity="relu")) == "RNN(2, 3)"
