"""Every learning-rate schedule against PyTorch's over its whole course, lr by lr (and momentum
by momentum where it cycles it), with two parameter groups; its state dict, a resume from it,
the warnings PyTorch gives, and the arguments PyTorch refuses."""

import warnings

import numpy as np
import pytest
from diff_harness import cases, check, check_raises, tensor

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# lrs are Python floats computed by the same formulas in the same order: equal to the last bit
EXACT = {"float64": (0.0, 0.0), "float32": (0.0, 0.0)}


def _scheduler_module(lib):
    return lib.optim.lr_scheduler


def _sgd(lib, momentum=0.9):
    params = [tensor(lib, [1.0, -1.0], "float64", requires_grad=True) for _ in range(2)]
    return lib.optim.SGD(
        [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.01}], lr=0.1, momentum=momentum
    )


def _adam(lib):
    params = [tensor(lib, [1.0, -1.0], "float64", requires_grad=True) for _ in range(2)]
    return lib.optim.Adam([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.01}], lr=0.1)


class Halving:
    """A callable object: its attributes go into LambdaLR's state dict, as in PyTorch."""

    def __init__(self):
        self.factor = 0.5

    def __call__(self, epoch):
        return self.factor ** (epoch // 4)


SCHEDULES = {
    "StepLR": lambda sched, o: sched.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda sched, o: sched.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": lambda sched, o: sched.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR past T_max": lambda sched, o: sched.CosineAnnealingLR(
        o, T_max=7, eta_min=1e-3
    ),
    "LambdaLR": lambda sched, o: sched.LambdaLR(o, lr_lambda=lambda epoch: 0.95**epoch),
    "LambdaLR per group": lambda sched, o: sched.LambdaLR(
        o, lr_lambda=[lambda epoch: 1 / (epoch + 1), Halving()]
    ),
    "MultiplicativeLR": lambda sched, o: sched.MultiplicativeLR(
        o, lr_lambda=lambda epoch: 0.9 if epoch % 2 else 1.0
    ),
    "ConstantLR": lambda sched, o: sched.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR": lambda sched, o: sched.LinearLR(
        o, start_factor=0.25, end_factor=0.9, total_iters=6
    ),
    "LinearLR decreasing": lambda sched, o: sched.LinearLR(o, start_factor=1.0, end_factor=0.1),
    "PolynomialLR": lambda sched, o: sched.PolynomialLR(o, total_iters=8, power=2.0),
    "OneCycleLR": lambda sched, o: sched.OneCycleLR(o, max_lr=[0.5, 1.0], total_steps=30),
    "OneCycleLR linear three phases": lambda sched, o: sched.OneCycleLR(
        o,
        max_lr=2.0,
        epochs=3,
        steps_per_epoch=10,
        pct_start=0.25,
        anneal_strategy="linear",
        three_phase=True,
        div_factor=10.0,
        final_div_factor=100.0,
        base_momentum=[0.8, 0.7],
    ),
    "OneCycleLR without momentum": lambda sched, o: sched.OneCycleLR(
        o, max_lr=0.3, total_steps=30, cycle_momentum=False
    ),
    "SequentialLR warmup then cosine": lambda sched, o: sched.SequentialLR(
        o,
        [sched.LinearLR(o, start_factor=0.1, total_iters=5), sched.CosineAnnealingLR(o, T_max=20)],
        milestones=[5],
    ),
    "SequentialLR of three": lambda sched, o: sched.SequentialLR(
        o,
        [
            sched.ConstantLR(o, factor=0.5, total_iters=2),
            sched.ExponentialLR(o, 0.8),
            sched.StepLR(o, 4),
        ],
        milestones=[4, 10],
    ),
    "ChainedScheduler": lambda sched, o: sched.ChainedScheduler(
        [sched.ConstantLR(o, factor=0.1, total_iters=2), sched.ExponentialLR(o, gamma=0.9)]
    ),
}


def course(make, make_optimizer=_sgd, steps: int = 30):
    """The lrs (and momenta) after construction and after each of `steps` epochs."""

    def case(lib):
        optimizer = make_optimizer(lib)
        scheduler = make(_scheduler_module(lib), optimizer)
        seen = []
        for epoch in range(steps + 1):
            seen.append(
                {
                    "last lr": scheduler.get_last_lr(),
                    "lr": [group["lr"] for group in optimizer.param_groups],
                    "momentum": [
                        group.get("momentum", group.get("betas"))
                        for group in optimizer.param_groups
                    ],
                }
            )
            if epoch < steps:
                optimizer.step()
                scheduler.step()
        return {
            "course": seen,
            "state": scheduler.state_dict(),
            "groups": optimizer.state_dict()["param_groups"],
        }

    return case


@pytest.mark.parametrize("make", cases(SCHEDULES))
def test_schedule_follows_pytorch(make):
    check(course(make), EXACT)


def test_one_cycle_cycles_adams_beta1():
    check(
        course(lambda sched, o: sched.OneCycleLR(o, max_lr=0.1, total_steps=20), _adam, 20), EXACT
    )


def resumed(make, stop: int = 7, steps: int = 20):
    """Save the optimizer's and the scheduler's state dicts, load both into fresh ones, carry on."""

    def case(lib):
        optimizer = _sgd(lib)
        scheduler = make(_scheduler_module(lib), optimizer)
        for _ in range(stop):
            optimizer.step()
            scheduler.step()
        saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
        fresh = _sgd(lib)
        fresh_scheduler = make(_scheduler_module(lib), fresh)
        fresh.load_state_dict(saved_optimizer)
        fresh_scheduler.load_state_dict(saved_scheduler)
        lrs = []
        for _ in range(stop, steps):
            fresh.step()
            fresh_scheduler.step()
            lrs.append(fresh_scheduler.get_last_lr())
        return {"lrs": lrs, "state": fresh_scheduler.state_dict()}

    return case


RESUMABLE = {
    name: SCHEDULES[name]
    for name in (
        "StepLR",
        "CosineAnnealingLR past T_max",
        "LambdaLR per group",
        "OneCycleLR",
        "SequentialLR warmup then cosine",
    )
}


@pytest.mark.parametrize("make", cases(RESUMABLE))
def test_resume_from_state_dicts(make):
    check(resumed(make), EXACT)


def test_resume_with_last_epoch():
    def case(lib):
        optimizer = _sgd(lib)
        optimizer.param_groups[0]["initial_lr"] = 0.2
        optimizer.param_groups[1]["initial_lr"] = 0.02
        scheduler = lib.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10, last_epoch=4)
        lrs = [scheduler.get_last_lr()]
        for _ in range(8):
            optimizer.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr())
        return lrs

    check(case, EXACT)


def test_deprecated_epoch_argument_uses_the_closed_form():
    def case(lib):
        optimizer = _sgd(lib)
        sched = lib.optim.lr_scheduler
        schedulers = [
            sched.StepLR(optimizer, 3),
            sched.LinearLR(optimizer),
            sched.PolynomialLR(optimizer),
        ]
        optimizer.step()
        lrs = []
        for epoch in (7, 2, 4):
            for scheduler in schedulers:
                scheduler.step(epoch)
                lrs.append(scheduler.get_last_lr())
        return lrs

    check(case, EXACT)


PLATEAUS = {
    "min rel": {"patience": 2, "factor": 0.5},
    "min abs cooldown": {"patience": 1, "threshold": 0.05, "threshold_mode": "abs", "cooldown": 2},
    "max rel": {"mode": "max", "patience": 1, "factor": 0.3, "threshold": 0.02},
    "max abs": {"mode": "max", "threshold_mode": "abs", "patience": 0, "threshold": 0.0},
    "min_lr per group": {"patience": 0, "min_lr": [0.02, 0.004], "factor": 0.5},
    "eps skips small cuts": {"patience": 0, "min_lr": 0.05, "factor": 0.5, "eps": 0.02},
}
METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.8, 0.8, 0.81, 0.82, 0.83, 0.84, 0.7, 0.7, 0.69, 0.5]
METRICS += [0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 0.99, 0.98, 1.2, 1.1, 1.0]


@pytest.mark.parametrize("options", cases(PLATEAUS))
def test_reduce_lr_on_plateau_follows_pytorch(options):
    def case(lib):
        optimizer = _sgd(lib)
        scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **options)
        lrs = []
        for i, metric in enumerate(METRICS):
            optimizer.step()
            scheduler.step(tensor(lib, metric, "float64") if i % 3 == 0 else metric)
            lrs.append([scheduler.get_last_lr(), scheduler.num_bad_epochs, scheduler.in_cooldown])
        return {"lrs": lrs, "state": scheduler.state_dict()}

    check(case, EXACT)


def test_reduce_lr_on_plateau_resumes():
    def case(lib):
        optimizer = _sgd(lib)
        sched = lib.optim.lr_scheduler
        scheduler = sched.ReduceLROnPlateau(optimizer, mode="max", patience=1)
        for metric in METRICS[:10]:
            scheduler.step(metric)
        fresh = sched.ReduceLROnPlateau(_sgd(lib))
        fresh.load_state_dict(scheduler.state_dict())
        for metric in METRICS[10:]:
            fresh.step(metric)
        return fresh.state_dict()

    check(case, EXACT)


def _caught(run):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in caught]


def test_warnings_as_pytorch():
    def case(lib):
        sched = lib.optim.lr_scheduler
        optimizer = _sgd(lib)
        early = sched.StepLR(optimizer, 2)
        messages = {"scheduler before optimizer": _caught(early.step)}
        later = _sgd(lib)
        scheduler = sched.ExponentialLR(later, 0.5)
        later.step()
        messages["in order"] = _caught(scheduler.step)
        messages["get_lr outside step"] = _caught(scheduler.get_lr)
        messages["epoch argument"] = _caught(lambda: scheduler.step(3))
        return messages

    check(case)


BAD_ARGUMENTS = {
    "not an optimizer": lambda sched, o: sched.StepLR("sgd", 3),
    "no initial_lr for last_epoch": lambda sched, o: sched.StepLR(o, 3, last_epoch=4),
    "LambdaLR lambda count": lambda sched, o: sched.LambdaLR(o, [lambda e: 1.0]),
    "MultiplicativeLR not callable": lambda sched, o: sched.MultiplicativeLR(o, [0.9, 0.9]),
    "ConstantLR factor": lambda sched, o: sched.ConstantLR(o, factor=1.5),
    "LinearLR start factor": lambda sched, o: sched.LinearLR(o, start_factor=0),
    "LinearLR end factor": lambda sched, o: sched.LinearLR(o, end_factor=1.5),
    "plateau factor": lambda sched, o: sched.ReduceLROnPlateau(o, factor=1.0),
    "plateau mode": lambda sched, o: sched.ReduceLROnPlateau(o, mode="lowest"),
    "plateau threshold mode": lambda sched, o: sched.ReduceLROnPlateau(o, threshold_mode="ratio"),
    "plateau min_lrs": lambda sched, o: sched.ReduceLROnPlateau(o, min_lr=[0.1]),
    "plateau optimizer": lambda sched, o: sched.ReduceLROnPlateau("sgd"),
    "one cycle without length": lambda sched, o: sched.OneCycleLR(o, max_lr=1.0),
    "one cycle total steps": lambda sched, o: sched.OneCycleLR(o, max_lr=1.0, total_steps=0),
    "one cycle epochs": lambda sched, o: sched.OneCycleLR(o, 1.0, epochs=2.0, steps_per_epoch=3),
    "one cycle pct_start": lambda sched, o: sched.OneCycleLR(o, 1.0, total_steps=10, pct_start=1),
    "one cycle strategy": lambda sched, o: sched.OneCycleLR(
        o, 1.0, total_steps=10, anneal_strategy="x"
    ),
    "one cycle max_lr count": lambda sched, o: sched.OneCycleLR(o, [1.0], total_steps=10),
    "one cycle past its end": lambda sched, o: _stepped(sched.OneCycleLR(o, 1.0, total_steps=2), 3),
    "sequential milestones": lambda sched, o: sched.SequentialLR(
        o, [sched.StepLR(o, 2)], milestones=[3]
    ),
    "sequential empty": lambda sched, o: sched.SequentialLR(o, [], milestones=[]),
    "sequential plateau": lambda sched, o: sched.SequentialLR(
        o, [sched.StepLR(o, 2), sched.ReduceLROnPlateau(o)], milestones=[3]
    ),
    "chained empty": lambda sched, o: sched.ChainedScheduler([]),
    "chained other optimizer": lambda sched, o: sched.ChainedScheduler(
        [sched.StepLR(o, 2)], optimizer=sched.StepLR(o, 2)
    ),
}


def _stepped(scheduler, times: int) -> None:
    for _ in range(times):
        scheduler.step()


@pytest.mark.parametrize("make", cases(BAD_ARGUMENTS))
def test_bad_arguments_raise_as_pytorch(make):
    check_raises(lambda lib: make(_scheduler_module(lib), _sgd(lib)))


def test_one_cycle_needs_momentum():
    def case(lib):
        optimizer = lib.optim.Adagrad([tensor(lib, [1.0], "float64", requires_grad=True)])
        lib.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=10)

    check_raises(case)


def test_lr_as_a_tensor_is_filled_in_place():
    def case(lib):
        lr = tensor(lib, 0.1, "float64")
        optimizer = lib.optim.Adam([tensor(lib, [1.0], "float64", requires_grad=True)], lr=lr)
        scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        for _ in range(3):
            optimizer.step()
            scheduler.step()
        return {"same tensor": optimizer.param_groups[0]["lr"] is lr, "lr": lr}

    check(case, EXACT)


def test_values_are_plain_python_floats():
    def case(lib):
        optimizer = _sgd(lib)
        scheduler = lib.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=np.float64(1.0).item(), total_steps=5
        )
        return [type(lr).__name__ for lr in scheduler.get_last_lr()]

    check(case)
