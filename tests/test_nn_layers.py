"""What the differential suite cannot compare value for value: channel dropout (our random
stream is not PyTorch's), replaying the new layers under jit, and PyTorch's class paths."""

import importlib
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim

# ---------------------------------------------------------------- channel dropout


def _channels_of(out: np.ndarray, x: np.ndarray, p: float) -> np.ndarray:
    """Which channels (N, C) were kept; asserts each channel is all zero or all x / (1 - p)."""
    flat_out = out.reshape(out.shape[0], out.shape[1], -1)
    flat_x = x.reshape(x.shape[0], x.shape[1], -1)
    kept = np.all(np.isclose(flat_out, flat_x / (1 - p)), axis=-1)
    dropped = np.all(flat_out == 0, axis=-1)
    assert np.all(kept | dropped), "a channel was partly dropped"
    return kept


@pytest.mark.parametrize(
    ("layer", "shape"),
    [(nn.Dropout1d, (20, 30, 4)), (nn.Dropout2d, (20, 30, 3, 2)), (nn.Dropout2d, (20, 30, 3))],
)
def test_channel_dropout_zeroes_whole_channels_and_scales_the_rest(layer, shape):
    x = np.arange(1, 1 + np.prod(shape), dtype=np.float32).reshape(shape)
    module = layer(0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = module(tg.tensor(x, requires_grad=True))
    kept = _channels_of(out.detach().numpy(), x, 0.3)
    assert 0.55 < kept.mean() < 0.85  # 600 channels, p = 0.3
    x_grad = tg.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer(0.3, generator=5)(x_grad).sum().backward()
        again = layer(0.3, generator=5)(tg.tensor(x)).detach().numpy()
    mask = _channels_of(again, x, 0.3)
    expected = np.broadcast_to(mask.reshape(mask.shape + (1,) * (len(shape) - 2)), shape)
    np.testing.assert_allclose(x_grad.grad.numpy(), expected / 0.7, rtol=1e-6)


def test_channel_dropout_uses_the_default_generator_and_is_identity_in_eval():
    x = tg.ones(8, 16, 3)
    tg.manual_seed(3)
    first = nn.Dropout1d()(x).numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(nn.Dropout1d()(x).numpy(), first)
    assert nn.Dropout1d().eval()(x) is x
    images = tg.ones(2, 3, 4, 5)
    assert nn.functional.dropout2d(images, 0.0) is images
    assert not nn.functional.dropout1d(x, 1.0).numpy().any()


def test_unbatched_dropout1d_drops_channels_of_c_l():
    x = np.ones((50, 6), dtype=np.float32)
    out = nn.Dropout1d(0.5, generator=0)(tg.tensor(x)).numpy()
    assert all(len(set(row)) == 1 for row in out) and {0.0, 2.0} == set(out[:, 0])


def test_inplace_channel_dropout_writes_into_its_input():
    x = tg.ones(10, 10, 2)
    out = nn.Dropout1d(0.5, inplace=True, generator=1)(x)
    assert out is x and set(np.unique(x.numpy())) == {0.0, 2.0}


def test_dropout2d_warns_as_pytorch_for_other_ranks():
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        nn.functional.dropout2d(tg.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        nn.functional.dropout2d(tg.ones(2, 3))
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="at least 2 dimensions"):
        nn.functional.dropout2d(tg.ones(3))
    with pytest.raises(RuntimeError, match="Expected 2D or 3D input"):
        nn.functional.dropout1d(tg.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)


# ---------------------------------------------------------------- replay under jit


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(
            7, 4, padding_idx=0, max_norm=1.5, scale_grad_by_freq=True, generator=0
        )
        self.norm = nn.LayerNorm(4)
        self.bn = nn.BatchNorm1d(4)
        self.out = nn.Linear(4, 3, generator=1)
        self.loss = nn.CrossEntropyLoss(ignore_index=0, label_smoothing=0.1)
        self.bce = nn.BCEWithLogitsLoss(pos_weight=tg.ones(3) * 2)

    def forward(self, tokens, labels):
        h = self.bn(self.norm(self.embed(tokens)).transpose(1, 2)).transpose(1, 2)
        logits = self.out(nn.functional.gelu(h))
        targets = (labels.unsqueeze(-1) == tg.arange(3)).to(logits.dtype)
        return self.loss(logits.transpose(1, 2), labels) + self.bce(logits, targets)


def test_new_layers_replay_under_jit_as_eager():
    """Running statistics, num_batches_tracked and max_norm's renormalised rows are written
    in place on every replay."""
    models = [Tagger(), Tagger()]
    optimizers = [optim.SGD(m.parameters(), lr=0.1) for m in models]

    def stepper(model, optimizer):
        def step(tokens, labels):
            loss = model(tokens, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss

        return step

    eager, jitted = stepper(models[0], optimizers[0]), tg.jit(stepper(models[1], optimizers[1]))
    rng = np.random.default_rng(0)
    for _ in range(4):
        tokens, labels = (
            tg.tensor(rng.integers(0, 7, (3, 5))),
            tg.tensor(rng.integers(0, 3, (3, 5))),
        )
        np.testing.assert_array_equal(eager(tokens, labels).item(), jitted(tokens, labels).item())
    assert jitted.captures == 1
    # the compiled step may sum a gradient's parts in another order: equal within rounding
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=name)
    assert int(models[1].bn.num_batches_tracked) == 4
    with pytest.raises(IndexError, match="index out of range"):
        jitted(tg.tensor(np.full((3, 5), 7)), labels)


# ---------------------------------------------------------------- class paths

CLASS_PATHS = {
    "module": ["Module"],
    "linear": ["Identity", "Linear"],
    "rnn": ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"],
    "sparse": ["Embedding"],
    "dropout": ["Dropout", "Dropout1d", "Dropout2d"],
    "container": ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"],
    "loss": [
        "BCELoss",
        "BCEWithLogitsLoss",
        "CrossEntropyLoss",
        "HuberLoss",
        "L1Loss",
        "MSELoss",
        "NLLLoss",
        "SmoothL1Loss",
    ],
    "normalization": ["LayerNorm"],
    "batchnorm": ["BatchNorm1d"],
    "activation": [
        "ELU",
        "GELU",
        "Hardtanh",
        "LeakyReLU",
        "LogSoftmax",
        "ReLU",
        "SiLU",
        "Sigmoid",
        "Softmax",
        "Softplus",
        "Tanh",
    ],
    "flatten": ["Flatten", "Unflatten"],
}


@pytest.mark.parametrize("path", list(CLASS_PATHS))
def test_pytorch_class_paths_name_our_classes(path):
    ours = importlib.import_module(f"tinygrad_rnn.nn.modules.{path}")
    for name in CLASS_PATHS[path]:
        assert getattr(ours, name) is getattr(nn, name), name
        assert getattr(nn.modules, name) is getattr(nn, name), name
    pytest.importorskip("torch")
    theirs = importlib.import_module(f"torch.nn.modules.{path}")
    assert all(hasattr(theirs, name) for name in CLASS_PATHS[path])


def test_parameter_has_pytorchs_path():
    from tinygrad_rnn.nn.parameter import Parameter

    assert Parameter is nn.Parameter


@pytest.mark.gpu
def test_new_layers_train_on_the_gpu_as_on_the_cpu():
    """Embedding (padding, max_norm, frequency scaling), LayerNorm, BatchNorm1d and both
    cross-entropies on "cuda" against "cpu", float64, four SGD steps."""
    models = [Tagger().double(), Tagger().double().to("cuda")]
    models[1].load_state_dict(models[0].state_dict())
    optimizers = [optim.SGD(m.parameters(), lr=0.1) for m in models]
    rng = np.random.default_rng(1)
    for _ in range(4):
        tokens, labels = rng.integers(0, 7, (3, 5)), rng.integers(0, 3, (3, 5))
        losses = []
        for model, optimizer, device in zip(models, optimizers, ("cpu", "cuda")):
            loss = model(tg.tensor(tokens, device=device), tg.tensor(labels, device=device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        np.testing.assert_allclose(losses[1], losses[0], rtol=1e-10)
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        np.testing.assert_allclose(b.cpu().numpy(), a.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        nn.BCELoss()(tg.tensor([1.5], device="cuda"), tg.tensor([1.0], device="cuda"))
