"""L-BFGS against PyTorch's, with and without the strong-Wolfe line search: the same iterates,
losses, evaluation counts and state (history, step length, curvature scale), on the Rosenbrock
function, an ill-conditioned quartic and a small LSTMCell regression written as a PyTorch user
writes it.

The first iterations agree to ~1e-12, state included. Over long runs the last-bit differences
of any two runs (another summation order in a dot product or in the model's backward, a fused
multiply-add) grow as L-BFGS iterates, in PyTorch against itself too. There ours must agree with
PyTorch in structure, evaluation counts and branches taken, and in value as closely as PyTorch
agrees with itself when its start moves by one ulp (and, for the LSTM, its losses and gradients
by rounding-sized noise, as another engine's would).
"""

import copy

import numpy as np
import pytest
from diff_harness import (
    LOOSE,
    TensorValue,
    cases,
    check,
    check_raises,
    compare,
    outcome,
    tensor,
    tg,
    torch,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TIGHT = {**LOOSE, "float64": (1e-12, 1e-14)}
# the values' tolerance when long runs are compared in structure (see the module docstring)
STRUCTURE = {**LOOSE, "float64": (1e-6, 1e-9)}

SETTINGS = {
    "defaults": {},
    "strong wolfe": {"line_search_fn": "strong_wolfe"},
    "short history, lr": {"lr": 0.5, "history_size": 3, "max_iter": 7},
    "strong wolfe, short history, few evaluations": {
        "line_search_fn": "strong_wolfe",
        "history_size": 4,
        "max_iter": 5,
        "max_eval": 6,
    },
    "loose tolerances": {"tolerance_grad": 1e-3, "tolerance_change": 1e-4, "max_iter": 30},
}


def rosenbrock(lib, x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def quartic(lib, x):
    scales = tensor(lib, [1.0, 10.0, 100.0, 0.5], "float64")
    return (scales * (x - 1) ** 2).sum() + (x[0] * x[1]) ** 2


ROSENBROCK_START = [-1.5, 2.0, -0.5, 1.2, 0.3]


def minimise(objective, start, settings: dict, steps: int, dtype_name="float64", state=True):
    """`steps` calls of LBFGS.step on objective(lib, x) from `start`: x and the loss after each,
    and (with `state`) the final state dict."""

    def case(lib):
        x = tensor(lib, start, dtype_name, requires_grad=True)
        optimizer = lib.optim.LBFGS([x], **settings)

        def closure():
            optimizer.zero_grad()
            loss = objective(lib, x)
            loss.backward()
            return loss

        path = []
        for _ in range(steps):
            loss = optimizer.step(closure)
            path.append({"x": x.detach().clone(), "loss": loss.detach()})
        return {"path": path, "state_dict": optimizer.state_dict() if state else None}

    return case


def _floating_leaves(value):
    """Every floating value in a plain result, as float64 arrays, in order."""
    if isinstance(value, TensorValue) and value.values.dtype.kind == "f":
        yield value.values.astype(np.float64)
    elif isinstance(value, float):
        yield np.float64(value)
    elif isinstance(value, list):
        for item in value:
            yield from _floating_leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _floating_leaves(item)


def _spread(expected, actual) -> float:
    """The largest relative difference between corresponding floating values."""
    return max(
        float(np.abs(want - got).max() / max(np.abs(want).max(), 1e-300))
        for want, got in zip(_floating_leaves(expected), _floating_leaves(actual))
    )


def as_close_as_pytorch_to_itself(make_case) -> None:
    """make_case(nudged) is a case; see the module docstring."""
    __tracebackhide__ = True
    expected, nudged = outcome(torch, make_case(False)), outcome(torch, make_case(True))
    actual = outcome(tg, make_case(False))
    problems: list[str] = []
    compare("result", expected, actual, STRUCTURE, problems)
    assert not problems, "\n".join(problems)
    ours, own = _spread(expected, actual), _spread(expected, nudged)
    assert ours <= 10 * own + 1e-14, f"ours differ by {ours:.1e}, PyTorch from itself {own:.1e}"


def nudged(values: list) -> list:
    """`values` each moved up by one ulp."""
    return np.nextafter(np.array(values, np.float64), np.inf).tolist()


def _first_iterations(settings: dict) -> dict:
    return {**settings, "max_iter": min(settings.get("max_iter", 20), 5)}


@pytest.mark.parametrize("settings", cases(SETTINGS))
def test_rosenbrock_first_iterations_and_state(settings):
    check(minimise(rosenbrock, ROSENBROCK_START, _first_iterations(settings), steps=2), TIGHT)


@pytest.mark.parametrize("settings", cases(SETTINGS))
def test_rosenbrock_many_steps(settings):
    def make_case(nudge):
        start = nudged(ROSENBROCK_START) if nudge else ROSENBROCK_START
        return minimise(rosenbrock, start, settings, steps=12)

    as_close_as_pytorch_to_itself(make_case)


@pytest.mark.parametrize("settings", cases(SETTINGS))
def test_rosenbrock_float32(settings):
    # float32 gradients near a minimum keep few digits: the iterates are compared, not the
    # history built from those gradients
    short = _first_iterations(settings)
    check(minimise(rosenbrock, ROSENBROCK_START, short, 2, "float32", state=False))


def test_converged_start_returns_at_once():
    check(minimise(quartic, [1.0, 0.0, 1.0, 1.0], {}, steps=2), TIGHT)


def test_ill_conditioned_quartic_with_a_parameter_without_gradient():
    def make_case(nudge):
        start = [3.0, -2.0, 0.5, 4.0]

        def case(lib):
            x = tensor(lib, nudged(start) if nudge else start, "float64", requires_grad=True)
            unused = tensor(lib, [[1.0, 2.0]], "float64", requires_grad=True)
            optimizer = lib.optim.LBFGS(
                [unused, x], line_search_fn="strong_wolfe", history_size=2, max_iter=5
            )

            def closure():
                optimizer.zero_grad()
                loss = quartic(lib, x)
                loss.backward()
                return loss

            losses = [optimizer.step(closure) for _ in range(4)]
            return {"x": x, "unused": unused, "losses": losses, "state": optimizer.state_dict()}

        return case

    as_close_as_pytorch_to_itself(make_case)


# A user's program: an LSTMCell and a Linear read a sine wave and predict its next value.
HIDDEN, TIME, BATCH = 4, 8, 2


def lstm_regression(settings: dict, steps: int, nudge: bool = False):
    """The program's losses and weights after each of `steps` steps, and the LBFGS state; with
    `nudge`, its start and every gradient are moved by one ulp."""

    def case(lib):
        rng = np.random.default_rng(1)
        cell, head = lib.nn.LSTMCell(2, HIDDEN).double(), lib.nn.Linear(HIDDEN, 1).double()
        with lib.no_grad():
            for p in [*cell.parameters(), *head.parameters()]:
                weights = rng.uniform(-0.4, 0.4, tuple(p.shape))
                p.copy_(lib.tensor(np.nextafter(weights, np.inf) if nudge else weights))
        t = np.linspace(0, 4 * np.pi, TIME + 1)[:-1, None] + rng.uniform(0, 6, BATCH)
        inputs = lib.tensor(np.stack([np.sin(t), np.cos(t / 3)], -1))
        targets = lib.tensor(np.sin(t + 4 * np.pi / TIME)[..., None])
        optimizer = lib.optim.LBFGS([*cell.parameters(), *head.parameters()], **settings)
        noise = np.random.default_rng(2)

        def closure():
            optimizer.zero_grad()
            h = c = lib.zeros(BATCH, HIDDEN, dtype=lib.float64)
            outputs = []
            for step in range(TIME):
                h, c = cell(inputs[step], (h, c))
                outputs.append(head(h))
            loss = lib.nn.functional.mse_loss(lib.stack(outputs), targets)
            loss.backward()
            if nudge:  # as another engine's roundings would: the loss and gradients move a little
                for p in optimizer.param_groups[0]["params"]:
                    p.grad.copy_(lib.tensor(_rounding_noise(p.grad.detach().cpu().numpy(), noise)))
                return lib.tensor(_rounding_noise(np.array(loss.item()), noise))
            return loss

        losses = [optimizer.step(closure).item() for _ in range(steps)]
        return {
            "losses": losses,
            "weights": [p.detach() for p in cell.parameters()],
            "state_dict": optimizer.state_dict(),
        }

    return case


def _rounding_noise(value: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`value` with each entry moved by up to one ulp of its largest entry, at random: what
    another order of summing the same terms does (two engines' LSTM gradients differ so)."""
    return value + rng.uniform(-1, 1, value.shape) * np.spacing(np.abs(value).max())


@pytest.mark.parametrize(
    "settings",
    [{"max_iter": 5, "history_size": 10}, {"max_iter": 5, "line_search_fn": "strong_wolfe"}],
    ids=["fixed step", "strong wolfe"],
)
def test_lstm_cell_regression(settings):
    as_close_as_pytorch_to_itself(lambda nudge: lstm_regression(settings, 5, nudge))


def test_state_dict_round_trip():
    settings = {"line_search_fn": "strong_wolfe", "history_size": 3, "max_iter": 2}

    def case(lib):
        x = tensor(lib, ROSENBROCK_START, "float64", requires_grad=True)
        optimizer = lib.optim.LBFGS([x], **settings)

        def closure_for(opt, y):
            def closure():
                opt.zero_grad()
                loss = rosenbrock(lib, y)
                loss.backward()
                return loss

            return closure

        for _ in range(3):
            optimizer.step(closure_for(optimizer, x))
        y = x.detach().clone().requires_grad_()
        resumed = lib.optim.LBFGS([y], **settings)
        resumed.load_state_dict(copy.deepcopy(optimizer.state_dict()))
        for _ in range(2):
            optimizer.step(closure_for(optimizer, x))
            resumed.step(closure_for(resumed, y))
        return {"resumed": y, "uninterrupted": x, "state": resumed.state_dict()}

    check(case, TIGHT)


def test_a_negative_lr_is_refused():
    check_raises(lambda lib: lib.optim.LBFGS([tensor(lib, [1.0], "float64")], lr=-1))


def test_parameter_groups_are_refused():
    def case(lib):
        groups = [{"params": [tensor(lib, [1.0], "float64", requires_grad=True)]} for _ in "ab"]
        lib.optim.LBFGS(groups)

    check_raises(case)


def test_only_strong_wolfe_is_known():
    check_raises(minimise(rosenbrock, ROSENBROCK_START, {"line_search_fn": "armijo"}, steps=1))


def test_closure_is_required():
    def case(lib):
        return lib.optim.LBFGS([tensor(lib, [1.0], "float64", requires_grad=True)]).step()

    check_raises(case)


def test_closure_runs_with_grad_enabled_and_first_loss_returns():
    def case(lib):
        w = tensor(lib, [1.0, -2.0], "float64", requires_grad=True)
        optimizer = lib.optim.LBFGS([w], max_iter=3)
        modes = []

        def closure():
            modes.append(lib.is_grad_enabled())
            optimizer.zero_grad()
            loss = ((w - 3) ** 4).sum()
            loss.backward()
            return loss

        with lib.no_grad():
            loss = optimizer.step(closure)
        return {"loss": loss, "modes": modes, "w": w}

    check(case, TIGHT)
