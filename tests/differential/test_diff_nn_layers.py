"""Layers against PyTorch from the same weights: LayerNorm, BatchNorm1d, Embedding, Linear,
Identity, Flatten/Unflatten and the activation modules; outputs, input and parameter
gradients, buffers (running statistics) and state_dict layouts, in float64 (tightly) and
float32, in train and eval mode; bad arguments raise what PyTorch raises."""

import numpy as np
import pytest
from diff_harness import (
    PROGRAM_TOLERANCE,
    cases,
    check,
    check_raises,
    check_same,
    drawn_array,
    functional,
    tensor,
)
from hypothesis import given
from hypothesis import strategies as st
from module_harness import module_case

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]
FLOATS = ["float64", "float32"]
# Normalizing divides by sqrt(var + eps) >= sqrt(eps): in float32 PyTorch's x * rstd - mean *
# rstd keeps rounding of the size of ulp(|x| / sqrt(eps)) (2e-5 at |x| = 3) where the exact
# result is 0 (a constant row), so the absolute tolerance there is that size, not 2e-6.
NORM_TOLERANCE = {**PROGRAM_TOLERANCE, "float32": (1e-4, 2e-4)}


def values(shape, dtype="float64", scale=1.5):
    """Deterministic inputs of `shape`, varied in sign and size."""
    count = int(np.prod(shape))
    return (scale * np.sin(np.arange(count) * 2.1 + 0.3)).reshape(shape).astype(dtype)


# ---------------------------------------------------------------- a table of layers

LAYERS = {
    "LayerNorm(5)": (lambda lib: lib.nn.LayerNorm(5), [(3, 5)]),
    "LayerNorm([4, 5]) on (2, 3, 4, 5)": (lambda lib: lib.nn.LayerNorm([4, 5]), [(2, 3, 4, 5)]),
    "LayerNorm no bias": (lambda lib: lib.nn.LayerNorm(5, bias=False), [(2, 5)]),
    "LayerNorm no affine eps=0.1": (
        lambda lib: lib.nn.LayerNorm((3,), eps=0.1, elementwise_affine=False),
        [(4, 3)],
    ),
    "BatchNorm1d (N, C)": (lambda lib: lib.nn.BatchNorm1d(3), [(4, 3)]),
    "BatchNorm1d (N, C, L)": (lambda lib: lib.nn.BatchNorm1d(3), [(2, 3, 5)]),
    "BatchNorm1d momentum=None": (lambda lib: lib.nn.BatchNorm1d(3, momentum=None), [(4, 3)]),
    "BatchNorm1d affine=False": (lambda lib: lib.nn.BatchNorm1d(3, affine=False), [(4, 3, 2)]),
    "BatchNorm1d bias=False": (lambda lib: lib.nn.BatchNorm1d(3, bias=False), [(4, 3)]),
    "BatchNorm1d no running stats": (
        lambda lib: lib.nn.BatchNorm1d(3, track_running_stats=False),
        [(4, 3, 2)],
    ),
    "Linear": (lambda lib: lib.nn.Linear(4, 3), [(2, 4)]),
    "Identity": (lambda lib: lib.nn.Identity(7, key="ignored"), [(2, 3)]),
    "Flatten": (lambda lib: lib.nn.Flatten(), [(2, 3, 4)]),
    "Flatten(0, 1)": (lambda lib: lib.nn.Flatten(0, 1), [(2, 3, 4)]),
    "Unflatten": (lambda lib: lib.nn.Unflatten(1, (2, 3)), [(2, 6)]),
    "Tanh": (lambda lib: lib.nn.Tanh(), [(2, 5)]),
    "ReLU": (lambda lib: lib.nn.ReLU(), [(2, 5)]),
    "Sigmoid": (lambda lib: lib.nn.Sigmoid(), [(2, 5)]),
    "GELU": (lambda lib: lib.nn.GELU(), [(2, 5)]),
    "GELU tanh": (lambda lib: lib.nn.GELU("tanh"), [(2, 5)]),
    "Softmax(1)": (lambda lib: lib.nn.Softmax(1), [(2, 5)]),
    "Softmax() on 3 dims": (lambda lib: lib.nn.Softmax(), [(2, 3, 4)]),
    "LogSoftmax(-1)": (lambda lib: lib.nn.LogSoftmax(-1), [(2, 5)]),
    "LogSoftmax() on 2 dims": (lambda lib: lib.nn.LogSoftmax(), [(2, 5)]),
    "LeakyReLU(0.2)": (lambda lib: lib.nn.LeakyReLU(0.2), [(2, 5)]),
    "ELU(0.5)": (lambda lib: lib.nn.ELU(0.5), [(2, 5)]),
    "SiLU": (lambda lib: lib.nn.SiLU(), [(2, 5)]),
    "Softplus(2, 1)": (lambda lib: lib.nn.Softplus(2.0, 1.0), [(2, 5)]),
    "Hardtanh(-0.5, 0.75)": (lambda lib: lib.nn.Hardtanh(-0.5, 0.75), [(2, 5)]),
    "Sequential": (
        lambda lib: lib.nn.Sequential(
            lib.nn.Linear(4, 6), lib.nn.BatchNorm1d(6), lib.nn.GELU(), lib.nn.Linear(6, 2)
        ),
        [(5, 4)],
    ),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_pytorch(name, dtype):
    """Two training steps then one in eval mode: outputs, gradients, buffers, state_dict."""
    make, shapes = LAYERS[name]
    inputs = [values(shape, dtype) for shape in shapes]
    check(module_case(make, inputs, modes=("train", "train", "eval")), NORM_TOLERANCE)


def test_activations_at_their_kinks_and_extremes():
    """Gradients where the formula switches (0, the bounds of Hardtanh) and far out."""
    points = np.array([-1e3, -30.0, -1.0, -0.5, 0.0, 0.75, 1.0, 30.0, 1e3])
    for make in (
        lambda lib: lib.nn.Hardtanh(-0.5, 0.75),
        lambda lib: lib.nn.ELU(),
        lambda lib: lib.nn.LeakyReLU(),
        lambda lib: lib.nn.ReLU(),
        lambda lib: lib.nn.SiLU(),
        lambda lib: lib.nn.GELU(),
        lambda lib: lib.nn.Softplus(),
    ):
        check(module_case(make, [points.copy()]))


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_layer_norm_over_drawn_shapes(dtype, data):
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4), label="shape")
    trailing = data.draw(st.integers(1, len(shape)), label="normalized dims")
    normalized = tuple(shape[len(shape) - trailing :])
    affine = data.draw(st.booleans(), label="elementwise_affine")
    bias = data.draw(st.booleans(), label="bias")
    eps = data.draw(st.sampled_from([1e-5, 1e-2, 0.5]), label="eps")
    x = drawn_array(data, tuple(shape), dtype)

    def make(lib):
        return lib.nn.LayerNorm(normalized, eps=eps, elementwise_affine=affine, bias=bias)

    check(module_case(make, [x]), NORM_TOLERANCE)


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_batch_norm_over_drawn_batches(dtype, data):
    """(N, C) or (N, C, L) with N * L > 1; momentum, affine, running statistics drawn; two
    training steps then eval."""
    batch = data.draw(st.integers(1, 4), label="N")
    channels = data.draw(st.integers(1, 3), label="C")
    length = data.draw(st.sampled_from([None, 1, 2, 3]), label="L")
    if batch * (length or 1) == 1:
        batch = 2
    shape = (batch, channels) if length is None else (batch, channels, length)
    momentum = data.draw(st.sampled_from([0.1, 0.5, None]), label="momentum")
    affine = data.draw(st.booleans(), label="affine")
    track = data.draw(st.booleans(), label="track_running_stats")
    x = drawn_array(data, shape, dtype)

    def make(lib):
        return lib.nn.BatchNorm1d(
            channels, momentum=momentum, affine=affine, track_running_stats=track
        )

    check(module_case(make, [x], modes=("train", "train", "eval")), NORM_TOLERANCE)


def test_batch_norm_running_statistics_over_many_steps():
    """Ten batches of different scale: the exponential and the cumulative averages."""

    def case(lib):
        out = []
        for momentum in (0.1, None):
            bn = lib.nn.BatchNorm1d(2, momentum=momentum).double()
            for step in range(10):
                bn(tensor(lib, values((3, 2, 4), scale=1.0 + step) + step))
            out += [bn.running_mean, bn.running_var, bn.num_batches_tracked]
        return out

    check(case)


# ---------------------------------------------------------------- Embedding


def _lookup(indices, **kwargs):
    """Embedding(6, 3, **kwargs) looking up `indices`."""
    index_array = np.array(indices)
    return module_case(
        lambda lib: lib.nn.Embedding(6, 3, **kwargs),
        [],
        call=lambda lib, module: module(lib.tensor(index_array)),
    )


EMBEDDINGS = {
    "lookup with repeats": _lookup([[0, 2, 2], [5, 1, 2]]),
    "padding_idx": _lookup([[0, 2, 2], [5, 1, 2]], padding_idx=2),
    "padding_idx=-1": _lookup([[5, 1, 5]], padding_idx=-1),
    "scale_grad_by_freq": _lookup([[0, 2, 2], [5, 2, 2]], scale_grad_by_freq=True),
    "padding and scale_grad_by_freq": _lookup(
        [[0, 2, 2], [5, 2, 1]], padding_idx=1, scale_grad_by_freq=True
    ),
    "max_norm renormalises the rows looked up": _lookup([[0, 3], [3, 4]], max_norm=1.0),
    "max_norm with norm_type=1": _lookup([[1, 3]], max_norm=1.5, norm_type=1.0),
    "max_norm above every norm": _lookup([[1, 3]], max_norm=100.0),
    "int32 indices": _lookup(np.array([1, 4], dtype=np.int32)),
    "0-d index": _lookup(3),
    "empty indices": _lookup(np.zeros((2, 0), dtype=np.int64)),
}


@pytest.mark.parametrize("case", cases(EMBEDDINGS))
def test_embedding_matches_pytorch(case):
    check(case)


def test_embedding_padding_row_is_zero_at_init_and_repr():
    def case(lib):
        lib.manual_seed(0)
        module = lib.nn.Embedding(5, 2, padding_idx=-2, max_norm=1, scale_grad_by_freq=True)
        return [module.weight[3], module.padding_idx, repr(module), module.weight.requires_grad]

    check(case)


def test_embedding_from_pretrained_shares_and_freezes():
    def case(lib):
        table = tensor(lib, values((4, 2)))
        frozen = lib.nn.Embedding.from_pretrained(table, padding_idx=1)
        trained = lib.nn.Embedding.from_pretrained(table, freeze=False, max_norm=0.5)
        out = trained(lib.tensor([0, 1]))
        out.sum().backward()
        return [
            frozen.weight.requires_grad,
            frozen.weight,  # the padding row is left as given
            frozen(lib.tensor([[1, 2]])),
            trained.weight.grad,
            table,  # renormalised in place through the shared memory
            repr(frozen),
        ]

    check(case)


def test_functional_embedding():
    def case(lib):
        weight = tensor(lib, values((5, 3)), requires_grad=True)
        out = functional(lib).embedding(lib.tensor([[4, 0], [4, 4]]), weight, padding_idx=0)
        out.backward(tensor(lib, values((2, 2, 3))))
        return [out, weight.grad]

    check(case)


# ---------------------------------------------------------------- functional forms


def test_functional_norms():
    def case(lib):
        f = functional(lib)
        x = tensor(lib, values((3, 2, 4)), requires_grad=True)
        w, b = tensor(lib, values((4,), scale=1.0)), tensor(lib, values((4,), scale=0.5))
        mean, var = tensor(lib, values((2,), scale=0.1)), tensor(lib, np.array([0.5, 2.0]))
        outs = [
            f.layer_norm(x, (4,), w, b, eps=1e-3),
            f.layer_norm(x, [2, 4]),
            f.batch_norm(x, mean, var, training=False),
            f.batch_norm(x, None, None, training=True, eps=1e-3),
            f.normalize(x),
            f.normalize(x, p=1.0, dim=-1),
            f.normalize(x * 0, dim=0),
        ]
        total = sum((o * tensor(lib, values(tuple(o.shape)))).sum() for o in outs)
        total.backward()
        return [*outs, x.grad]

    check(case, PROGRAM_TOLERANCE)


def test_functional_batch_norm_updates_the_running_statistics_in_place():
    def case(lib):
        mean, var = lib.zeros(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64)
        f = functional(lib)
        f.batch_norm(tensor(lib, values((5, 2))), mean, var, training=True)
        f.batch_norm(tensor(lib, values((5, 2)) * 3), mean, var, None, None, True, 0.3)
        return [mean, var]

    check(case)


# ---------------------------------------------------------------- bad arguments

REFUSED = {
    "LayerNorm input of the wrong trailing shape": lambda lib: lib.nn.LayerNorm(4)(lib.zeros(2, 3)),
    "LayerNorm input of too few dims": lambda lib: lib.nn.LayerNorm([2, 3])(lib.zeros(3)),
    "layer_norm normalized_shape=[]": lambda lib: functional(lib).layer_norm(lib.zeros(2), []),
    "layer_norm weight of another shape": lambda lib: functional(lib).layer_norm(
        lib.zeros(2, 3), (3,), lib.ones(2)
    ),
    "layer_norm bias of another shape": lambda lib: functional(lib).layer_norm(
        lib.zeros(2, 3), (3,), None, lib.ones(3, 1)
    ),
    "BatchNorm1d 1-d input": lambda lib: lib.nn.BatchNorm1d(3)(lib.zeros(3)),
    "BatchNorm1d 4-d input": lambda lib: lib.nn.BatchNorm1d(3)(lib.zeros(2, 3, 1, 1)),
    "BatchNorm1d one value per channel": lambda lib: lib.nn.BatchNorm1d(3)(lib.zeros(1, 3)),
    "BatchNorm1d one value per channel (N, C, 1)": lambda lib: lib.nn.BatchNorm1d(3)(
        lib.zeros(1, 3, 1)
    ),
    "BatchNorm1d wrong channel count": lambda lib: lib.nn.BatchNorm1d(3)(lib.zeros(4, 2)),
    "BatchNorm1d wrong channel count in eval": lambda lib: lib.nn.BatchNorm1d(3).eval()(
        lib.zeros(4, 2)
    ),
    "BatchNorm1d no affine, wrong channel count": lambda lib: lib.nn.BatchNorm1d(3, affine=False)(
        lib.zeros(4, 2)
    ),
    "batch_norm eps=0 while training": lambda lib: functional(lib).batch_norm(
        lib.zeros(4, 2), None, None, training=True, eps=0.0
    ),
    "batch_norm eval without running statistics": lambda lib: functional(lib).batch_norm(
        lib.zeros(4, 2), None, None
    ),
    "Embedding float indices": lambda lib: lib.nn.Embedding(4, 2)(lib.tensor([1.0])),
    "Embedding int16 indices": lambda lib: lib.nn.Embedding(4, 2)(lib.tensor([1]).short()),
    "Embedding index = num_embeddings": lambda lib: lib.nn.Embedding(4, 2)(lib.tensor([4])),
    "Embedding negative index": lambda lib: lib.nn.Embedding(4, 2)(lib.tensor([-1])),
    "Embedding padding_idx = num_embeddings": lambda lib: lib.nn.Embedding(4, 2, padding_idx=4),
    "Embedding padding_idx < -num_embeddings": lambda lib: lib.nn.Embedding(4, 2, padding_idx=-5),
    "Embedding _weight of another shape": lambda lib: lib.nn.Embedding(
        4, 2, _weight=lib.zeros(2, 4)
    ),
    "Embedding.from_pretrained of 1 dim": lambda lib: lib.nn.Embedding.from_pretrained(
        lib.zeros(4)
    ),
    "embedding padding_idx out of range": lambda lib: functional(lib).embedding(
        lib.tensor([0]), lib.zeros(3, 2), padding_idx=3
    ),
    "Hardtanh max_val <= min_val": lambda lib: lib.nn.Hardtanh(1.0, 0.5),
    "GELU('sigmoid') on call": lambda lib: lib.nn.GELU("sigmoid")(lib.zeros(2)),
    "Unflatten of an int size": lambda lib: lib.nn.Unflatten(1, 6),
    "Unflatten with a float size": lambda lib: lib.nn.Unflatten(1, (2, 3.0)),
    "Unflatten sizes that do not multiply": lambda lib: lib.nn.Unflatten(1, (2, 2))(
        lib.zeros(2, 6)
    ),
    "Flatten start after end": lambda lib: lib.nn.Flatten(2, 1)(lib.zeros(2, 3, 4)),
    "Linear input of the wrong size": lambda lib: lib.nn.Linear(3, 2)(lib.zeros(2, 4)),
}


@pytest.mark.parametrize("case", cases(REFUSED))
def test_bad_arguments_refused(case):
    check_raises(case)


ACCEPTED_OR_NOT = {
    "Embedding padding_idx=0 is kept as 0": lambda lib: (
        lib.nn.Embedding(3, 2, padding_idx=0).padding_idx
    ),
    "Embedding sparse=True gives the dense values": lambda lib: lib.nn.Embedding(
        3, 2, sparse=True, _weight=lib.ones(3, 2)
    )(lib.tensor([2])),
    "Hardtanh with min_value/max_value": lambda lib: lib.nn.Hardtanh(min_value=-2.0, max_value=2.0)(
        lib.tensor([-3.0, 3.0])
    ),
    "Identity passes the same tensor": lambda lib: (lambda x: lib.nn.Identity()(x) is x)(
        lib.zeros(2)
    ),
    "Softmax(dim=None) on 1 dim": lambda lib: lib.nn.Softmax()(lib.tensor([1.0, 2.0])),
}


@pytest.mark.parametrize("case", cases(ACCEPTED_OR_NOT))
def test_accepted_arguments(case):
    check_same(case)
