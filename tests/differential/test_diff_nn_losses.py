"""Loss modules and their functional forms against PyTorch: values and gradients of input,
target (where PyTorch gives one) and nothing else, every reduction, class weights,
ignore_index and label smoothing over drawn (N, C, d...) shapes, buffers in the state_dict,
and the inputs PyTorch refuses."""

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
REDUCTIONS = ["mean", "sum", "none"]


def values(shape, scale=1.5, offset=0.3):
    count = int(np.prod(shape))
    return (scale * np.sin(np.arange(count) * 2.1 + offset)).reshape(shape)


def probabilities(shape, offset=0.0):
    """Values strictly inside (0, 1)."""
    return 0.5 + 0.45 * np.sin(np.arange(int(np.prod(shape))) * 1.7 + offset).reshape(shape)


def loss_case(make, input_, target, dtype="float64", target_grad=True):
    """make(lib) applied to (input, target); the target requires grad when floating and
    `target_grad`."""
    arrays = [input_.astype(dtype)]
    if target.dtype.kind == "f":
        arrays.append(target.astype(dtype))
        if target_grad:
            return module_case(make, arrays)
        fixed = arrays.pop()
        return module_case(make, arrays, call=lambda lib, m, x: m(x, lib.tensor(fixed)))
    return module_case(make, arrays, call=lambda lib, m, x: m(x, lib.tensor(target)))


LABELS = np.array([2, 0, 3, 3, 1])
LOGITS = values((5, 4))
SPATIAL_LABELS = np.array([[[0, 2, 1], [3, 3, 0]], [[1, 1, 2], [0, 3, 2]]])
SPATIAL_LOGITS = values((2, 4, 2, 3))
WEIGHT = np.array([0.5, 2.0, 1.0, 0.25])


def _weight(lib, dtype="float64"):
    return lib.tensor(WEIGHT.astype(dtype))


LOSSES = {
    "MSELoss": (lambda lib, r: lib.nn.MSELoss(reduction=r), LOGITS, values((5, 4), offset=1)),
    "L1Loss": (lambda lib, r: lib.nn.L1Loss(reduction=r), LOGITS, values((5, 4), offset=1)),
    "SmoothL1Loss": (
        lambda lib, r: lib.nn.SmoothL1Loss(reduction=r),
        LOGITS,
        values((5, 4), offset=1),
    ),
    "SmoothL1Loss beta=0.5": (
        lambda lib, r: lib.nn.SmoothL1Loss(reduction=r, beta=0.5),
        LOGITS,
        values((5, 4), offset=1),
    ),
    "SmoothL1Loss beta=0": (
        lambda lib, r: lib.nn.SmoothL1Loss(reduction=r, beta=0.0),
        LOGITS,
        values((5, 4), offset=1),
    ),
    "HuberLoss delta=0.7": (
        lambda lib, r: lib.nn.HuberLoss(reduction=r, delta=0.7),
        LOGITS,
        values((5, 4), offset=1),
    ),
    "BCELoss": (
        lambda lib, r: lib.nn.BCELoss(reduction=r),
        probabilities((5, 4)),
        probabilities((5, 4), 1),
    ),
    "BCELoss weight": (
        lambda lib, r: lib.nn.BCELoss(weight=_weight(lib), reduction=r),
        probabilities((5, 4)),
        probabilities((5, 4), 1),
    ),
    "BCEWithLogitsLoss": (
        lambda lib, r: lib.nn.BCEWithLogitsLoss(reduction=r),
        LOGITS * 10,
        probabilities((5, 4), 1),
    ),
    "BCEWithLogitsLoss weight pos_weight": (
        lambda lib, r: lib.nn.BCEWithLogitsLoss(
            weight=_weight(lib)[:1], pos_weight=_weight(lib), reduction=r
        ),
        LOGITS * 10,
        probabilities((5, 4), 1),
    ),
    "NLLLoss": (lambda lib, r: lib.nn.NLLLoss(reduction=r), LOGITS, LABELS),
    "NLLLoss weight ignore_index": (
        lambda lib, r: lib.nn.NLLLoss(weight=_weight(lib), ignore_index=3, reduction=r),
        LOGITS,
        LABELS,
    ),
    "CrossEntropyLoss": (lambda lib, r: lib.nn.CrossEntropyLoss(reduction=r), LOGITS, LABELS),
    "CrossEntropyLoss weight": (
        lambda lib, r: lib.nn.CrossEntropyLoss(weight=_weight(lib), reduction=r),
        LOGITS,
        LABELS,
    ),
    "CrossEntropyLoss ignore_index label_smoothing": (
        lambda lib, r: lib.nn.CrossEntropyLoss(ignore_index=0, label_smoothing=0.2, reduction=r),
        LOGITS,
        LABELS,
    ),
    "CrossEntropyLoss all options (N, C, d1, d2)": (
        lambda lib, r: lib.nn.CrossEntropyLoss(
            weight=_weight(lib), ignore_index=2, label_smoothing=0.1, reduction=r
        ),
        SPATIAL_LOGITS,
        SPATIAL_LABELS,
    ),
    "CrossEntropyLoss unbatched (C,)": (
        lambda lib, r: lib.nn.CrossEntropyLoss(label_smoothing=0.3, reduction=r),
        LOGITS[0],
        np.array(2),
    ),
    "CrossEntropyLoss probabilities": (
        lambda lib, r: lib.nn.CrossEntropyLoss(reduction=r),
        LOGITS,
        np.abs(values((5, 4), offset=1)),
    ),
    "CrossEntropyLoss probabilities weight label_smoothing": (
        lambda lib, r: lib.nn.CrossEntropyLoss(
            weight=_weight(lib), label_smoothing=0.25, reduction=r
        ),
        SPATIAL_LOGITS,
        np.abs(values((2, 4, 2, 3), offset=1)),
    ),
    "CrossEntropyLoss uint8 labels": (
        lambda lib, r: lib.nn.CrossEntropyLoss(reduction=r),
        LOGITS,
        LABELS.astype(np.uint8),
    ),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_matches_pytorch_in_float64(name, reduction):
    make, input_, target = LOSSES[name]
    check(loss_case(lambda lib: make(lib, reduction), input_, target))


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_matches_pytorch_in_float32(name):
    make, input_, target = LOSSES[name]
    check(loss_case(lambda lib: make(lib, "mean"), input_, target, "float32"), PROGRAM_TOLERANCE)


def test_loss_modules_print_and_keep_their_weights_as_buffers():
    def case(lib):
        weighted = lib.nn.CrossEntropyLoss(weight=_weight(lib), label_smoothing=0.1)
        logits = lib.nn.BCEWithLogitsLoss(pos_weight=_weight(lib))
        return [
            repr(weighted),
            repr(lib.nn.HuberLoss(delta=2.0)),
            list(weighted.state_dict()),
            list(logits.state_dict()),
            list(lib.nn.NLLLoss().state_dict()),
            weighted.double().weight,
            [weighted.reduction, weighted.ignore_index, weighted.label_smoothing],
            [lib.nn.SmoothL1Loss(beta=0.5).beta, lib.nn.HuberLoss(delta=2.0).delta],
        ]

    check(case)


def test_legacy_size_average_and_reduce():
    def case(lib):
        x, y = tensor(lib, LOGITS), tensor(lib, values((5, 4), offset=1))
        f = functional(lib)
        return [
            lib.nn.MSELoss(size_average=False).reduction,
            lib.nn.L1Loss(reduce=False).reduction,
            lib.nn.CrossEntropyLoss(size_average=True, reduce=True).reduction,
            f.mse_loss(x, y, size_average=False),
            f.l1_loss(x, y, reduce=False),
            f.nll_loss(x, lib.tensor(LABELS), size_average=False),
        ]

    check(case)


def test_binary_cross_entropy_at_zero_and_one():
    """PyTorch's gradients where p is exactly 0 or 1 (the clamped logs' derivative would
    be 0): (p - y) / max(p (1 - p), 1e-12) for p and -logit(p) for y."""
    p, y = np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([0.5, 0.5, 0.0, 1.0, 0.25])
    check(loss_case(lambda lib: lib.nn.BCELoss(reduction="sum"), p, y))


def test_binary_cross_entropy_with_logits_far_out_and_at_zero():
    x = np.array([-800.0, -40.0, -1.0, 0.0, 0.0, 1.0, 40.0, 800.0])
    y = np.array([0.5, 1.0, 0.0, 0.3, 1.0, 1.0, 0.0, 0.5])
    for pos_weight in (None, np.linspace(0.5, 3.0, 8)):

        def make(lib, pos_weight=pos_weight):
            weight = None if pos_weight is None else lib.tensor(pos_weight)
            return lib.nn.BCEWithLogitsLoss(pos_weight=weight, reduction="sum")

        check(loss_case(make, x, y))


def test_loss_functional_weights():
    def case(lib):
        f = functional(lib)
        x = tensor(lib, LOGITS, requires_grad=True)
        y, w = tensor(lib, values((5, 4), offset=1)), tensor(lib, probabilities((5, 4)))
        outs = [
            f.mse_loss(x, y, weight=w),
            f.l1_loss(x, y, weight=w, reduction="sum"),
            f.huber_loss(x, y, weight=w, delta=0.5),
            f.mse_loss(x, y[0]),  # broadcast, with PyTorch's warning
            f.logsigmoid(x),
        ]
        sum(o.sum() for o in outs).backward()
        return [*outs, x.grad]

    check(case)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@given(data=st.data())
def test_cross_entropy_over_drawn_shapes(dtype, data):
    """(N, C, d...) or (C,) logits, labels with ignored ones, class weights, smoothing."""
    classes = data.draw(st.integers(1, 4), label="C")
    batch_dims = data.draw(st.sampled_from([(), (3,), (2, 3), (2, 1, 2), (0,)]), label="(N, d...)")
    shape = (classes,) if not batch_dims else (batch_dims[0], classes, *batch_dims[1:])
    logits = drawn_array(data, shape, dtype)
    label_shape = batch_dims[:1] + batch_dims[1:]
    labels = np.array(
        data.draw(
            st.lists(
                st.integers(0, classes - 1),
                min_size=int(np.prod(label_shape)),
                max_size=int(np.prod(label_shape)),
            )
        ),
        dtype=np.int64,
    ).reshape(label_shape)
    ignore_index = data.draw(st.sampled_from([-100, 0, classes - 1]), label="ignore_index")
    weight = data.draw(st.booleans(), label="weight") and (
        0.25 + np.arange(classes, dtype=dtype) / 2
    )
    reduction = data.draw(st.sampled_from(REDUCTIONS), label="reduction")
    smoothing = data.draw(st.sampled_from([0.0, 0.1, 1.0]), label="label_smoothing")
    loss = data.draw(st.sampled_from(["CrossEntropyLoss", "NLLLoss"]), label="loss")

    def make(lib):
        kwargs = {"weight": None if weight is False else lib.tensor(weight)}
        kwargs.update(ignore_index=ignore_index, reduction=reduction)
        if loss == "CrossEntropyLoss":
            kwargs["label_smoothing"] = smoothing
        return getattr(lib.nn, loss)(**kwargs)

    check_same(loss_case(make, logits, labels, dtype), PROGRAM_TOLERANCE)


REFUSED = {
    "reduction='average'": lambda lib: lib.nn.MSELoss(reduction="average")(
        lib.zeros(2), lib.zeros(2)
    ),
    "cross_entropy reduction='average'": lambda lib: lib.nn.CrossEntropyLoss(reduction="average")(
        lib.zeros(2, 3), lib.tensor([0, 1])
    ),
    "huber delta=0": lambda lib: lib.nn.HuberLoss(delta=0.0)(lib.zeros(2), lib.zeros(2)),
    "smooth_l1 beta=-1": lambda lib: lib.nn.SmoothL1Loss(beta=-1.0)(lib.zeros(2), lib.zeros(2)),
    "weighted mse of another shape": lambda lib: functional(lib).mse_loss(
        lib.zeros(2), lib.zeros(2), weight=lib.ones(3)
    ),
    "BCE input above 1": lambda lib: lib.nn.BCELoss()(lib.tensor([1.5]), lib.tensor([1.0])),
    "BCE input below 0": lambda lib: lib.nn.BCELoss()(lib.tensor([-0.5]), lib.tensor([1.0])),
    "BCE input NaN": lambda lib: lib.nn.BCELoss()(lib.tensor([float("nan")]), lib.tensor([1.0])),
    "BCE target of another shape": lambda lib: lib.nn.BCELoss()(lib.ones(2) / 2, lib.ones(2, 1)),
    "BCE target of another dtype": lambda lib: lib.nn.BCELoss()(
        lib.ones(2) / 2, lib.ones(2, dtype=lib.float64)
    ),
    "BCE weight that broadcasts the target": lambda lib: lib.nn.BCELoss(weight=lib.ones(2, 1))(
        lib.ones(3) / 2, lib.ones(3)
    ),
    "BCEWithLogits target of another shape": lambda lib: lib.nn.BCEWithLogitsLoss()(
        lib.zeros(2), lib.zeros(1, 2)
    ),
    "BCEWithLogits integer target": lambda lib: lib.nn.BCEWithLogitsLoss()(
        lib.zeros(2), lib.tensor([1, 0])
    ),
    "cross_entropy label_smoothing=1.5": lambda lib: lib.nn.CrossEntropyLoss(label_smoothing=1.5)(
        lib.zeros(2, 3), lib.tensor([0, 1])
    ),
    "cross_entropy probabilities with ignore_index=0": lambda lib: lib.nn.CrossEntropyLoss(
        ignore_index=0
    )(lib.zeros(2, 3), lib.ones(2, 3) / 3),
    "cross_entropy integer target shaped like the input": lambda lib: lib.nn.CrossEntropyLoss()(
        lib.zeros(2, 3), lib.zeros(2, 3, dtype=lib.int64)
    ),
    "cross_entropy float labels": lambda lib: lib.nn.CrossEntropyLoss()(
        lib.zeros(2, 3), lib.tensor([0.0, 1.0])
    ),
    "cross_entropy int32 labels": lambda lib: lib.nn.CrossEntropyLoss()(
        lib.zeros(2, 3), lib.tensor([0, 1], dtype=lib.int32)
    ),
    "cross_entropy weight of C - 1 classes": lambda lib: lib.nn.CrossEntropyLoss(
        weight=lib.ones(2)
    )(lib.zeros(2, 3), lib.tensor([0, 1])),
    "cross_entropy float64 weight for float32 logits": lambda lib: lib.nn.CrossEntropyLoss(
        weight=lib.ones(3, dtype=lib.float64)
    )(lib.zeros(2, 3), lib.tensor([0, 1])),
    "nll_loss label = C": lambda lib: lib.nn.NLLLoss()(lib.zeros(2, 3), lib.tensor([0, 3])),
    "nll_loss label -1": lambda lib: lib.nn.NLLLoss()(lib.zeros(2, 3), lib.tensor([0, -1])),
    "nll_loss batch mismatch": lambda lib: lib.nn.NLLLoss()(lib.zeros(2, 3), lib.tensor([0])),
    "nll_loss 2-d labels for 2-d input": lambda lib: lib.nn.NLLLoss()(
        lib.zeros(2, 3), lib.zeros(2, 2, dtype=lib.int64)
    ),
    "nll_loss spatial labels of another shape": lambda lib: lib.nn.NLLLoss()(
        lib.zeros(2, 3, 4), lib.zeros(2, 5, dtype=lib.int64)
    ),
    "nll_loss 0-d input": lambda lib: lib.nn.NLLLoss()(lib.zeros(()), lib.tensor(0)),
}


@pytest.mark.parametrize("case", cases(REFUSED))
def test_bad_inputs_refused(case):
    check_raises(case)
