"""A cost over a window of outputs, C(Y(t_min), ..., Y(t_max)), on the time-series model: no
gradient through the ignored outputs, the shared weights get the sum over the steps that feed
the window, against finite differences in float64 and a NumPy BPTT written here."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from models.time_series import SeriesRNN
from models.time_series.training import window_mse


@st.composite
def problems(draw):
    steps = draw(st.integers(1, 7))
    t_min = draw(st.integers(0, steps - 1))
    return {
        "steps": steps,
        "window": (t_min, draw(st.integers(t_min, steps - 1))),
        "batch": draw(st.integers(1, 3)),
        "hidden": draw(st.integers(1, 5)),
        "variant": draw(st.sampled_from(["projection", "stacked"])),
        "seed": draw(st.integers(0, 2**16)),
    }


def build(problem):
    """A float64 model whose ReLU units are all active (positive recurrent weights, biases 0.5
    and inputs), so finite differences never straddle a kink, and a random batch."""
    model = SeriesRNN(problem["variant"], problem["hidden"], problem["seed"], dtype=tg.float64)
    for weight in (model.rnn.weight_ih_l0, model.rnn.weight_hh_l0):
        np.abs(weight.array, out=weight.array)
    model.rnn.bias_ih_l0.array[:] = 0.5
    rng = np.random.default_rng(problem["seed"])
    shape = (problem["batch"], problem["steps"], 1)
    x = tg.tensor(rng.uniform(0.1, 1.0, shape), dtype=tg.float64, requires_grad=True)
    y = tg.tensor(rng.standard_normal(shape), dtype=tg.float64)
    return model, x, y


def numpy_bptt(model, x, y, window):
    """Loss and per-step gradients of the ReLU RNN + dense + windowed MSE, by hand.

    Returns (loss, per_step) where per_step[name] is (T, *shape): the gradient each time
    step contributes to that weight, so the full gradient is the sum over steps.
    """
    w_ih, w_hh = (
        model.rnn.weight_ih_l0.detach().cpu().numpy(),
        model.rnn.weight_hh_l0.detach().cpu().numpy(),
    )
    b = model.rnn.bias_ih_l0.detach().cpu().numpy() + model.rnn.bias_hh_l0.detach().cpu().numpy()
    w_out, b_out = (
        model.dense.weight.detach().cpu().numpy(),
        model.dense.bias.detach().cpu().numpy(),
    )
    batch, steps, _ = x.shape
    t_min, t_max = window
    count = batch * (t_max - t_min + 1)
    hs, zs = [np.zeros((batch, w_hh.shape[0]))], []
    for t in range(steps):
        zs.append(x[:, t] @ w_ih.T + hs[-1] @ w_hh.T + b)
        hs.append(np.maximum(zs[-1], 0))
    outputs = np.stack([h @ w_out.T + b_out for h in hs[1:]], axis=1)
    errors = outputs[:, t_min : t_max + 1] - y[:, t_min : t_max + 1]
    loss = (errors**2).sum() / count
    per_step = {
        name: np.zeros((steps, *shape))
        for name, shape in {
            "w_ih": w_ih.shape,
            "w_hh": w_hh.shape,
            "b": b.shape,
            "w_out": w_out.shape,
            "b_out": b_out.shape,
        }.items()
    }
    d_h = np.zeros_like(hs[0])
    for t in reversed(range(steps)):
        if t_min <= t <= t_max:
            d_y = 2 * (outputs[:, t] - y[:, t]) / count
            per_step["w_out"][t] = d_y.T @ hs[t + 1]
            per_step["b_out"][t] = d_y.sum(0)
            d_h = d_h + d_y @ w_out
        d_z = d_h * (zs[t] > 0)
        per_step["w_ih"][t] = d_z.T @ x[:, t]
        per_step["w_hh"][t] = d_z.T @ hs[t]
        per_step["b"][t] = d_z.sum(0)
        d_h = d_z @ w_hh
    return loss, per_step


@settings(max_examples=20)
@given(problem=problems())
def test_ignored_outputs_and_later_states_get_exactly_zero_gradient(problem):
    model, x, y = build(problem)
    model.rnn.track_hidden_grads = True
    predictions = model(x)
    predictions.retain_grad()
    window_mse(predictions, y, problem["window"]).backward()
    t_min, t_max = problem["window"]
    d_outputs = predictions.grad.detach().cpu().numpy()
    inside = np.zeros(problem["steps"], dtype=bool)
    inside[t_min : t_max + 1] = True
    assert np.all(d_outputs[:, ~inside] == 0)
    assert np.all(d_outputs[:, inside] != 0)
    state_norms = model.rnn.hidden_grad_norms()[0]
    assert np.all(state_norms[t_max + 1 :] == 0)  # nothing after the window reaches the cost
    assert np.all(state_norms[: t_max + 1] > 0)


@settings(max_examples=20)
@given(problem=problems())
def test_weights_get_the_sum_over_the_steps_feeding_the_window(problem):
    model, x, y = build(problem)
    loss = window_mse(model(x), y, problem["window"])
    model.zero_grad()
    loss.backward()
    expected_loss, per_step = numpy_bptt(
        model, x.detach().cpu().numpy(), y.detach().cpu().numpy(), problem["window"]
    )
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-12)
    t_min, t_max = problem["window"]
    for name in per_step:  # steps after the window contribute nothing; outputs before it neither
        assert np.all(per_step[name][t_max + 1 :] == 0)
    assert np.all(per_step["w_out"][:t_min] == 0) and np.all(per_step["b_out"][:t_min] == 0)
    rnn, dense = model.rnn, model.dense
    engine = {
        "w_ih": rnn.weight_ih_l0.grad.detach().cpu().numpy(),
        "w_hh": rnn.weight_hh_l0.grad.detach().cpu().numpy(),
        "b": rnn.bias_ih_l0.grad.detach().cpu().numpy(),
        "w_out": dense.weight.grad.detach().cpu().numpy(),
        "b_out": dense.bias.grad.detach().cpu().numpy(),
    }
    np.testing.assert_allclose(rnn.bias_hh_l0.grad.detach().cpu().numpy(), engine["b"], rtol=1e-12)
    for name, grad in engine.items():
        np.testing.assert_allclose(grad, per_step[name].sum(0), rtol=1e-9, atol=1e-12)


@settings(max_examples=10)
@given(problem=problems())
def test_window_cost_against_finite_differences(problem):
    model, x, y = build(problem)

    def cost(x, *parameters):
        return window_mse(model(x), y, problem["window"])

    assert tg.gradcheck(cost, [x, *model.parameters()], seed=problem["seed"])


@pytest.mark.parametrize("window", [(0, 4), (2, 4), (1, 1)])
def test_projection_and_stacked_variants_are_the_same_function(window):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((3, 5, 1)), dtype=tg.float64)
    y = tg.tensor(rng.standard_normal((3, 5, 1)), dtype=tg.float64)
    results = []
    for variant in ("projection", "stacked"):
        model = SeriesRNN(variant, hidden=6, seed=1, dtype=tg.float64)
        loss = window_mse(model(x), y, window)
        loss.backward()
        results.append((loss.item(), [p.grad.detach().cpu().numpy() for p in model.parameters()]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
