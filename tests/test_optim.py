"""Each optimizer against its update formula written out here; schedules; clipping."""

import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim

RNG = np.random.default_rng(0)
P0 = RNG.standard_normal(5)
GRADS = [RNG.standard_normal(5) for _ in range(4)]


def run(optimizer_class, **kwargs):
    p = tg.tensor(P0.copy(), requires_grad=True)
    opt = optimizer_class([p], **kwargs)
    history = []
    for g in GRADS:
        opt.zero_grad()
        p.grad = tg.tensor(g.copy())
        opt.step()
        history.append(p.detach().cpu().numpy().copy())
    return history


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_weight_decay(nesterov):
    lr, mu, wd = 0.1, 0.9, 0.01
    p, buf, expected = P0.copy(), None, []
    for g in GRADS:
        g = g + wd * p
        buf = g.copy() if buf is None else mu * buf + g
        p = p - lr * (g + mu * buf if nesterov else buf)
        expected.append(p)
    got = run(optim.SGD, lr=lr, momentum=mu, weight_decay=wd, nesterov=nesterov)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_plain_sgd():
    np.testing.assert_allclose(run(optim.SGD, lr=0.5)[0], P0 - 0.5 * GRADS[0], rtol=1e-12)


@pytest.mark.parametrize(("cls", "decoupled"), [(optim.Adam, False), (optim.AdamW, True)])
def test_adam_and_adamw(cls, decoupled):
    lr, b1, b2, eps, wd = 0.01, 0.8, 0.95, 1e-6, 0.1
    p, m, v, expected = P0.copy(), 0, 0, []
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        expected.append(p)
    got = run(cls, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop(centered, momentum):
    lr, alpha, eps = 0.01, 0.9, 1e-8
    p, sq, avg, buf, expected = P0.copy(), 0, 0, 0, []
    for g in GRADS:
        sq = alpha * sq + (1 - alpha) * g * g
        avg = alpha * avg + (1 - alpha) * g
        denominator = np.sqrt(sq - avg * avg if centered else sq) + eps
        if momentum:
            buf = momentum * buf + g / denominator
            p = p - lr * buf
        else:
            p = p - lr * g / denominator
        expected.append(p)
    got = run(optim.RMSprop, lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_parameters_without_gradient_are_left_alone_and_groups_work():
    a, b = tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)
    opt = optim.SGD([{"params": [a], "lr": 0.5}, {"params": [b]}], lr=0.1)
    a.grad = tg.ones(2)
    opt.step()
    np.testing.assert_allclose(a.detach().cpu().numpy(), [0.5, 0.5])
    np.testing.assert_allclose(b.detach().cpu().numpy(), [1, 1])


def test_bad_hyper_parameters_are_refused():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.SGD([tg.ones(1, requires_grad=True)], lr=-1)
    with pytest.raises(ValueError, match="beta"):
        optim.Adam([tg.ones(1, requires_grad=True)], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([tg.ones(1, requires_grad=True)], nesterov=True)


def test_optimizer_state_dict_resumes_exactly():
    full = run(optim.Adam, lr=0.01)
    p = tg.tensor(P0.copy(), requires_grad=True)
    opt = optim.Adam([p], lr=0.01)
    for g in GRADS[:2]:
        p.grad = tg.tensor(g.copy())
        opt.step()
    saved, weights = opt.state_dict(), p.detach().cpu().numpy().copy()
    q = tg.tensor(weights, requires_grad=True)
    resumed = optim.Adam([q], lr=0.5)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == 0.01
    for g in GRADS[2:]:
        q.grad = tg.tensor(g.copy())
        resumed.step()
    np.testing.assert_array_equal(q.detach().cpu().numpy(), full[-1])


@pytest.mark.parametrize(
    ("make", "formula"),
    [
        (lambda o: optim.StepLR(o, step_size=3, gamma=0.5), lambda e: 0.1 * 0.5 ** (e // 3)),
        (lambda o: optim.ExponentialLR(o, gamma=0.9), lambda e: 0.1 * 0.9**e),
        (
            lambda o: optim.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
            lambda e: 0.01 + 0.09 * (1 + math.cos(math.pi * e / 10)) / 2,
        ),
    ],
)
def test_schedulers_follow_their_formulas_and_resume(make, formula):
    opt = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.1)
    scheduler = make(opt)
    for epoch in range(12):
        assert scheduler.get_last_lr()[0] == pytest.approx(formula(epoch), rel=1e-12)
        opt.step()
        scheduler.step()
    # as in PyTorch, the lrs come back with the optimizer's state, the schedule with its own
    fresh_opt = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.1)
    fresh = make(fresh_opt)
    fresh_opt.load_state_dict(opt.state_dict())
    fresh.load_state_dict(scheduler.state_dict())
    assert fresh_opt.param_groups[0]["lr"] == pytest.approx(formula(12), rel=1e-12)
    fresh_opt.step()
    fresh.step()
    assert fresh.get_last_lr()[0] == pytest.approx(formula(13), rel=1e-12)


EVERY_OPTIMIZER = [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    lambda p: optim.AdamW(p, lr=0.01),
    lambda p: optim.Adamax(p, lr=0.01),
    lambda p: optim.NAdam(p, lr=0.01, decoupled_weight_decay=True, weight_decay=0.1),
    lambda p: optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1),
    lambda p: optim.Adadelta(p),
    lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
    lambda p: optim.LBFGS(p, lr=0.5, max_iter=3, history_size=2, line_search_fn="strong_wolfe"),
]


def _quadratic_steps(optimizer, p, steps):
    target = tg.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], dtype=tg.float64)

    def closure():
        optimizer.zero_grad()
        loss = ((p - target) ** 4).sum() + (p * p).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)


@pytest.mark.parametrize("make", EVERY_OPTIMIZER)
def test_every_optimizer_resumes_exactly_from_a_checkpoint_file(make, tmp_path):
    start = np.linspace(-1, 1, 6).reshape(2, 3)
    p = tg.tensor(start, requires_grad=True)
    optimizer = make([p])
    _quadratic_steps(optimizer, p, 3)
    tg.save({"weights": p.detach(), "optimizer": optimizer.state_dict()}, tmp_path / "c")
    _quadratic_steps(optimizer, p, 3)

    saved = tg.load(tmp_path / "c")
    q = tg.tensor(saved["weights"].numpy(), requires_grad=True)
    resumed = make([q])
    resumed.load_state_dict(saved["optimizer"])
    _quadratic_steps(resumed, q, 3)
    # NAdam's float32 momentum product comes back in the weights' dtype, as in PyTorch: the
    # resumed run rounds it differently
    exact = not isinstance(optimizer, optim.NAdam)
    np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=0 if exact else 1e-9)


def test_state_dict_holds_tensors_sharing_the_state():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.Adam([p])
    p.grad = tg.tensor([0.5, -0.5])
    optimizer.step()
    state = optimizer.state_dict()["state"][0]
    assert isinstance(state["exp_avg"], tg.Tensor) and state["step"].dtype == tg.float32
    optimizer.step()
    np.testing.assert_array_equal(state["exp_avg"].numpy(), optimizer.state[p]["exp_avg"])


def test_jit_replays_a_sequence_of_schedules_once_per_call():
    weight = tg.ones(1, requires_grad=True)
    optimizer = optim.SGD([weight], lr=1.0)
    sched = optim.lr_scheduler
    scheduler = sched.SequentialLR(
        optimizer, [sched.ConstantLR(optimizer, 0.5, 2), sched.ExponentialLR(optimizer, 0.5)], [2]
    )
    eager = optim.SGD([tg.ones(1, requires_grad=True)], lr=1.0)
    eager_scheduler = sched.SequentialLR(
        eager, [sched.ConstantLR(eager, 0.5, 2), sched.ExponentialLR(eager, 0.5)], [2]
    )

    @tg.jit
    def step(x):
        optimizer.zero_grad()
        (weight * x).sum().backward()
        optimizer.step()
        scheduler.step()

    for _ in range(5):
        step(tg.ones(1))
        eager.step()
        eager_scheduler.step()
        assert scheduler.get_last_lr() == eager_scheduler.get_last_lr()


def test_a_closure_is_recorded_by_jit_as_it_runs():
    weight = tg.tensor([2.0], requires_grad=True)
    optimizer = optim.SGD([weight], lr=0.25)

    @tg.jit
    def step(x):
        def closure():
            optimizer.zero_grad()
            loss = (weight * x).sum()
            loss.backward()
            return loss

        return optimizer.step(closure)

    for _ in range(3):
        step(tg.tensor([2.0]))
    assert weight.item() == pytest.approx(2.0 - 3 * 0.25 * 2.0)


def test_clip_grad_norm_bounds_the_norm_and_keeps_the_direction():
    params = [tg.ones(3, requires_grad=True), tg.ones(2, 2, requires_grad=True)]
    params[0].grad, params[1].grad = tg.tensor([3.0, 0.0, 4.0]), tg.tensor([[0.0, 12.0], [0, 0]])
    before = [p.grad.detach().cpu().numpy().copy() for p in params]
    norm = nn.utils.clip_grad_norm_(params, max_norm=1.0)
    assert norm == pytest.approx(13.0)
    after = [p.grad.detach().cpu().numpy() for p in params]
    total = np.sqrt(sum((a**2).sum() for a in after))
    assert total == pytest.approx(1.0, rel=1e-5)
    for a, b in zip(after, before):
        np.testing.assert_allclose(a, b / 13.0, rtol=1e-5)
    assert nn.utils.clip_grad_norm_(params, max_norm=5.0) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(
        params[0].grad.detach().cpu().numpy(), after[0]
    )  # under the bound: untouched


def test_clip_grad_norm_refuses_non_finite_norms_when_asked():
    p = tg.ones(2, requires_grad=True)
    p.grad = tg.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf * 0, as in PyTorch: the gradients become NaN
        assert math.isinf(nn.utils.clip_grad_norm_([p], 1.0))


def test_clip_grad_value():
    p = tg.ones(3, requires_grad=True)
    p.grad = tg.tensor([-5.0, 0.5, 5.0])
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.detach().cpu().numpy(), [-1.0, 0.5, 1.0])
