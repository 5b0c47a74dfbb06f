"""Tensor.register_post_accumulate_grad_hook: PyTorch's semantics, eager and in tg.jit replays."""

import gc

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import hooks, nn


def small_rnn():
    rnn = nn.RNN(3, 4, batch_first=True, generator=0, dtype=tg.float64)
    x = tg.randn(2, 5, 3, generator=1, dtype=tg.float64)
    return rnn, x


def test_called_once_per_leaf_with_the_gradient_summed_over_time():
    rnn, x = small_rnn()
    seen = []
    for name, parameter in rnn.named_parameters():
        parameter.register_post_accumulate_grad_hook(
            lambda p, name=name: seen.append((name, p, p.grad.detach().cpu().numpy().copy()))
        )
    output, _ = rnn(x)
    output.sum().backward()
    assert sorted(name for name, _, _ in seen) == sorted(n for n, _ in rnn.named_parameters())
    for name, tensor, grad in seen:
        assert tensor is dict(rnn.named_parameters())[name]
        np.testing.assert_array_equal(
            grad, tensor.grad.detach().cpu().numpy()
        )  # already final when called


def test_matches_pytorch_on_accumulation_and_removal():
    torch = pytest.importorskip("torch")
    ours, theirs = [], []
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = torch.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_post_accumulate_grad_hook(
        lambda t: ours.append(t.grad.detach().cpu().numpy().copy())
    )
    their_handle = y.register_post_accumulate_grad_hook(
        lambda t: theirs.append(t.grad.detach().cpu().numpy().copy())
    )
    for _ in range(2):  # without zero_grad: the second call sees the accumulated gradient
        (x * x * 3).sum().backward()
        (y * y * 3).sum().backward()
    handle.remove()
    their_handle.remove()
    (x * 3).sum().backward()
    (y * 3).sum().backward()
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b)


def test_refused_on_non_leaves_and_on_tensors_without_grad():
    torch = pytest.importorskip("torch")
    leaf = tg.tensor([1.0], requires_grad=True)
    cases = [(leaf * 2, torch.ones(1, requires_grad=True) * 2), (tg.ones(1), torch.ones(1))]
    for ours, theirs in cases:
        with pytest.raises(RuntimeError) as their_error:
            theirs.register_post_accumulate_grad_hook(lambda t: None)
        with pytest.raises(RuntimeError) as our_error:
            ours.register_post_accumulate_grad_hook(lambda t: None)
        assert str(our_error.value) == str(their_error.value)


def test_handle_as_context_manager_and_registry_freed_with_the_tensor():
    calls = []
    x = tg.tensor([1.0], requires_grad=True)
    with x.register_post_accumulate_grad_hook(lambda t: calls.append(1)):
        (x * 2).sum().backward()
    (x * 2).sum().backward()
    assert calls == [1]
    key = id(x)
    del x
    gc.collect()
    assert key not in hooks._post_accumulate_grad_hooks


def test_jit_replays_call_the_hooks_live_and_do_not_record_them():
    """A hook may read values (item()) and use tensor ops: it runs at capture and at every
    replay, after the replayed backward has deposited the gradient, as in eager mode."""

    def run(jitted: bool) -> list:
        rnn, x = small_rnn()
        optimizer = tg.optim.SGD(rnn.parameters(), lr=0.1)
        norms = []
        weight = rnn.weight_hh_l0
        weight.register_post_accumulate_grad_hook(
            lambda p: norms.append((p.grad * p.grad).sum().item())
        )

        def step(x):
            output, _ = rnn(x)
            loss = (output * output).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss

        step = tg.jit(step) if jitted else step
        for _ in range(4):
            step(x)
        return norms

    eager, replayed = run(False), run(True)
    assert len(eager) == len(replayed) == 4
    assert eager == replayed
