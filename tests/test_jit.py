"""tinygrad_rnn.jit: replays equal eager execution; signatures and refusals follow the rules."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.jit import JitError


def training_step(model, optimizer):
    def step(x, labels):
        logits = model(x)
        loss = tg.F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, (logits.argmax(axis=1) == labels).sum()

    return step


class Classifier(nn.Module):
    def __init__(self, kind="RNN"):
        super().__init__()
        self.rnn = getattr(nn, kind)(5, 6, num_layers=2, batch_first=True, generator=0)
        self.dense = nn.Linear(6, 3, generator=1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.dense(output[:, -1])


def pair(kind="RNN"):
    models = [Classifier(kind), Classifier(kind)]
    steps = [training_step(m, optim.Adam(m.parameters(), lr=0.01)) for m in models]
    return models, steps[0], tg.jit(steps[1])


def batch(seed, size=4, steps=7):
    rng = np.random.default_rng(seed)
    return tg.tensor(rng.standard_normal((size, steps, 5)), dtype=tg.float32), tg.tensor(
        rng.integers(0, 3, size)
    )


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_replayed_training_equals_eager_bit_for_bit(kind):
    (eager_model, jit_model), eager, jitted = pair(kind)
    for seed in range(5):
        x, labels = batch(seed)
        (loss_a, correct_a), (loss_b, correct_b) = eager(x, labels), jitted(x, labels)
        assert loss_a.item() == loss_b.item() and correct_a.item() == correct_b.item()
    assert jitted.captures == 1
    for a, b in zip(eager_model.parameters(), jit_model.parameters()):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())


@settings(max_examples=10)
@given(
    kind=st.sampled_from(["RNN", "LSTM", "GRU"]),
    steps=st.integers(1, 6),
    size=st.integers(1, 3),
    window=st.data(),
)
def test_replayed_gradients_equal_eager_on_drawn_problems(kind, steps, size, window):
    t_min = window.draw(st.integers(0, steps - 1))
    t_max = window.draw(st.integers(t_min, steps - 1))
    layer = getattr(nn, kind)(3, 4, num_layers=2, generator=0, dtype=tg.float64)

    def gradients(x):
        layer.zero_grad()
        output, _ = layer(x)
        output[t_min : t_max + 1].sum().backward()
        return [p.grad for p in layer.parameters()]

    jitted = tg.jit(gradients)
    rng = np.random.default_rng(steps * 10 + size)
    for _ in range(3):
        x = tg.tensor(rng.standard_normal((steps, size, 3)))
        replayed = [g.detach().cpu().numpy().copy() for g in jitted(x)]
        expected = [g.detach().cpu().numpy() for g in gradients(x)]
        for a, b in zip(replayed, expected):
            np.testing.assert_array_equal(a, b)


def test_a_new_signature_is_captured_anew():
    (eager_model, jit_model), eager, jitted = pair()
    for size in (4, 2, 4, 2):
        x, labels = batch(size, size=size)
        assert eager(x, labels)[0].item() == jitted(x, labels)[0].item()
    assert jitted.captures == 2
    for a, b in zip(eager_model.parameters(), jit_model.parameters()):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())


def test_non_tensor_arguments_are_part_of_the_signature():
    calls = []

    @tg.jit
    def scaled(x, factor):
        calls.append(factor)
        return x * factor

    x = tg.ones(3)
    assert scaled(x, 2.0).tolist() == [2.0] * 3
    assert scaled(x, 3.0).tolist() == [3.0] * 3
    assert scaled(tg.full((3,), 5.0), 2.0).tolist() == [10.0] * 3
    assert calls == [2.0, 3.0]  # the third call was a replay


def test_reset_forgets_captures_after_python_state_changes():
    layer = nn.Dropout(0.5, generator=0)
    forward = tg.jit(lambda x: layer(x) * 1)
    layer.eval()
    forward(tg.ones(4))
    layer.train()  # the capture froze eval mode: still the identity
    assert forward(tg.ones(4)).tolist() == [1.0] * 4
    forward.reset()
    assert forward.captures == 0
    with pytest.raises(JitError, match="dropout"):  # a fresh capture sees training mode
        forward(tg.ones(4))


def test_outputs_keep_their_structure_and_carry_no_graph():
    @tg.jit
    def parts(x):
        y = x * 2
        return {"double": y, "pair": (y + 1, x)}, 7

    x = tg.ones(2, requires_grad=True)
    parts(x)
    out, seven = parts(tg.full((2,), 3.0, requires_grad=True))
    assert seven == 7 and out["double"].tolist() == [6.0, 6.0]
    assert out["pair"][0].tolist() == [7.0, 7.0] and not out["double"].requires_grad


def test_named_tuples_come_back_whole():
    from collections import namedtuple

    Pair = namedtuple("Pair", "low high")
    spread = tg.jit(lambda x: Pair(x - 1, x + 1))
    spread(tg.ones(2))
    result = spread(tg.full((2,), 5.0))
    assert isinstance(result, Pair) and result.high.tolist() == [6.0, 6.0]


def test_in_place_changes_to_parameters_are_seen():
    layer = nn.Linear(2, 2, generator=0)
    forward = tg.jit(lambda x: layer(x))
    x = tg.ones(1, 2)
    forward(x)
    layer.load_state_dict({"weight": np.eye(2), "bias": np.zeros(2)})
    assert forward(x).tolist() == [[1.0, 1.0]]


def test_scheduler_steps_are_replayed():
    weight = tg.ones(1, requires_grad=True)
    optimizer = optim.SGD([weight], lr=1.0)
    scheduler = optim.StepLR(optimizer, step_size=1, gamma=0.5)

    @tg.jit
    def step(x):
        optimizer.zero_grad()
        (weight * x).sum().backward()
        optimizer.step()
        scheduler.step()

    for _ in range(3):
        step(tg.ones(1))
    assert weight.item() == pytest.approx(1 - 1 - 0.5 - 0.25)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.125)


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        (lambda x: x.sum().item(), r"item\(\)"),
        (lambda x: x * 2 if x.sum() else x, "truth value"),
        (lambda x: x + tg.randn(3, generator=0), "random numbers"),
        (lambda x: tg.F.dropout(x, 0.5, generator=0), "dropout"),
        (lambda x: (x * 2).retain_grad(), "retain_grad"),
        (lambda x: (x * 2).backward(tg.ones(3)), "explicit gradient"),
        (lambda x: tg.tensor(x * 2), r"tensor\(tensor\)"),
        (lambda x: (x * 2).add_(1), "in-place"),
    ],
)
def test_what_a_replay_cannot_reproduce_is_refused_at_capture(body, pattern):
    with pytest.raises(JitError, match=pattern):
        tg.jit(body)(tg.ones(3, requires_grad=True))


def test_dead_ops_are_not_replayed_but_checks_are():
    from tinygrad_rnn.autograd import Function
    from tinygrad_rnn.dispatch import apply as _apply

    calls = {"pure": 0, "effect": 0}

    class Counted(Function):
        def forward(self, a):
            calls["pure"] += 1
            return a

    class Check(Counted):
        pure = False

        def forward(self, a):
            calls["effect"] += 1
            return a

    @tg.jit
    def double(x):
        _apply(Counted, x)  # its result is never used
        _apply(Check, x)
        return x * 2

    for _ in range(3):
        assert double(tg.ones(2)).tolist() == [2.0, 2.0]
    assert calls == {"pure": 1, "effect": 3}


def test_labels_are_checked_in_every_replay():
    loss = tg.jit(lambda logits, labels: tg.F.cross_entropy(logits, labels))
    logits = tg.ones(2, 3)
    loss(logits, tg.tensor([0, 2]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        loss(logits, tg.tensor([-1, 0]))


def test_backward_into_a_graph_built_outside_is_refused():
    outside = tg.ones(3, requires_grad=True) * 2
    with pytest.raises(JitError, match="outside the captured function"):
        tg.jit(lambda x: (outside * x).sum().backward())(tg.ones(3))


def test_arrays_must_be_passed_as_tensors():
    with pytest.raises(JitError, match="pass arrays as tensors"):
        tg.jit(lambda x: x)(np.ones(3))


def test_jit_takes_cuda_graphs_as_a_keyword_and_uses_none_on_the_cpu():
    w = tg.tensor([1.0, 2.0], requires_grad=True)

    @tg.jit(cuda_graphs=False)
    def plain(x):
        return (x * w).sum()

    graphed = tg.jit(lambda x: (x * w).sum())
    x = tg.tensor([3.0, 4.0])
    for _ in range(3):
        assert plain(x).item() == graphed(x).item() == 11.0
    assert plain.cuda_graphs is False and graphed.cuda_graphs is True
    assert plain.graphed == graphed.graphed == 0  # graphs are for "cuda" only
