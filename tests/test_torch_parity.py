"""Same state_dict, same inputs: outputs, gradients and Adam updates equal PyTorch's (float32)."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim

torch = pytest.importorskip("torch")
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def copy_weights(ours, theirs):
    ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in theirs.state_dict().items()})


def compare_training_step(ours, theirs, x, run_ours, run_theirs):
    """One forward, backward and Adam step in both; compare outputs, grads and new weights."""
    copy_weights(ours, theirs)
    opt_ours = optim.Adam(ours.parameters(), lr=0.01)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=0.01)
    for _ in range(2):
        out_ours = run_ours(ours, tg.tensor(x))
        out_theirs = run_theirs(theirs, torch.tensor(x))
        np.testing.assert_allclose(
            out_ours.detach().cpu().numpy(), out_theirs.detach().cpu().numpy(), **TOLERANCE
        )
        opt_ours.zero_grad()
        opt_theirs.zero_grad()
        (out_ours * out_ours).sum().backward()
        (out_theirs * out_theirs).sum().backward()
        theirs_params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(
                p.grad.detach().cpu().numpy(),
                theirs_params[name].grad.detach().cpu().numpy(),
                err_msg=name,
                **TOLERANCE,
            )
        opt_ours.step()
        opt_theirs.step()
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(
                p.detach().cpu().numpy(),
                theirs_params[name].detach().cpu().numpy(),
                err_msg=name,
                **TOLERANCE,
            )


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_recurrent_layers_match_pytorch(kind, batch_first):
    torch.manual_seed(0)
    kwargs = {"num_layers": 2, "batch_first": batch_first}
    theirs = getattr(torch.nn, kind)(5, 6, **kwargs)
    ours = getattr(nn, kind)(5, 6, **kwargs)
    x = np.random.default_rng(0).standard_normal((3, 7, 5) if batch_first else (7, 3, 5))
    x = x.astype(np.float32)

    def last_and_all(module, inputs):
        output, state = module(inputs)
        h_n = state[0] if kind == "LSTM" else state
        tensor_cat = tg.cat if isinstance(output, tg.Tensor) else torch.cat
        return tensor_cat([output.reshape(-1), h_n.reshape(-1)])

    compare_training_step(ours, theirs, x, last_and_all, last_and_all)


def test_relu_rnn_with_initial_state_matches_pytorch():
    torch.manual_seed(1)
    theirs = torch.nn.RNN(4, 3, nonlinearity="relu")
    ours = nn.RNN(4, 3, nonlinearity="relu")
    x = np.random.default_rng(1).standard_normal((6, 2, 4)).astype(np.float32)
    h0 = np.random.default_rng(2).standard_normal((1, 2, 3)).astype(np.float32)
    compare_training_step(
        ours, theirs, x, lambda m, i: m(i, tg.tensor(h0))[0], lambda m, i: m(i, torch.tensor(h0))[0]
    )


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_pytorch(kind):
    torch.manual_seed(2)
    theirs, ours = getattr(torch.nn, kind)(4, 3), getattr(nn, kind)(4, 3)
    x = np.random.default_rng(3).standard_normal((2, 4)).astype(np.float32)

    def first(module, inputs):
        out = module(inputs)
        return out[0] if isinstance(out, tuple) else out

    compare_training_step(ours, theirs, x, first, first)


def test_linear_and_cross_entropy_match_pytorch():
    torch.manual_seed(3)
    theirs, ours = torch.nn.Linear(6, 4), nn.Linear(6, 4)
    x = np.random.default_rng(4).standard_normal((5, 6)).astype(np.float32)
    compare_training_step(ours, theirs, x, lambda m, i: m(i), lambda m, i: m(i))
    labels = np.array([0, 3, 1, 2, 3])
    logits = np.random.default_rng(5).standard_normal((5, 4)).astype(np.float32) * 10
    ours_logits = tg.tensor(logits, requires_grad=True)
    theirs_logits = torch.tensor(logits, requires_grad=True)
    loss_ours = tg.F.cross_entropy(ours_logits, labels)
    loss_theirs = torch.nn.functional.cross_entropy(theirs_logits, torch.tensor(labels))
    loss_ours.backward()
    loss_theirs.backward()
    assert loss_ours.item() == pytest.approx(loss_theirs.item(), rel=1e-6)
    np.testing.assert_allclose(
        ours_logits.grad.detach().cpu().numpy(),
        theirs_logits.grad.detach().cpu().numpy(),
        **TOLERANCE,
    )
