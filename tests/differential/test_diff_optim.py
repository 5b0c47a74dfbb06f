"""Every optimizer against PyTorch's: from the same weights, fed the same gradients for many
steps, the weights after every step and the final state dict (state and parameter groups, with
their keys, types and order) are equal: float64 to ~1e-12, float32 loosely. Then step(closure),
state-dict round trips, parameter groups, and the arguments PyTorch refuses."""

import copy

import numpy as np
import pytest
from diff_harness import LOOSE, cases, check, check_raises, tensor

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SHAPES = ((3, 4), (4,), ())
STEPS = 30
# last-bit differences (another order of summation, a fused multiply-add) stay at rounding
TIGHT = {**LOOSE, "float64": (1e-12, 1e-14)}

OPTIMIZERS = {
    "SGD": lambda lib, p: lib.optim.SGD(p, lr=0.1),
    "SGD momentum dampening decay": lambda lib, p: lib.optim.SGD(
        p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01
    ),
    "SGD nesterov maximize": lambda lib, p: lib.optim.SGD(
        p, lr=0.05, momentum=0.8, nesterov=True, maximize=True
    ),
    "SGD foreach fused": lambda lib, p: lib.optim.SGD(
        p, lr=0.1, momentum=0.5, foreach=False, fused=True
    ),
    "Adam": lambda lib, p: lib.optim.Adam(p, lr=0.01),
    "Adam amsgrad decay maximize": lambda lib, p: lib.optim.Adam(
        p, lr=0.01, betas=(0.8, 0.95), weight_decay=0.1, amsgrad=True, maximize=True
    ),
    "Adam decoupled": lambda lib, p: lib.optim.Adam(
        p, lr=0.02, weight_decay=0.1, decoupled_weight_decay=True
    ),
    "Adam foreach": lambda lib, p: lib.optim.Adam(p, lr=0.01, foreach=True),
    "Adam fused": lambda lib, p: lib.optim.Adam(p, lr=0.01, fused=True),
    "AdamW": lambda lib, p: lib.optim.AdamW(p, lr=0.01),
    "AdamW amsgrad": lambda lib, p: lib.optim.AdamW(p, lr=0.01, weight_decay=0.5, amsgrad=True),
    "Adamax": lambda lib, p: lib.optim.Adamax(p),
    "Adamax decay maximize": lambda lib, p: lib.optim.Adamax(
        p, lr=0.01, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1, maximize=True
    ),
    "NAdam": lambda lib, p: lib.optim.NAdam(p),
    "NAdam decay": lambda lib, p: lib.optim.NAdam(
        p, lr=0.01, weight_decay=0.1, momentum_decay=0.01
    ),
    "NAdamW": lambda lib, p: lib.optim.NAdam(
        p, lr=0.01, betas=(0.7, 0.9), weight_decay=0.1, decoupled_weight_decay=True
    ),
    "Adagrad": lambda lib, p: lib.optim.Adagrad(p),
    "Adagrad decays accumulator": lambda lib, p: lib.optim.Adagrad(
        p, lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6
    ),
    "Adagrad maximize": lambda lib, p: lib.optim.Adagrad(p, lr=0.05, maximize=True),
    "Adadelta": lambda lib, p: lib.optim.Adadelta(p),
    "Adadelta rho decay maximize": lambda lib, p: lib.optim.Adadelta(
        p, lr=0.5, rho=0.3, eps=1e-4, weight_decay=0.1, maximize=True
    ),
    "RMSprop": lambda lib, p: lib.optim.RMSprop(p),
    "RMSprop centered momentum decay": lambda lib, p: lib.optim.RMSprop(
        p, lr=0.01, alpha=0.9, centered=True, momentum=0.9, weight_decay=0.1
    ),
    "RMSprop alpha maximize": lambda lib, p: lib.optim.RMSprop(
        p, lr=0.01, alpha=0.3, momentum=0.5, maximize=True
    ),
}


def _params(lib, rng, dtype_name):
    return [
        tensor(lib, rng.standard_normal(shape), dtype_name, requires_grad=True) for shape in SHAPES
    ]


def _feed_gradients(lib, rng, params, dtype_name, step):
    for i, p in enumerate(params):
        # now and then a parameter has no gradient: it is skipped, its state left as it was
        skipped = i == 1 and step % 7 == 3
        values = rng.standard_normal(tuple(p.shape))
        p.grad = None if skipped else tensor(lib, values, dtype_name)


def trajectory(make, dtype_name: str, steps: int = STEPS):
    """Weights after each of `steps` steps on fixed gradients, and the final state dict."""

    def case(lib):
        rng = np.random.default_rng(0)
        params = _params(lib, rng, dtype_name)
        optimizer = make(lib, params)
        weights = []
        for step in range(steps):
            _feed_gradients(lib, rng, params, dtype_name, step)
            optimizer.step()
            weights.append([p.detach().clone() for p in params])
        return {"weights": weights, "state_dict": optimizer.state_dict()}

    return case


@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
@pytest.mark.parametrize("make", cases(OPTIMIZERS))
def test_steps_follow_pytorch(make, dtype_name):
    check(trajectory(make, dtype_name), TIGHT)


def resumed(make, dtype_name: str, stop: int = 8, steps: int = 16):
    """Stop after `stop` steps, load the state dict into a fresh optimizer with other
    hyper-parameters, carry on: the same weights as without the interruption."""

    def case(lib):
        rng = np.random.default_rng(1)
        params = _params(lib, rng, dtype_name)
        optimizer = make(lib, params)
        for step in range(stop):
            _feed_gradients(lib, rng, params, dtype_name, step)
            optimizer.step()
        # a copy, as saving makes one: PyTorch's state dict holds the live state tensors
        saved = copy.deepcopy(optimizer.state_dict())
        fresh = [p.detach().clone().requires_grad_() for p in params]
        resumed = make(lib, fresh)
        resumed.param_groups[0]["lr"] = 123.0
        resumed.load_state_dict(saved)
        for step in range(stop, steps):
            _feed_gradients(lib, rng, params, dtype_name, step)
            for p, q in zip(params, fresh):
                q.grad = None if p.grad is None else p.grad.clone()
            optimizer.step()
            resumed.step()
        return {"weights": fresh, "state_dict": resumed.state_dict(), "same": params}

    return case


@pytest.mark.parametrize("make", cases(OPTIMIZERS))
def test_state_dict_round_trip(make):
    check(resumed(make, "float64"), TIGHT)


def test_state_dict_casts_state_to_the_parameters_dtype():
    def case(lib):
        rng = np.random.default_rng(2)
        params = _params(lib, rng, "float32")
        optimizer = lib.optim.NAdam(params, lr=0.01)
        _feed_gradients(lib, rng, params, "float32", 0)
        optimizer.step()
        wide = [p.detach().double().requires_grad_() for p in params]
        loaded = lib.optim.NAdam(wide, lr=0.01)
        loaded.load_state_dict(optimizer.state_dict())
        for p in wide:
            p.grad = p.detach().clone()
        loaded.step()
        return {"weights": wide, "state_dict": loaded.state_dict()}

    check(case, TIGHT)


def closure_case(make):
    """step(closure) under no_grad: the closure runs with grad enabled, its loss comes back."""

    def case(lib):
        x = tensor(lib, [[0.5, -1.0], [2.0, 0.25]], "float64")
        w = tensor(lib, [1.0, -2.0], "float64", requires_grad=True)
        optimizer = make(lib, [w])
        modes = []

        def closure():
            modes.append(lib.is_grad_enabled())
            optimizer.zero_grad()
            loss = ((x @ w - 1) ** 2).sum()
            loss.backward()
            return loss

        losses = []
        with lib.no_grad():
            for _ in range(5):
                losses.append(optimizer.step(closure))
        return {"losses": losses, "modes": modes, "w": w, "grad mode": lib.is_grad_enabled()}

    return case


@pytest.mark.parametrize("make", cases(OPTIMIZERS))
def test_step_with_closure(make):
    check(closure_case(make), TIGHT)


def test_step_without_closure_returns_none():
    def case(lib):
        w = tensor(lib, [1.0], "float64", requires_grad=True)
        w.grad = tensor(lib, [0.5], "float64")
        return lib.optim.Adam([w]).step()

    check(case)


GROUPS = {
    "per-group options": lambda lib, a, b: lib.optim.SGD(
        [{"params": [a], "lr": 0.5, "momentum": 0.9}, {"params": b}], lr=0.1
    ),
    "add_param_group": lambda lib, a, b: _added(lib.optim.Adam([a], lr=0.1), b),
    "named parameters": lambda lib, a, b: lib.optim.RMSprop([("a", a), ("b", b)], lr=0.1),
    "a group holds the user's dict": lambda lib, a, b: _lr_changed_through(lib.optim.Adagrad, a, b),
}


def _added(optimizer, b):
    optimizer.add_param_group({"params": b, "lr": 0.01, "amsgrad": True})
    return optimizer


def _lr_changed_through(cls, a, b):
    group = {"params": [a, b]}
    optimizer = cls([group], lr=0.1)
    group["lr"] = 0.7
    return optimizer


@pytest.mark.parametrize("make", cases(GROUPS))
def test_parameter_groups(make):
    def case(lib):
        a = tensor(lib, [1.0, 2.0], "float64", requires_grad=True)
        b = tensor(lib, [[0.5, -0.5]], "float64", requires_grad=True)
        optimizer = make(lib, a, b)
        for step in range(3):
            a.grad = tensor(lib, [0.1 * step, -1.0], "float64")
            b.grad = tensor(lib, [[1.0, step]], "float64")
            optimizer.step()
        return {"a": a, "b": b, "state_dict": optimizer.state_dict(), "repr": repr(optimizer)}

    check(case, TIGHT)


def _one(lib):
    return [tensor(lib, [1.0], "float64", requires_grad=True)]


BAD_ARGUMENTS = {
    "empty": lambda lib: lib.optim.Adam([]),
    "a tensor": lambda lib: lib.optim.SGD(_one(lib)[0]),
    "a set": lambda lib: lib.optim.SGD([{"params": set(_one(lib))}]),
    "not a tensor": lambda lib: lib.optim.SGD([1.0]),
    "non-leaf": lambda lib: lib.optim.SGD([_one(lib)[0] * 2]),
    "in two groups": lambda lib: _twice(lib),
    "some names missing": lambda lib: lib.optim.SGD([("a", _one(lib)[0]), _one(lib)[0]]),
    "SGD lr": lambda lib: lib.optim.SGD(_one(lib), lr=-0.1),
    "SGD momentum": lambda lib: lib.optim.SGD(_one(lib), momentum=-0.5),
    "SGD weight decay": lambda lib: lib.optim.SGD(_one(lib), weight_decay=-1),
    "SGD nesterov": lambda lib: lib.optim.SGD(_one(lib), nesterov=True),
    "SGD nesterov dampening": lambda lib: lib.optim.SGD(
        _one(lib), momentum=0.9, dampening=0.1, nesterov=True
    ),
    "SGD fused differentiable": lambda lib: lib.optim.SGD(
        _one(lib), fused=True, differentiable=True
    ),
    "Adam lr NaN": lambda lib: lib.optim.Adam(_one(lib), lr=float("nan")),
    "Adam eps": lambda lib: lib.optim.Adam(_one(lib), eps=-1e-8),
    "Adam beta1": lambda lib: lib.optim.Adam(_one(lib), betas=(1.0, 0.999)),
    "Adam beta2": lambda lib: lib.optim.Adam(_one(lib), betas=(0.9, -0.1)),
    "Adam int betas": lambda lib: lib.optim.Adam(_one(lib), betas=(0, 0.9)),
    "Adam weight decay": lambda lib: lib.optim.Adam(_one(lib), weight_decay=-0.1),
    "Adam fused foreach": lambda lib: lib.optim.Adam(_one(lib), fused=True, foreach=True),
    "AdamW beta": lambda lib: lib.optim.AdamW(_one(lib), betas=(0.9, 1.5)),
    "Adamax eps": lambda lib: lib.optim.Adamax(_one(lib), eps=-1.0),
    "Adamax beta": lambda lib: lib.optim.Adamax(_one(lib), betas=(0.9, 1.0)),
    "NAdam momentum decay": lambda lib: lib.optim.NAdam(_one(lib), momentum_decay=-1e-3),
    "NAdam lr": lambda lib: lib.optim.NAdam(_one(lib), lr=-1),
    "Adagrad lr decay": lambda lib: lib.optim.Adagrad(_one(lib), lr_decay=-0.1),
    "Adagrad accumulator": lambda lib: lib.optim.Adagrad(_one(lib), initial_accumulator_value=-1),
    "Adagrad eps": lambda lib: lib.optim.Adagrad(_one(lib), eps=-1),
    "Adagrad fused differentiable": lambda lib: lib.optim.Adagrad(
        _one(lib), fused=True, differentiable=True
    ),
    "Adadelta rho": lambda lib: lib.optim.Adadelta(_one(lib), rho=1.5),
    "Adadelta weight decay": lambda lib: lib.optim.Adadelta(_one(lib), weight_decay=-1),
    "RMSprop alpha": lambda lib: lib.optim.RMSprop(_one(lib), alpha=-0.5),
    "RMSprop momentum": lambda lib: lib.optim.RMSprop(_one(lib), momentum=-0.5),
    "load: group count": lambda lib: _load(lib, [{"params": [0]}, {"params": [1]}]),
    "load: group size": lambda lib: _load(lib, [{"params": [0, 1]}]),
    "Adam capturable on CPU": lambda lib: _stepped(lib, lib.optim.Adam, capturable=True),
    "Adadelta capturable on CPU": lambda lib: _stepped(lib, lib.optim.Adadelta, capturable=True),
    "NAdam capturable on CPU": lambda lib: _stepped(lib, lib.optim.NAdam, capturable=True),
    "SGD differentiable": lambda lib: _stepped(lib, lib.optim.SGD, differentiable=True),
    "Adam differentiable": lambda lib: _stepped(lib, lib.optim.Adam, differentiable=True),
}


def _twice(lib):
    p = _one(lib)[0]
    return lib.optim.SGD([{"params": [p]}, {"params": [p]}])


def _load(lib, groups):
    optimizer = lib.optim.SGD(_one(lib), lr=0.1)
    optimizer.load_state_dict({"state": {}, "param_groups": groups})


def _stepped(lib, cls, **options):
    params = _one(lib)
    optimizer = cls(params, **options)
    params[0].grad = tensor(lib, [1.0], "float64")
    optimizer.step()


@pytest.mark.parametrize("case", cases(BAD_ARGUMENTS))
def test_bad_arguments_raise_as_pytorch(case):
    check_raises(case)


def test_sgd_lets_nan_through_as_pytorch():
    def case(lib):
        optimizer = lib.optim.SGD(_one(lib), lr=float("nan"), momentum=float("nan"))
        return optimizer.param_groups[0]["momentum"] != optimizer.param_groups[0]["momentum"]

    check(case)
