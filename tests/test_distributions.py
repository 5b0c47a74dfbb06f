"""torch.distributions.Categorical: PyTorch's probabilities, log-probabilities, entropy and
their gradients; samples of the right shape, dtype and frequencies."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.distributions import Categorical
from tinygrad_rnn.unsupported import UnsupportedAttributeError

torch = pytest.importorskip("torch")


@given(
    st.lists(st.integers(1, 3), min_size=0, max_size=2),
    st.integers(1, 5),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_log_prob_entropy_and_gradients_as_pytorch(batch, classes, as_logits, seed):
    rng = np.random.default_rng(seed)
    params = rng.standard_normal((*batch, classes)) if as_logits else rng.random((*batch, classes))
    params = params if as_logits else params + 0.05  # probabilities need not be normalised
    values = rng.integers(0, classes, (2, *batch))
    results = []
    for lib in (tg, torch):
        given = lib.tensor(params, requires_grad=True)
        dist = lib.distributions.Categorical(**{"logits" if as_logits else "probs": given})
        log_prob, entropy = dist.log_prob(lib.tensor(values)), dist.entropy()
        (log_prob.sum() + entropy.sum()).backward()
        results.append(
            [dist.probs, dist.logits, log_prob, entropy, given.grad, dist.mode]
            + [tuple(dist.batch_shape), tuple(dist.sample((4, 1)).shape)]
        )
    for ours, theirs in zip(*results):
        if isinstance(ours, tuple):
            assert ours == theirs
        else:
            np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-12)


def test_samples_follow_the_probabilities_and_carry_no_gradient():
    tg.manual_seed(0)
    probs = tg.tensor([0.2, 0.3, 0.5], requires_grad=True)
    samples = Categorical(probs=probs).sample((20000,))
    assert samples.dtype == tg.int64 and not samples.requires_grad
    frequencies = [float((samples == k).float().mean()) for k in range(3)]
    np.testing.assert_allclose(frequencies, [0.2, 0.3, 0.5], atol=0.015)


def test_bad_arguments_and_other_distributions():
    for lib in (tg, torch):
        with pytest.raises(ValueError):
            lib.distributions.Categorical()
        with pytest.raises(ValueError):
            lib.distributions.Categorical(probs=lib.ones(2), logits=lib.ones(2))
    with pytest.raises(UnsupportedAttributeError, match="only Categorical"):
        tg.distributions.Normal(0.0, 1.0)


def test_probabilities_of_zero_are_clamped_as_pytorch():
    results = []
    for lib in (tg, torch):
        probs = lib.tensor([1e-18, 0.5, 0.5], dtype=lib.float64, requires_grad=True)
        dist = lib.distributions.Categorical(probs=probs)
        log_prob = dist.log_prob(lib.tensor(0))
        log_prob.backward()
        zero = lib.distributions.Categorical(probs=lib.tensor([0.0, 0.5, 0.5]))
        results.append((log_prob.item(), probs.grad.tolist(), zero.log_prob(lib.tensor(0)).item()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.distributions.Categorical(probs=lib.tensor([-1.0, 2.0])),
        lambda lib: lib.distributions.Categorical(probs=lib.tensor([0.0, 0.0])),
        lambda lib: lib.distributions.Categorical(logits=lib.tensor([float("nan"), 0.0])),
        lambda lib: lib.distributions.Categorical(logits=lib.zeros(3)).log_prob(lib.tensor(3)),
        lambda lib: lib.distributions.Categorical(logits=lib.zeros(3)).log_prob(1),
    ],
)
def test_invalid_arguments_are_pytorchs_value_errors(make):
    for lib in (tg, torch):
        with pytest.raises(ValueError):
            make(lib)
