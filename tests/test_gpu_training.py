"""Layers, optimizers, checkpoints, fused kernels, jit's CUDA graphs and the MNIST model on
"cuda" against "cpu" (skipped where no CUDA device is present).

Tolerances: float64 agrees to rounding (rtol 1e-10); float32 to rtol 1e-5 for one pass and
1e-4 after a few training steps, where differences in summation order compound. TF32 stays off:
cuBLAS's default math mode never uses it for float32 (TF32 would miss rtol 1e-5 a hundredfold).
"""

import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from models.mnist_rnn import cli, training
from models.mnist_rnn.networks import build_model
from tinygrad_rnn import nn, optim
from tinygrad_rnn.backend.cuda import fused

pytestmark = pytest.mark.gpu
F = tg.functional


def _close(a, b, dtype):
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (1e-5, 1e-6)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


def _host(value):
    """A CuPy array's values on the host (plain values as they are)."""
    return value.get() if type(value).__module__.startswith("cupy") else np.asarray(value)


def _layer_pass(layer_cls, device, dtype, **kwargs):
    layer = layer_cls(3, 5, batch_first=True, generator=0, dtype=dtype, **kwargs).to(device)
    x = tg.tensor(np.random.default_rng(1).normal(size=(4, 7, 3)), dtype=dtype, device=device)
    x.requires_grad_()
    out, _ = layer(x)
    (out * out).sum().backward()
    return [out.detach().cpu().numpy(), x.grad.detach().cpu().numpy()] + [
        p.grad.detach().cpu().numpy() for p in layer.parameters()
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "layer_cls, kwargs",
    [(nn.RNN, {}), (nn.RNN, {"nonlinearity": "relu"}), (nn.LSTM, {"num_layers": 2}), (nn.GRU, {})],
    ids=["rnn", "rnn-relu", "lstm2", "gru"],
)
def test_recurrent_layers_match_cpu(layer_cls, kwargs, dtype):
    for gpu, cpu in zip(
        _layer_pass(layer_cls, "cuda", dtype, **kwargs),
        _layer_pass(layer_cls, "cpu", dtype, **kwargs),
    ):
        _close(gpu, cpu, dtype)


def _trained(make_optimizer, device):
    model = nn.Linear(6, 3, generator=0, dtype=tg.float64).to(device)
    optimizer = make_optimizer(model.parameters())
    rng = np.random.default_rng(2)
    for _ in range(5):
        x = tg.tensor(rng.normal(size=(8, 6)), device=device)
        optimizer.zero_grad()
        (model(x).tanh() ** 2).mean().backward()
        optimizer.step()
    return [p.detach().cpu().numpy() for p in model.parameters()]


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: optim.SGD(p, lr=0.1),
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.1),
        lambda p: optim.Adam(p, lr=0.01),
        lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1),
        lambda p: optim.AdamW(p, lr=0.01),
        lambda p: optim.RMSprop(p, lr=0.01),
        lambda p: optim.RMSprop(p, lr=0.01, centered=True),
        lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, weight_decay=0.1),
        lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
    ],
    ids=[
        "sgd",
        "sgd-nesterov",
        "sgd-dampening-l2",
        "adam",
        "adam-l2",
        "adamw",
        "rmsprop",
        "rmsprop-centered",
        "rmsprop-momentum-l2",
        "rmsprop-centered-momentum",
    ],
)
def test_optimizers_match_cpu(make_optimizer):
    for gpu, cpu in zip(_trained(make_optimizer, "cuda"), _trained(make_optimizer, "cpu")):
        _close(gpu, cpu, np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_kernels_match_the_generic_code(dtype):
    rng = np.random.default_rng(3)
    a, b = (tg.tensor(rng.normal(size=s), dtype=dtype, device="cuda") for s in ((5, 4), (4,)))

    def run():
        x, y = a.detach().requires_grad_(), b.detach().requires_grad_()
        out = F.add_tanh(x, y)
        (out * out).sum().backward()
        plain = x.tanh()
        plain.backward(tg.ones(plain.shape, dtype=dtype, device="cuda"))
        return [
            out.detach().cpu().numpy(),
            x.grad.detach().cpu().numpy(),
            y.grad.detach().cpu().numpy(),
        ]

    fast = run()
    with fused.disabled():
        reference = run()
    for got, want in zip(fast, reference):
        _close(got, want, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, np.float16])
def test_fused_stack_matches_cupy_stack(dtype):
    import cupy

    rng = np.random.default_rng(5)
    for count, shape in [(1, (3,)), (70, (4, 5)), (3, (0, 2)), (2, ())]:
        arrays = [cupy.asarray(rng.integers(0, 100, shape).astype(dtype)) for _ in range(count)]
        np.testing.assert_array_equal(fused.stack(arrays).get(), cupy.stack(arrays).get())
    assert fused.stack([cupy.ones((2, 3)).T]) is None  # not C-contiguous: CuPy's stack serves


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stacked_weight_gradients_match_step_by_step_products(dtype):
    stacked = _layer_pass(nn.RNN, "cuda", dtype)
    with fused.disabled():  # the products summed one by one, as on the CPU
        one_by_one = _layer_pass(nn.RNN, "cuda", dtype)
    for a, b in zip(stacked, one_by_one):
        _close(a, b, dtype)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda p: optim.Adam([p], lr=0.05),
        lambda p: optim.SGD([p], lr=0.05, momentum=0.9, nesterov=True),
        lambda p: optim.RMSprop([p], lr=0.05, centered=True, momentum=0.5),
    ],
    ids=["adam", "sgd-nesterov", "rmsprop-centered-momentum"],
)
def test_fused_optimizer_updates_match_the_generic_ones(make_optimizer):
    def run(disable):
        p = tg.tensor(np.linspace(-1, 1, 12), dtype=tg.float32, device="cuda", requires_grad=True)
        optimizer = make_optimizer(p)
        for step in range(4):
            p.grad = tg.tensor(np.cos(np.arange(12.0) + step), dtype=tg.float32, device="cuda")
            if disable:
                with fused.disabled():
                    optimizer.step()
            else:
                optimizer.step()
        return p.detach().cpu().numpy(), optimizer.state_dict()["state"][0]

    (fast, fast_state), (slow, slow_state) = run(False), run(True)
    np.testing.assert_allclose(fast, slow, rtol=1e-6, atol=1e-7)
    assert fast_state.keys() == slow_state.keys()
    for name in fast_state:
        np.testing.assert_allclose(
            _host(fast_state[name]), _host(slow_state[name]), rtol=1e-6, atol=1e-7
        )


def test_checkpoints_load_across_devices(tmp_path):
    model = nn.LSTM(3, 4, generator=0).to("cuda")
    optimizer = optim.Adam(model.parameters())
    out, _ = model(tg.ones(2, 5, 3, device="cuda"))
    out.sum().backward()
    optimizer.step()
    tg.save({"model": model.state_dict(), "optim": optimizer.state_dict()}, tmp_path / "c")
    on_cpu = tg.load(tmp_path / "c", device="cpu")
    for name, tensor in model.state_dict().items():
        assert on_cpu["model"][name].device == "cpu"
        np.testing.assert_array_equal(
            on_cpu["model"][name].detach().cpu().numpy(), tensor.detach().cpu().numpy()
        )
    fresh = nn.LSTM(3, 4, generator=9)
    fresh.load_state_dict(on_cpu["model"])
    tg.save(fresh.state_dict(), tmp_path / "d")
    back = tg.load(tmp_path / "d", device="cuda")
    for name, tensor in model.state_dict().items():
        assert back[name].device == "cuda"
        np.testing.assert_array_equal(
            back[name].detach().cpu().numpy(), tensor.detach().cpu().numpy()
        )


def _book_steps(device, jit, steps=4, cuda_graphs=True, name="basic"):
    model = build_model(name, seed=0, device=device)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    step = training.make_step(model, optimizer)
    step = tg.jit(step, cuda_graphs=cuda_graphs) if jit else step
    rng = np.random.default_rng(4)
    losses = []
    for _ in range(steps):
        x = tg.tensor(rng.random((150, 28, 28), dtype=np.float32), device=device)
        y = tg.tensor(rng.integers(0, 10, 150), device=device)
        loss, _ = step(x, y)
        losses.append(loss)
    return (
        [loss.item() for loss in losses],
        [p.detach().cpu().numpy() for p in model.parameters()],
        step,
    )


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_the_book_model_trains_on_the_gpu_as_on_the_cpu(jit):
    gpu_losses, gpu_weights, step = _book_steps("cuda", jit)
    cpu_losses, cpu_weights, _ = _book_steps("cpu", False)
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-4)
    for gpu, cpu in zip(gpu_weights, cpu_weights):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-5)
    if jit:
        assert step.graphed == 1  # replayed as CUDA graphs from the third call on


@pytest.mark.parametrize("name", ["basic", "multilayer", "lstm"])
def test_cuda_graphs_give_what_a_plain_replay_gives(name):
    graphed_losses, graphed_weights, graphed = _book_steps("cuda", True, 6, name=name)
    plain_losses, plain_weights, plain = _book_steps("cuda", True, 6, False, name=name)
    assert graphed.graphed == 1 and plain.graphed == 0
    np.testing.assert_allclose(graphed_losses, plain_losses, rtol=1e-6)
    for a, b in zip(graphed_weights, plain_weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_graph_outputs_keep_their_values_and_labels_are_still_checked():
    model = nn.Linear(4, 3, generator=0).to("cuda")
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    @tg.jit
    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    x = tg.ones(2, 4, device="cuda")
    losses = [step(x, tg.tensor([0, 1], device="cuda")) for _ in range(4)]
    values = [loss.item() for loss in losses]
    assert step.graphed == 1 and values == sorted(values, reverse=True) and len(set(values)) == 4
    before = [p.detach().cpu().numpy() for p in model.parameters()]
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        step(x, tg.tensor([0, 7], device="cuda"))
    for p, old in zip(model.parameters(), before):  # nothing ran
        np.testing.assert_array_equal(p.detach().cpu().numpy(), old)


def test_a_new_shape_is_captured_anew_with_graphs_of_its_own():
    model = nn.Linear(4, 3, generator=0).to("cuda")
    step = tg.jit(lambda x: model(x).sum())
    for rows in (2, 5, 2, 5, 2, 5, 2):
        x = tg.tensor(np.arange(rows * 4.0).reshape(rows, 4), dtype=tg.float32, device="cuda")
        np.testing.assert_allclose(step(x).item(), model(x).sum().item(), rtol=1e-6)
    assert step.captures == 2 and step.graphed == 2


def test_a_replaced_parameter_array_is_captured_anew():
    model = nn.Linear(4, 3, generator=0).to("cuda")
    step = tg.jit(lambda x: model(x).sum())
    x = tg.ones(2, 4, device="cuda")
    for _ in range(3):
        step(x)
    assert step.graphed == 1
    model.weight.data = model.weight.data * 2  # a new array: the graph must not read the old
    np.testing.assert_allclose(step(x).item(), model(x).sum().item(), rtol=1e-6)


def test_a_step_that_cannot_be_captured_replays_without_graphs():
    w = tg.ones(3, device="cuda", requires_grad=True)
    step = tg.jit(lambda x: (x.to("cuda") * w).sum())  # copies from the host each call
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [step(tg.tensor([1.0, 2.0, float(k)])).item() for k in range(4)]
    assert results == [3.0 + k for k in range(4)]
    assert step.graphed == 0 and any("without CUDA graphs" in str(w.message) for w in caught)


def test_the_command_line_trains_with_jit_on_the_gpu(tmp_path, monkeypatch):
    from test_mnist_cli import synthetic, train_args

    monkeypatch.setattr(training, "load_dataset", lambda name, split: synthetic(split))
    monkeypatch.setattr(cli, "load_dataset", lambda name, split: synthetic(split))
    assert cli.main(train_args(tmp_path / "gpu", "--jit", "--device", "cuda")) == 0
    assert cli.main(train_args(tmp_path / "cpu")) == 0
    gpu, _ = training.load_trained(tmp_path / "gpu" / training.CHECKPOINT)
    cpu, _ = training.load_trained(tmp_path / "cpu" / training.CHECKPOINT)
    for a, b in zip(gpu.parameters(), cpu.parameters()):
        np.testing.assert_allclose(
            a.detach().cpu().numpy(), b.detach().cpu().numpy(), rtol=1e-3, atol=1e-4
        )
