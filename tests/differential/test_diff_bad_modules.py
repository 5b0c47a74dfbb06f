"""Paired bad inputs to optimizers, recurrent layers and cells, and device strings.

PyTorch raises if and only if we raise, with the same built-in class; the valid inputs next
to them must keep working and give PyTorch's values (optimizer steps) or shapes (layers).
"""

import numpy as np
import pytest
from diff_harness import cases, check, check_raises, check_same, dtype, tensor

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def parameter(lib, values=(0.5, -1.0)):
    return lib.nn.Parameter(tensor(lib, np.array(values, dtype=np.float32)))


# ---------------------------------------------------------------- optimizers

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop"]
HYPER_PARAMETERS = {
    "lr=-1": {"lr": -1.0},
    "lr=nan": {"lr": float("nan")},
    "lr=inf": {"lr": float("inf")},
    "lr=0": {"lr": 0.0},
    "weight_decay=-1": {"weight_decay": -1.0},
    "eps=-1": {"eps": -1.0},
    "eps=0": {"eps": 0.0},
    "momentum=-0.5": {"momentum": -0.5},
    "momentum=1.5": {"momentum": 1.5},
    "alpha=-0.1": {"alpha": -0.1},
    "alpha=1.5": {"alpha": 1.5},
    "betas=(1.0, 0.9)": {"betas": (1.0, 0.9)},
    "betas=(0.9, 1.0)": {"betas": (0.9, 1.0)},
    "betas=(-0.1, 0.9)": {"betas": (-0.1, 0.9)},
    "betas=(0.0, 0.0)": {"betas": (0.0, 0.0)},
    "nesterov without momentum": {"nesterov": True},
    "nesterov with dampening": {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
    "nesterov": {"nesterov": True, "momentum": 0.9},
    "dampening=-1": {"dampening": -1.0},
    "centered": {"centered": True},
}


def construct(name, kwargs):
    def case(lib):
        getattr(lib.optim, name)([parameter(lib)], **kwargs)
        return "constructed"

    return case


def optimizer_arguments():
    for name in OPTIMIZERS:
        for label, kwargs in HYPER_PARAMETERS.items():
            yield f"{name}({label})", construct(name, kwargs)


@pytest.mark.parametrize("case", cases(dict(optimizer_arguments())))
def test_optimizer_hyper_parameters(case):
    """Each optimizer takes or refuses each hyper-parameter value as PyTorch's does (which
    differs by optimizer: SGD takes lr=nan, RMSprop alpha=1.5, only SGD knows nesterov)."""
    check_same(case)


PARAMS_REFUSED = {
    "a lone Parameter": lambda lib: lib.optim.SGD(parameter(lib), lr=0.1),
    "a lone tensor": lambda lib: lib.optim.Adam(lib.zeros(2, requires_grad=True)),
    "an empty list": lambda lib: lib.optim.SGD([], lr=0.1),
    "an empty generator": lambda lib: lib.optim.Adam(iter([])),
    "one Parameter in two groups": lambda lib: (
        lambda w: lib.optim.SGD([{"params": [w]}, {"params": [w], "lr": 0.5}], lr=0.1)
    )(parameter(lib)),
    "a non-leaf tensor": lambda lib: lib.optim.SGD([parameter(lib) * 2], lr=0.1),
    "numbers": lambda lib: lib.optim.SGD([1.0, 2.0], lr=0.1),
    "a dict instead of a list of groups": lambda lib: lib.optim.SGD(
        {"params": [parameter(lib)]}, lr=0.1
    ),
    "a group without params": lambda lib: lib.optim.SGD([{"lr": 0.1}]),
    "add_param_group with a duplicate": lambda lib: (
        lambda w: lib.optim.SGD([w], lr=0.1).add_param_group({"params": [w]})
    )(parameter(lib)),
}


@pytest.mark.parametrize("case", cases(PARAMS_REFUSED))
def test_optimizer_params_refused(case):
    check_raises(case)


def _steps(make, groups=None, grads=((1.0, -2.0), (0.5, 0.5), (-1.0, 3.0))):
    """Three steps with fixed gradients; the parameters after each."""

    def case(lib):
        w, v = parameter(lib), parameter(lib, (2.0, -3.0))
        opt = make(lib, [w, v] if groups is None else groups(w, v))
        seen = []
        for g in grads:
            opt.zero_grad()
            w.grad = tensor(lib, np.array(g, dtype=np.float32))
            v.grad = tensor(lib, np.array(g, dtype=np.float32)) * 2
            opt.step()
            seen += [w * 1, v * 1]
        return seen

    return case


OPTIMIZER_STEPS = {
    "SGD": _steps(lambda lib, p: lib.optim.SGD(p, lr=0.1)),
    "SGD default lr": _steps(lambda lib, p: lib.optim.SGD(p)),
    "SGD momentum nesterov wd": _steps(
        lambda lib, p: lib.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    ),
    "SGD momentum dampening": _steps(
        lambda lib, p: lib.optim.SGD(p, lr=0.1, momentum=0.5, dampening=0.3)
    ),
    "Adam": _steps(lambda lib, p: lib.optim.Adam(p, lr=0.01)),
    "Adam wd betas": _steps(
        lambda lib, p: lib.optim.Adam(p, lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)
    ),
    "AdamW": _steps(lambda lib, p: lib.optim.AdamW(p, lr=0.01)),
    "RMSprop centered momentum": _steps(
        lambda lib, p: lib.optim.RMSprop(p, lr=0.01, momentum=0.9, centered=True)
    ),
    "RMSprop": _steps(lambda lib, p: lib.optim.RMSprop(p)),
    "groups with their own lr": _steps(
        lambda lib, p: lib.optim.SGD(p, lr=0.1),
        groups=lambda w, v: [{"params": [w]}, {"params": [v], "lr": 1.0}],
    ),
    "a group given one tensor": _steps(
        lambda lib, p: lib.optim.Adam(p, lr=0.1),
        groups=lambda w, v: [{"params": w}, {"params": [v]}],
    ),
    "params as a generator": _steps(
        lambda lib, p: lib.optim.SGD(iter(p), lr=0.1),
    ),
    "the same Parameter twice in a group": _steps(
        lambda lib, p: lib.optim.SGD(p, lr=0.1), groups=lambda w, v: [w, w, v]
    ),
}


@pytest.mark.parametrize("case", cases(OPTIMIZER_STEPS))
def test_optimizer_steps(case):
    check(case)


def test_optimizer_zero_grad_set_to_none():
    def case(lib):
        w = parameter(lib)
        opt = lib.optim.SGD([w], lr=0.1)
        (w * w).sum().backward()
        grad = w.grad
        opt.zero_grad(set_to_none=False)
        kept = [w.grad is grad, w.grad]
        opt.zero_grad()
        return kept + [w.grad]

    check(case)


# ---------------------------------------------------------------- recurrent layers and cells

LAYERS_REFUSED = {
    "RNN(3, 0)": lambda lib: lib.nn.RNN(3, 0),
    "RNN(3, -1)": lambda lib: lib.nn.RNN(3, -1),
    "RNN(0, 4)": lambda lib: lib.nn.RNN(0, 4),
    "LSTM(3, 0)": lambda lib: lib.nn.LSTM(3, 0),
    "GRU(-2, 4)": lambda lib: lib.nn.GRU(-2, 4),
    "RNN(3.5, 4)": lambda lib: lib.nn.RNN(3.5, 4),
    "RNN(3, 4.0)": lambda lib: lib.nn.RNN(3, 4.0),
    "RNN(num_layers=0)": lambda lib: lib.nn.RNN(3, 4, num_layers=0),
    "LSTM(num_layers=-1)": lambda lib: lib.nn.LSTM(3, 4, num_layers=-1),
    "RNN(num_layers=1.5)": lambda lib: lib.nn.RNN(3, 4, num_layers=1.5),
    "RNN(nonlinearity='sigmoid')": lambda lib: lib.nn.RNN(3, 4, nonlinearity="sigmoid"),
    "RNN(dropout=1.5)": lambda lib: lib.nn.RNN(3, 4, dropout=1.5),
    "RNN(dropout=-0.1)": lambda lib: lib.nn.RNN(3, 4, dropout=-0.1),
    "GRU(dropout=True)": lambda lib: lib.nn.GRU(3, 4, dropout=True),
    "RNNCell(3, 4, nonlinearity='gelu') called": lambda lib: lib.nn.RNNCell(
        3, 4, nonlinearity="gelu"
    )(lib.zeros(1, 3)),
}


@pytest.mark.parametrize("case", cases(LAYERS_REFUSED))
def test_recurrent_arguments_refused(case):
    check_raises(case)


def shapes(fn):
    """Random weights: compare the structure and shapes of what comes back."""

    def case(lib):
        def shape(value):
            if isinstance(value, (tuple, list)):
                return [shape(v) for v in value]
            return list(value.shape)

        return shape(fn(lib))

    return case


LAYERS_ACCEPTED = {
    "RNN(dropout=1)": lambda lib: lib.nn.RNN(3, 4, dropout=1)(lib.zeros(2, 1, 3)),
    "RNN(dropout=0.5) one layer": lambda lib: lib.nn.RNN(3, 4, dropout=0.5)(lib.zeros(2, 1, 3)),
    "RNNCell(3, 0)": lambda lib: lib.nn.RNNCell(3, 0)(lib.zeros(2, 3)),
    "GRUCell(0, 4)": lambda lib: lib.nn.GRUCell(0, 4)(lib.zeros(2, 0)),
    "RNN bias=False": lambda lib: lib.nn.RNN(3, 4, bias=False)(lib.zeros(2, 1, 3)),
    "LSTM 2 layers batch_first with (h0, c0)": lambda lib: lib.nn.LSTM(3, 4, 2, batch_first=True)(
        lib.zeros(5, 2, 3), (lib.zeros(2, 5, 4), lib.zeros(2, 5, 4))
    ),
    "LSTM hx as a list": lambda lib: lib.nn.LSTM(3, 4)(
        lib.zeros(2, 1, 3), [lib.zeros(1, 1, 4), lib.zeros(1, 1, 4)]
    ),
    "LSTMCell (h, c)": lambda lib: lib.nn.LSTMCell(3, 4)(
        lib.zeros(2, 3), (lib.zeros(2, 4), lib.zeros(2, 4))
    ),
    "RNNCell unbatched with hx": lambda lib: lib.nn.RNNCell(3, 4)(lib.zeros(3), lib.zeros(4)),
    "GRU unbatched with h0": lambda lib: lib.nn.GRU(3, 4)(lib.zeros(5, 3), lib.zeros(1, 4)),
    "RNN bidirectional": lambda lib: lib.nn.RNN(3, 4, bidirectional=True)(lib.zeros(2, 1, 3)),
}


@pytest.mark.parametrize("case", cases(LAYERS_ACCEPTED))
def test_recurrent_arguments_accepted(case):
    check(shapes(case))


STATES_REFUSED = {
    "LSTMCell hx one (B, H) tensor": lambda lib: lib.nn.LSTMCell(3, 4)(
        lib.zeros(2, 3), lib.zeros(2, 4)
    ),
    "LSTMCell hx one (2, H) tensor for batch 1": lambda lib: lib.nn.LSTMCell(3, 4)(
        lib.zeros(1, 3), lib.zeros(2, 4)
    ),
    "LSTM with three states": lambda lib: lib.nn.LSTM(3, 4)(
        lib.zeros(5, 2, 3), (lib.zeros(1, 2, 4),) * 3
    ),
    "RNN h0 of batch 1 for batch 2": lambda lib: lib.nn.RNN(3, 4)(
        lib.zeros(5, 2, 3), lib.zeros(1, 1, 4)
    ),
    "GRU h0 of batch 3 for batch 2": lambda lib: lib.nn.GRU(3, 4)(
        lib.zeros(5, 2, 3), lib.zeros(1, 3, 4)
    ),
    "LSTM c0 of batch 1 for batch 2": lambda lib: lib.nn.LSTM(3, 4)(
        lib.zeros(5, 2, 3), (lib.zeros(1, 2, 4), lib.zeros(1, 1, 4))
    ),
    "RNN h0 for 2 layers, 1 layer": lambda lib: lib.nn.RNN(3, 4)(
        lib.zeros(5, 2, 3), lib.zeros(2, 2, 4)
    ),
    "RNN h0 of hidden size 5": lambda lib: lib.nn.RNN(3, 4)(lib.zeros(5, 2, 3), lib.zeros(1, 2, 5)),
    "RNN h0 2-d for batched input": lambda lib: lib.nn.RNN(3, 4)(
        lib.zeros(5, 2, 3), lib.zeros(2, 4)
    ),
    "RNN h0 3-d for unbatched input": lambda lib: lib.nn.RNN(3, 4)(
        lib.zeros(5, 3), lib.zeros(1, 1, 4)
    ),
    "RNN input of 4 dims": lambda lib: lib.nn.RNN(3, 4)(lib.zeros(5, 2, 1, 3)),
    "RNN input of 1 dim": lambda lib: lib.nn.RNN(3, 4)(lib.zeros(3)),
    "RNN input of the wrong size": lambda lib: lib.nn.RNN(3, 4)(lib.zeros(5, 2, 2)),
    "RNNCell input of 3 dims": lambda lib: lib.nn.RNNCell(3, 4)(lib.zeros(2, 2, 3)),
    "RNNCell input of the wrong size": lambda lib: lib.nn.RNNCell(3, 4)(lib.zeros(2, 2)),
    "RNNCell hx of batch 1 for batch 2": lambda lib: lib.nn.RNNCell(3, 4)(
        lib.zeros(2, 3), lib.zeros(1, 4)
    ),
    "RNNCell hx of batch 3 for batch 2": lambda lib: lib.nn.RNNCell(3, 4)(
        lib.zeros(2, 3), lib.zeros(3, 4)
    ),
    "GRUCell hx 1-d for batched input": lambda lib: lib.nn.GRUCell(3, 4)(
        lib.zeros(2, 3), lib.zeros(4)
    ),
    "RNN over T=0": lambda lib: lib.nn.RNN(3, 4)(lib.zeros(0, 2, 3)),
}


@pytest.mark.parametrize("case", cases(STATES_REFUSED))
def test_recurrent_inputs_and_states_refused(case):
    check_raises(case)


def test_state_structure_errors_raise():
    """PyTorch's classes here are accidents of its code (an IndexError from indexing the
    tensor, an AttributeError on the tuple): that both raise is what is compared."""

    def raised(fn):
        def case(lib):
            try:
                fn(lib)
            except Exception:
                return "raised"
            return "accepted"

        return case

    check(raised(lambda lib: lib.nn.LSTM(3, 4)(lib.zeros(5, 2, 3), lib.zeros(1, 2, 4))))
    check(raised(lambda lib: lib.nn.GRU(3, 4)(lib.zeros(5, 2, 3), (lib.zeros(1, 2, 4),))))


# ---------------------------------------------------------------- devices


def without_cuda(fn):
    """PyTorch's CPU-only build says AssertionError('Torch not compiled with CUDA enabled')
    where a CUDA build without that GPU says RuntimeError: compare against the latter."""

    def case(lib):
        try:
            return fn(lib)
        except AssertionError as error:
            if "not compiled with CUDA" in str(error):
                raise RuntimeError(str(error)) from error
            raise

    return case


DEVICES_REFUSED = {
    "to('gpu')": lambda lib: lib.zeros(2).to("gpu"),
    "to('CPU')": lambda lib: lib.zeros(2).to("CPU"),
    "to('cuda:x')": lambda lib: lib.zeros(2).to("cuda:x"),
    "zeros(device='gpu')": lambda lib: lib.zeros(2, device="gpu"),
    "tensor(device='Cuda')": lambda lib: lib.tensor([1.0], device="Cuda"),
    "Module.to('gpu')": lambda lib: lib.nn.Linear(2, 2).to("gpu"),
    "set_default_device('gpu')": lambda lib: lib.set_default_device("gpu"),
}


@pytest.mark.parametrize("case", cases(DEVICES_REFUSED))
def test_unknown_devices_refused(case):
    check_raises(case)


@pytest.mark.skipif(
    __import__("tinygrad_rnn").cuda_is_available(), reason="needs a machine without CUDA"
)
@pytest.mark.parametrize(
    "case",
    cases(
        {
            "to('cuda:1')": lambda lib: lib.zeros(2).to("cuda:1"),
            "to('cuda')": lambda lib: lib.zeros(2).to("cuda"),
            "zeros(device='cuda:0')": lambda lib: lib.zeros(2, device="cuda:0"),
        }
    ),
)
def test_absent_cuda_refused(case):
    check_raises(without_cuda(case))


DEVICES_ACCEPTED = {
    "to('cpu')": lambda lib: str(lib.zeros(2).to("cpu").device),
    "device='cpu:0'": lambda lib: str(lib.zeros(2, device="cpu:0").device),
    "to('cpu', dtype)": lambda lib: lib.zeros(2).to("cpu", dtype(lib, "float64")).dtype,
    "cpu()": lambda lib: str(lib.zeros(2).cpu().device),
}


@pytest.mark.parametrize("case", cases(DEVICES_ACCEPTED))
def test_cpu_devices_accepted(case):
    check(case)
