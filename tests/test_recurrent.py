"""BPTT through the recurrent layers: finite differences, an independent NumPy BPTT, windows
of outputs, shared weights, truncation and the per-step gradient norms."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn

KINDS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


@st.composite
def problems(draw, kinds=tuple(KINDS)):
    steps = draw(st.integers(1, 6))
    t_min = draw(st.integers(0, steps - 1))
    return {
        "kind": draw(st.sampled_from(kinds)),
        "steps": steps,
        "batch": draw(st.integers(1, 3)),
        "inputs": draw(st.integers(1, 4)),
        "hidden": draw(st.integers(1, 4)),
        "layers": draw(st.integers(1, 2)),
        "nonlinearity": draw(st.sampled_from(["tanh", "relu"])),
        "window": (t_min, draw(st.integers(t_min, steps - 1))),
        "seed": draw(st.integers(0, 2**16)),
    }


def build(problem):
    kwargs = {"num_layers": problem["layers"], "generator": problem["seed"], "dtype": tg.float64}
    if problem["kind"] == "RNN":
        kwargs["nonlinearity"] = problem["nonlinearity"]
    layer = KINDS[problem["kind"]](problem["inputs"], problem["hidden"], **kwargs)
    rng = np.random.default_rng(problem["seed"] + 1)
    shape = (problem["steps"], problem["batch"], problem["inputs"])
    x = tg.tensor(rng.standard_normal(shape), requires_grad=True)
    state_shape = (problem["layers"], problem["batch"], problem["hidden"])
    states = [
        tg.tensor(rng.standard_normal(state_shape) * 0.5, requires_grad=True)
        for _ in range(2 if problem["kind"] == "LSTM" else 1)
    ]
    return layer, x, states


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=15)
@given(data=st.data())
def test_gradcheck_input_state_and_every_parameter(kind, data):
    problem = data.draw(problems(kinds=(kind,)))
    layer, x, states = build(problem)
    t_min, t_max = problem["window"]

    def window_of_outputs(x, *states_and_params):
        hx = tuple(states_and_params[: len(states)]) if len(states) == 2 else states_and_params[0]
        output, _ = layer(x, hx)
        return output[t_min : t_max + 1]

    assert tg.gradcheck(window_of_outputs, [x, *states, *layer.parameters()], seed=problem["seed"])


def numpy_bptt(x, h0, w_ih, w_hh, b_ih, b_hh, upstream, window, truncate=None):
    """Hand-written BPTT of a tanh RNN; cost: sum over the window of <upstream_t, h_t>."""
    steps = x.shape[0]
    hs = [h0]
    for t in range(steps):
        hs.append(np.tanh(x[t] @ w_ih.T + b_ih + hs[-1] @ w_hh.T + b_hh))
    grads = {
        k: np.zeros_like(v)
        for k, v in {"w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh}.items()
    }
    grads["x"] = np.zeros_like(x)
    d_h = np.zeros_like(h0)
    for t in reversed(range(steps)):
        if window[0] <= t <= window[1]:
            d_h = d_h + upstream[t - window[0]]
        d_z = d_h * (1 - hs[t + 1] ** 2)
        grads["w_ih"] += d_z.T @ x[t]
        grads["w_hh"] += d_z.T @ hs[t]
        grads["b_ih"] += d_z.sum(axis=0)
        grads["b_hh"] += d_z.sum(axis=0)
        grads["x"][t] = d_z @ w_ih
        d_h = d_z @ w_hh
        if truncate and t and t % truncate == 0:
            d_h = np.zeros_like(d_h)  # the state entering step t was detached
    grads["h0"] = d_h
    return grads


def engine_grads(problem, truncate=None):
    layer, x, (h0,) = build({**problem, "kind": "RNN", "layers": 1, "nonlinearity": "tanh"})
    layer.truncate_bptt = truncate
    t_min, t_max = problem["window"]
    output, _ = layer(x, h0)
    rng = np.random.default_rng(problem["seed"] + 2)
    upstream = rng.standard_normal((t_max - t_min + 1, problem["batch"], problem["hidden"]))
    (output[t_min : t_max + 1] * tg.tensor(upstream)).sum().backward()
    weights = [p.detach().cpu().numpy() for p in layer.parameters()]
    expected = numpy_bptt(
        x.detach().cpu().numpy(),
        h0.detach().cpu().numpy()[0],
        *weights,
        upstream,
        (t_min, t_max),
        truncate,
    )
    got = {
        "w_ih": layer.weight_ih_l0,
        "w_hh": layer.weight_hh_l0,
        "b_ih": layer.bias_ih_l0,
        "b_hh": layer.bias_hh_l0,
        "x": x,
        "h0": h0,
    }
    return {
        k: v.grad.detach().cpu().numpy().reshape(expected[k].shape) for k, v in got.items()
    }, expected


@given(problem=problems(kinds=("RNN",)))
def test_engine_matches_hand_written_numpy_bptt(problem):
    got, expected = engine_grads(problem)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-10, atol=1e-10, err_msg=name)


@given(problem=problems(kinds=("RNN",)), truncate=st.integers(1, 3))
def test_truncated_bptt_matches_hand_computed_truncated_gradient(problem, truncate):
    got, expected = engine_grads(problem, truncate)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-10, atol=1e-10, err_msg=name)


@settings(max_examples=15)
@given(problem=problems())
def test_gradient_flows_only_through_the_outputs_the_cost_uses(problem):
    layer, x, states = build(problem)
    layer.track_hidden_grads = True
    t_min, t_max = problem["window"]
    output, _ = layer(x, tuple(states) if len(states) == 2 else states[0])
    output.retain_grad()
    output[t_min : t_max + 1].sum().backward()
    assert (
        not output.grad.detach().cpu().numpy()[:t_min].any()
    )  # no gradient through the output path
    np.testing.assert_array_equal(output.grad.detach().cpu().numpy()[t_min : t_max + 1], 1.0)
    norms = layer.hidden_grad_norms()
    assert norms.shape == (problem["layers"], problem["steps"])
    assert not norms[:, t_max + 1 :].any()  # states after the window cannot affect the cost
    assert not x.grad.detach().cpu().numpy()[t_max + 1 :].any()


def test_shared_weight_gets_the_sum_of_per_step_contributions():
    rng = np.random.default_rng(0)
    layer = nn.RNN(3, 4, generator=1, dtype=tg.float64)
    x = tg.tensor(rng.standard_normal((5, 2, 3)))
    output, _ = layer(x)
    output.sum().backward()

    w_ih, w_hh, b_ih, b_hh = (p.detach() for p in layer.parameters())
    copies = [tg.tensor(w_hh.detach().cpu().numpy(), requires_grad=True) for _ in range(5)]
    h, total = tg.zeros(2, 4, dtype=tg.float64), 0
    for t, w_hh_t in enumerate(copies):  # the same network, a fresh copy of W_hh at each step
        h = nn.recurrent.rnn_step(x[t] @ w_ih.T + b_ih + b_hh, h, w_hh_t.T, "tanh")
        total = total + h.sum()
    total.backward()
    per_step = sum(c.grad.detach().cpu().numpy() for c in copies)
    np.testing.assert_allclose(layer.weight_hh_l0.grad.detach().cpu().numpy(), per_step, rtol=1e-12)


def test_stateful_chunks_with_detach_state_match_truncation_inside_the_layer():
    rng = np.random.default_rng(3)
    x = tg.tensor(rng.standard_normal((2, 9, 3)))  # batch first
    whole = nn.RNN(3, 4, batch_first=True, truncate_bptt=3, generator=5, dtype=tg.float64)
    output, _ = whole(x)
    output.sum().backward()
    chunked = nn.RNN(3, 4, batch_first=True, generator=5, dtype=tg.float64)
    state = None
    for chunk in x.split(3, dim=1):
        output, state = chunked(chunk, state)
        output.sum().backward()
        state = nn.utils.detach_state(state)
    for a, b in zip(whole.parameters(), chunked.parameters()):
        np.testing.assert_allclose(
            a.grad.detach().cpu().numpy(), b.grad.detach().cpu().numpy(), rtol=1e-12
        )


def test_vanishing_gradients_are_visible_in_the_norms():
    layer = nn.RNN(2, 8, generator=0, dtype=tg.float64)
    for p in layer.parameters():
        p.data *= 0.3  # a contracting recurrence: gradients shrink going back in time
    layer.track_hidden_grads = True
    output, _ = layer(tg.randn(30, 1, 2, generator=1, dtype=tg.float64))
    output[-1].sum().backward()
    norms = layer.hidden_grad_norms()[0]
    assert norms[-1] > 1e3 * norms[0]


@pytest.mark.parametrize(("kind", "state"), [("RNN", 1), ("LSTM", 2), ("GRU", 1)])
def test_layer_shapes_match_pytorch(kind, state):
    layer = KINDS[kind](3, 5, num_layers=2, batch_first=True)
    output, final = layer(tg.randn(4, 7, 3, generator=0))
    assert output.shape == (4, 7, 5)
    finals = final if state == 2 else (final,)
    assert all(f.shape == (2, 4, 5) for f in finals)
    output, final = layer(tg.randn(7, 3, generator=0))  # unbatched
    assert output.shape == (7, 5) and (final[0] if state == 2 else final).shape == (2, 5)
    time_major = KINDS[kind](3, 5)
    assert time_major(tg.randn(7, 4, 3, generator=0))[0].shape == (7, 4, 5)


@pytest.mark.parametrize(("cell", "gates"), [(nn.RNNCell, 1), (nn.LSTMCell, 4), (nn.GRUCell, 3)])
def test_cells_have_pytorch_weight_layout_and_init_bounds(cell, gates):
    module = cell(6, 9, generator=0)
    shapes = {name: p.shape for name, p in module.named_parameters()}
    assert shapes == {
        "weight_ih": (9 * gates, 6),
        "weight_hh": (9 * gates, 9),
        "bias_ih": (9 * gates,),
        "bias_hh": (9 * gates,),
    }
    assert all(np.abs(p.detach().cpu().numpy()).max() <= 1 / 3 for p in module.parameters())
    out = module(tg.randn(2, 6, generator=1))
    assert (out[0] if gates == 4 else out).shape == (2, 9)


def test_dropout_between_layers_only_while_training():
    layer = nn.RNN(3, 4, num_layers=2, dropout=0.5, generator=0)
    x = tg.randn(5, 2, 3, generator=1)
    layer.eval()
    a, _ = layer(x)
    b, _ = layer(x)
    np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    layer.train()
    c, _ = layer(x)
    assert not np.allclose(a.detach().cpu().numpy(), c.detach().cpu().numpy())


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(RuntimeError, match="Expected 3, got 7"):
        nn.RNN(3, 4)(tg.ones(5, 2, 7))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[2, 2, 4\]"):
        nn.RNN(3, 4)(tg.ones(5, 2, 3), tg.ones(2, 2, 4))
    with pytest.raises(RuntimeError, match="track_hidden_grads"):
        nn.RNN(3, 4).hidden_grad_norms()
