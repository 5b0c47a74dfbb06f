"""Module registration, state dicts, modes, devices, repr, Linear/Dropout/Embedding, init."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(3, 4, batch_first=True, generator=0)
        self.heads = nn.ModuleList([nn.Linear(4, 2, generator=1), nn.Linear(4, 2, generator=2)])
        self.drop = nn.Dropout(0.5, generator=3)
        self.scale = nn.Parameter(tg.ones(1))
        self.not_a_parameter = tg.ones(2, requires_grad=True)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.heads[0](self.drop(output[:, -1])) * self.scale


def test_parameters_are_registered_by_assignment():
    names = [name for name, _ in Net().named_parameters()]
    assert names == [
        "scale",
        "rnn.weight_ih_l0",
        "rnn.weight_hh_l0",
        "rnn.bias_ih_l0",
        "rnn.bias_hh_l0",
        "heads.0.weight",
        "heads.0.bias",
        "heads.1.weight",
        "heads.1.bias",
    ]
    net = Net()
    assert len(list(net.parameters())) == 9 and net.num_parameters() == 1 + 12 + 16 + 8 + 2 * 10


def test_shared_parameters_are_listed_once():
    seq = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    seq[1].weight = seq[0].weight
    assert len(list(seq.parameters())) == 3


def test_state_dict_round_trip_and_errors():
    a, b = Net(), Net()
    for p in b.parameters():
        p.data += 1
    b.load_state_dict(a.state_dict())
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(
            pa.detach().cpu().numpy(), pb.detach().cpu().numpy(), err_msg=name
        )
    state = a.state_dict()
    del state["scale"]
    state["extra"] = tg.ones(1)
    with pytest.raises(RuntimeError, match=r'Missing key.*"scale".*\n.*Unexpected key.*"extra"'):
        b.load_state_dict(state)
    assert b.load_state_dict(state, strict=False) == (["scale"], ["extra"])
    state = a.state_dict()
    state["heads.0.weight"] = tg.ones(3, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for heads.0.weight.*\[3, 3\].*\[2, 4\]"):
        b.load_state_dict(state)


def test_state_dict_accepts_numpy_arrays_and_copies_in_place():
    layer = nn.Linear(2, 3)
    weight = layer.weight
    layer.load_state_dict({"weight": np.ones((3, 2)), "bias": np.zeros(3)})
    assert layer.weight is weight and weight.dtype == np.float32
    np.testing.assert_array_equal(weight.detach().cpu().numpy(), np.ones((3, 2)))


def test_train_eval_and_dropout():
    net = Net()
    x = tg.randn(2, 5, 3, generator=0)
    net.eval()
    assert not any(m.training for m in net.modules())
    np.testing.assert_array_equal(net(x).detach().cpu().numpy(), net(x).detach().cpu().numpy())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_and_backward_through_a_module():
    net = Net()
    net(tg.randn(2, 5, 3, generator=0)).sum().backward()
    assert all(p.grad is not None for p in [net.scale, net.rnn.weight_hh_l0, net.heads[0].weight])
    assert net.heads[1].weight.grad is None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_repr_is_readable():
    text = repr(Net())
    assert "(rnn): RNN(3, 4, batch_first=True)" in text
    assert "(0-1): 2 x Linear(in_features=4, out_features=2, bias=True)" in text
    assert "(drop): Dropout(p=0.5, inplace=False)" in text


def test_linear_matches_its_formula_and_pytorch_init_bound():
    layer = nn.Linear(16, 3, generator=0)
    assert (
        np.abs(layer.weight.detach().cpu().numpy()).max() <= 0.25
        and np.abs(layer.bias.detach().cpu().numpy()).max() <= 0.25
    )
    x = tg.randn(5, 16, generator=1)
    expected = (
        x.detach().cpu().numpy() @ layer.weight.detach().cpu().numpy().T
        + layer.bias.detach().cpu().numpy()
    )
    np.testing.assert_allclose(layer(x).detach().cpu().numpy(), expected, rtol=1e-6)
    assert nn.Linear(4, 2, bias=False).bias is None


def test_embedding_looks_up_rows_and_accumulates_repeats():
    table = nn.Embedding(5, 3, generator=0)
    out = table(tg.tensor([1, 1, 4]))
    np.testing.assert_array_equal(
        out.detach().cpu().numpy(), table.weight.detach().cpu().numpy()[[1, 1, 4]]
    )
    out.sum().backward()
    np.testing.assert_array_equal(table.weight.grad.detach().cpu().numpy()[:, 0], [0, 2, 0, 0, 1])
    with pytest.raises(IndexError, match="index out of range in self"):
        table(tg.tensor([5]))
    with pytest.raises(RuntimeError, match="Long, Int"):
        table(tg.tensor([0.5]))


def test_module_before_init_and_missing_forward_are_clear():
    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"Module\.__init__"):
        Forgetful()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


@pytest.mark.parametrize(
    ("initialiser", "kwargs", "check"),
    [
        (nn.init.uniform_, {"a": -0.1, "b": 0.2}, lambda w: w.min() >= -0.1 and w.max() <= 0.2),
        (nn.init.normal_, {"std": 0.01}, lambda w: abs(w.std() - 0.01) < 0.002),
        (nn.init.xavier_uniform_, {}, lambda w: np.abs(w).max() <= np.sqrt(6 / 300)),
        (nn.init.xavier_normal_, {}, lambda w: abs(w.std() - np.sqrt(2 / 300)) < 0.01),
        (
            nn.init.kaiming_uniform_,
            {"nonlinearity": "relu"},
            lambda w: np.abs(w).max() <= np.sqrt(6 / 100),
        ),
        (
            nn.init.kaiming_normal_,
            {"nonlinearity": "relu"},
            lambda w: abs(w.std() - np.sqrt(2 / 100)) < 0.01,
        ),
        (nn.init.orthogonal_, {}, lambda w: np.allclose(w.T @ w, np.eye(100), atol=1e-5)),
    ],
)
def test_initialisers_follow_their_distributions_and_seeds(initialiser, kwargs, check):
    weight = tg.zeros(200, 100)
    assert initialiser(weight, **kwargs, generator=0) is weight
    assert check(weight.detach().cpu().numpy().astype(np.float64))
    again = initialiser(tg.zeros(200, 100), **kwargs, generator=0)
    np.testing.assert_array_equal(weight.detach().cpu().numpy(), again.detach().cpu().numpy())


def test_orthogonal_wide_matrix_and_zeros():
    wide = nn.init.orthogonal_(tg.zeros(3, 8), generator=1).detach().cpu().numpy()
    np.testing.assert_allclose(wide @ wide.T, np.eye(3), atol=1e-5)
    assert not nn.init.zeros_(tg.ones(4)).detach().cpu().numpy().any()
