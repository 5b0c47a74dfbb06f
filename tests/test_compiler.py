"""The compiler behind tg.jit: compiled calls equal eager execution bit for bit, per dtype, on
drawn programs and on the recurrent layers; buffers and stacked operands as planned."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import F, nn, optim
from tinygrad_rnn.jit.fusion import fuse

DTYPES = [tg.float32, tg.float64]


def _arrays(tensors):
    return [None if t is None else t.detach().cpu().numpy().copy() for t in tensors]


# ---------------------------------------------------------------- drawn programs


def _program(codes, operands, use_labels):
    """A function of x (B, H) using parameters w (H, H) and b (H,): each code applies one op
    to earlier values (picked by `operands`); the loss sums a few of them."""

    def run(x, w, b, labels):
        values = [x]
        for code, (i, j) in zip(codes, operands):
            a, c = values[i % len(values)], values[j % len(values)]
            if code == "add":
                values.append(a + c)
            elif code == "sub":
                values.append(a - c)
            elif code == "mul":
                values.append(a * c)
            elif code == "tanh":
                values.append(a.tanh())
            elif code == "sigmoid":
                values.append(a.sigmoid())
            elif code == "relu":
                values.append(a.relu())
            elif code == "neg":
                values.append(-a)
            elif code == "add_tanh":
                values.append(F.add_tanh(a, c))
            elif code == "matmul":
                values.append(a @ w)
            elif code == "bias":
                values.append(a + b)  # broadcast: b's gradient is summed over rows
            elif code == "stack":
                values.append(tg.stack([a, c, a])[1])
            elif code == "transpose":
                values.append(a.T.T * 1.5)
            elif code == "reshape":
                values.append(a.reshape(-1).reshape(a.shape) - 0.5)
        loss = sum(v.sum() for v in values[-3:])
        if use_labels:
            loss = loss + F.cross_entropy(values[-1], labels)
        loss.backward()
        return loss

    return run


CODES = ["add", "sub", "mul", "tanh", "sigmoid", "relu", "neg", "add_tanh", "matmul", "bias"]
CODES += ["stack", "transpose", "reshape"]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@settings(max_examples=80, deadline=None)
@given(
    codes=st.lists(st.sampled_from(CODES), min_size=1, max_size=8),
    operands=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=8, max_size=8),
    use_labels=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_compiled_gradients_equal_eager_bit_for_bit(dtype, codes, operands, use_labels, seed):
    """The bound on |compiled - eager| is zero in float32 and float64 alike: a compiled call
    runs the same array operations in the same order (only into planned buffers)."""
    rng = np.random.default_rng(seed)
    w = tg.tensor(rng.standard_normal((4, 4)) * 0.5, dtype=dtype, requires_grad=True)
    b = tg.tensor(rng.standard_normal(4), dtype=dtype, requires_grad=True)
    run = _program(codes, operands, use_labels)
    compiled = tg.jit(run)
    for _ in range(3):
        x = tg.tensor(rng.standard_normal((3, 4)), dtype=dtype, requires_grad=True)
        labels = tg.tensor(rng.integers(0, 4, 3))
        results = []
        for step in (compiled, run):
            w.grad = b.grad = x.grad = None
            loss = step(x, w, b, labels)
            results.append(_arrays([loss, w.grad, b.grad, x.grad]))
        for got, expected in zip(*results):
            assert (got is None) == (expected is None)
            if got is not None:
                np.testing.assert_array_equal(got, expected)
    assert compiled.captures == 1


# ---------------------------------------------------------------- recurrent layers


def training_step(model, optimizer, loss_of=None):
    """step(*inputs): the loss (model(x) against labels by cross-entropy, or loss_of(*inputs)),
    zero_grad, backward, optimizer.step; returns the loss."""

    def step(*inputs):
        if loss_of is None:
            x, labels = inputs
            loss = F.cross_entropy(model(x), labels)
        else:
            loss = loss_of(*inputs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


class Classifier(nn.Module):
    def __init__(self, kind, dtype, **options):
        super().__init__()
        self.rnn = getattr(nn, kind)(5, 6, batch_first=True, generator=0, dtype=dtype, **options)
        self.dense = nn.Linear(6 * (2 if options.get("bidirectional") else 1), 3, generator=1)
        self.dense.to(dtype)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.dense(output[:, -1])


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("RNN", {}),
        ("RNN", {"nonlinearity": "relu", "num_layers": 3}),
        ("LSTM", {"num_layers": 2}),
        ("GRU", {"bidirectional": True}),
    ],
)
def test_training_steps_equal_eager_bit_for_bit(kind, options, dtype):
    models = [Classifier(kind, dtype, **options) for _ in range(2)]
    optimizers = [optim.Adam(m.parameters(), lr=0.01) for m in models]
    eager = training_step(models[0], optimizers[0])
    compiled = tg.jit(training_step(models[1], optimizers[1]))
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = tg.tensor(rng.standard_normal((4, 7, 5)), dtype=dtype)
        labels = tg.tensor(rng.integers(0, 3, 4))
        assert eager(x, labels).item() == compiled(x, labels).item()
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


# ---------------------------------------------------------------- what the passes do


def _book_step(steps=28, batch=8):
    model = Classifier("RNN", tg.float32)
    step = tg.jit(training_step(model, optim.Adam(model.parameters(), lr=1e-3)))
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((batch, steps, 5)), dtype=tg.float32)
    labels = tg.tensor(rng.integers(0, 3, batch))
    return step, x, labels


def test_source_is_straight_line_numpy_with_planned_buffers():
    step, x, labels = _book_step(steps=4)
    step(x, labels)
    source = step.source()
    assert "def allocate():" in source and "def run(arguments, tensors):" in source
    assert "matmul(" in source and "tanh(" in source and ", out=" in source
    assert "adam_zero_grad" in source and "adam__update_parameters" in source  # run live
    assert "AddTanh" not in source and "MatMul" not in source  # written out by rules
    # the weight's per-step products: one product over operands written where they stack
    assert "stack(" not in source and ".reshape(32, 6).T" in source


def test_buffers_persist_between_calls_and_outputs_do_not():
    step, x, labels = _book_step()
    step(x, labels)
    first, second = step(x, labels), step(x, labels)
    assert first.array is not second.array  # an output is the caller's own array
    (record,) = step.records.values()
    buffers = record.compiled.buffers
    assert buffers and all(len(b.values) >= 1 for b in buffers)
    assert sum(len(b.values) for b in buffers) > len(buffers)  # reused once dead


def test_a_parameter_with_a_new_layout_is_captured_anew():
    layer = nn.Linear(3, 2, generator=0)
    forward = tg.jit(lambda x: layer(x).tanh())
    x = tg.ones(4, 3)
    forward(x)
    forward(x)
    layer.weight.array = np.asfortranarray(layer.weight.array)  # same values, other strides
    np.testing.assert_array_equal(forward(x).detach().numpy(), layer(x).tanh().detach().numpy())
    assert forward.captures == 1 and len(forward.records) == 1


def test_fusion_reads_elementwise_statements_back_as_expressions():
    lines = [
        "multiply(t16, t16, out=g11)",
        "subtract(1, g11, out=g11)",
        "multiply(g11, v10, out=g11)",
    ]
    fused = fuse(lines, {"g11"})
    inputs, outputs, body = fused.c_source()
    assert (inputs, outputs) == ("T t16, T v10", "T g11")
    assert "g11 = ((1 - (in_t16 * in_t16)) * in_v10);" in body
    rng = np.random.default_rng(0)
    arrays = {"t16": rng.standard_normal(5), "v10": rng.standard_normal(5)}
    expected = (1 - arrays["t16"] * arrays["t16"]) * arrays["v10"]
    np.testing.assert_array_equal(fused.evaluate(arrays)["g11"], expected)
    assert fuse(["matmul(a, b, out=c)"], {"c"}) is None


def test_every_fusible_statement_of_a_step_evaluates_as_its_lines():
    """What the CUDA lowering would launch as one kernel per statement, checked with NumPy."""
    step, x, labels = _book_step(steps=3)
    step(x, labels)
    (record,) = step.records.values()
    compiled = record.compiled
    checked = 0
    for statement in compiled.program.statements:
        if callable(statement.lines) or not statement.lines or len(statement.lines) < 2:
            continue
        names = {v.name for v in statement.writes}
        fused = fuse(statement.lines, names)
        if fused is None:
            continue
        rng = np.random.default_rng(checked)
        arrays = {n: rng.standard_normal(6).astype(np.float32) for n in fused.inputs}
        scope = {**compiled.namespace, **{n: a.copy() for n, a in arrays.items()}}
        for name in names:
            scope.setdefault(name, np.empty(6, np.float32))
            if name not in arrays:
                scope[name] = np.empty(6, np.float32)
        exec("\n".join(statement.lines), scope)
        for name, value in fused.evaluate(arrays).items():
            np.testing.assert_allclose(scope[name], value, rtol=1e-6)
        checked += 1
    assert checked >= 2


def test_an_lstm_cell_is_written_as_its_array_code_into_planned_buffers():
    model = Classifier("LSTM", tg.float32)
    step = tg.jit(training_step(model, optim.SGD(model.parameters(), lr=0.1)))
    x = tg.tensor(np.random.default_rng(0).standard_normal((4, 6, 5)), dtype=tg.float32)
    step(x, tg.tensor([0, 1, 2, 0]))
    source = step.source()
    assert source.count("lstm_forward_into(") == 6 and source.count("lstm_backward_into(") == 6
    assert "LSTMCell" not in source  # no step runs the Function itself


class _NormTagger(nn.Module):
    """Batch norm over transposed views: the one place a compiled step sums in another order."""

    def __init__(self, dtype):
        super().__init__()
        self.embed = nn.Embedding(7, 4, generator=0, dtype=dtype)
        self.bn = nn.BatchNorm1d(4, dtype=dtype)
        self.out = nn.Linear(4, 3, generator=1, dtype=dtype)

    def forward(self, tokens):
        logits = self.out(self.bn(self.embed(tokens).transpose(1, 2)).transpose(1, 2))
        return (logits * tg.arange(45.0, dtype=logits.dtype).reshape(3, 5, 3).sin()).sum()


@pytest.mark.parametrize(("dtype", "tolerance"), [(tg.float32, 1e-5), (tg.float64, 1e-13)])
def test_reductions_over_relaid_buffers_agree_with_eager_to_rounding(dtype, tolerance):
    models = [_NormTagger(dtype) for _ in range(2)]
    optimizers = [optim.SGD(m.parameters(), lr=0.1) for m in models]
    eager = training_step(models[0], optimizers[0], models[0])
    compiled = tg.jit(training_step(models[1], optimizers[1], models[1]))
    rng = np.random.default_rng(0)
    for _ in range(5):
        tokens = tg.tensor(rng.integers(0, 7, (3, 5)))
        loss = eager(tokens).item()
        np.testing.assert_allclose(compiled(tokens).item(), loss, rtol=tolerance, atol=tolerance)
        for a, b in zip(models[0].parameters(), models[1].parameters()):
            scale = max(1.0, float(np.abs(a.grad.numpy()).max()))
            np.testing.assert_allclose(
                b.grad.numpy(), a.grad.numpy(), rtol=0, atol=tolerance * scale
            )


def test_values_nothing_uses_are_not_computed():
    """A layer's whole output sequence when only its last state is used, and a value computed
    but never returned: dropped from the program, the results unchanged."""
    models = [Classifier("RNN", tg.float64) for _ in range(2)]

    def step_of(model):
        def step(x, labels):
            output, h_n = model.rnn(x)
            unused = (output * 2).tanh().sum()  # noqa: F841 - computed, never used
            loss = F.cross_entropy(model.dense(h_n[0]), labels)
            loss.backward()
            return loss

        return step

    eager, compiled = step_of(models[0]), tg.jit(step_of(models[1]))
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = tg.tensor(rng.standard_normal((4, 6, 5)))
        labels = tg.tensor(rng.integers(0, 3, 4))
        assert eager(x, labels).item() == compiled(x, labels).item()
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    source = compiled.source()
    assert source.count("tanh(") == 6  # the 6 steps': (output * 2).tanh() is gone
    assert "stack(" not in source
