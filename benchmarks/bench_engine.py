"""The engine's overhead: per-op forward+backward against plain NumPy, and a 28-step tanh RNN
forward+backward against a hand-written NumPy BPTT of the same network.

    python -m benchmarks.bench_engine [--repeats 50] [--out benchmarks/results/engine.json]
"""

from __future__ import annotations

import argparse

import numpy as np

import tinygrad_rnn as tg
from benchmarks import numpy_rnn
from benchmarks.timing import measure, print_table, write_json

SIZE = 150


def op_cases(rng):
    """(name, engine forward+backward, the same math in NumPy) on 150x150 float32 arrays."""
    a_np, b_np, g = (rng.standard_normal((SIZE, SIZE)).astype(np.float32) for _ in range(3))
    a, b = tg.tensor(a_np, requires_grad=True), tg.tensor(b_np, requires_grad=True)
    row = tg.tensor(b_np[0], requires_grad=True)

    def engine(fn):
        def run():
            a.grad = b.grad = row.grad = None
            fn().backward(g)

        return run

    def np_tanh():
        y = np.tanh(a_np)
        return g * (1 - y * y)

    def np_sum_rows():
        return np.broadcast_to(g.sum(axis=1, keepdims=True), g.shape).copy()

    return [
        ("add", engine(lambda: a + b), lambda: (a_np + b_np, g.copy(), g.copy())),
        ("add (broadcast row)", engine(lambda: a + row), lambda: (a_np + b_np[0], g.sum(axis=0))),
        ("mul", engine(lambda: a * b), lambda: (a_np * b_np, g * b_np, g * a_np)),
        ("matmul", engine(lambda: a @ b), lambda: (a_np @ b_np, g @ b_np.T, a_np.T @ g)),
        ("tanh", engine(lambda: a.tanh()), np_tanh),
        ("exp", engine(lambda: a.exp()), lambda: g * np.exp(a_np)),
        (
            "sum(axis=1, keepdims)",
            engine(lambda: a.sum(axis=1, keepdims=True).expand(SIZE, SIZE)),
            np_sum_rows,
        ),
        (
            "getitem a[:, 3:50]",
            engine(lambda: tg.F.pad(a[:, 3:50], (3, 100))),
            lambda: np.pad(a_np[:, 3:50], ((0, 0), (3, 100))),
        ),
    ]


def rnn_step_engine(params, x, labels):
    """One forward + backward of the book's tanh RNN through the engine (grads left in .grad)."""
    for p in params.values():
        p.grad = None
    inputs = tg.as_tensor(x)
    w_ih_t, w_hh_t = params["weight_ih"].T, params["weight_hh"].T
    bias = params["bias_ih"] + params["bias_hh"]
    h = tg.zeros(x.shape[0], params["weight_hh"].shape[0])
    for t in range(x.shape[1]):
        h = (inputs[:, t] @ w_ih_t + bias + h @ w_hh_t).tanh()
    logits = h @ params["weight_out"].T + params["bias_out"]
    loss = tg.F.cross_entropy(logits, labels)
    loss.backward()
    return loss


def check_rnn_equal(params_np, params, x, labels) -> float:
    loss_np, grads_np = numpy_rnn.loss_and_grads(params_np, x, labels)
    loss = rnn_step_engine(params, x, labels)
    assert abs(loss.item() - loss_np) < 1e-5, (loss.item(), loss_np)
    worst = 0.0
    for name, grad in grads_np.items():
        np.testing.assert_allclose(params[name].grad.numpy(), grad, rtol=1e-4, atol=1e-6)
        worst = max(worst, float(np.abs(params[name].grad.numpy() - grad).max()))
    return worst


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--out", default="benchmarks/results/engine.json")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)

    rows, ops_json = [], {}
    for name, engine_fn, numpy_fn in op_cases(rng):
        timing = measure({"engine": engine_fn, "numpy": numpy_fn}, args.repeats * 4)
        engine_us, numpy_us = timing["engine"]["median"] * 1e6, timing["numpy"]["median"] * 1e6
        ops_json[name] = {"engine_us": engine_us, "numpy_us": numpy_us}
        rows.append(
            [
                name,
                f"{engine_us:.1f}",
                f"{numpy_us:.1f}",
                f"{engine_us - numpy_us:+.1f}",
                f"{engine_us / numpy_us:.2f}x",
            ]
        )
    print_table(
        f"forward + backward of one op on {SIZE}x{SIZE} float32 (median µs)",
        ["op", "engine", "numpy", "overhead", "ratio"],
        rows,
    )

    params_np = numpy_rnn.init_params(28, 150, 10)
    params = {k: tg.tensor(v, requires_grad=True) for k, v in params_np.items()}
    x = rng.standard_normal((args.batch, args.steps, 28)).astype(np.float32)
    labels = rng.integers(0, 10, args.batch)
    worst = check_rnn_equal(params_np, params, x, labels)
    timing = measure(
        {
            "engine": lambda: rnn_step_engine(params, x, labels),
            "numpy": lambda: numpy_rnn.loss_and_grads(params_np, x, labels),
        },
        args.repeats,
    )
    ratio = timing["engine"]["median"] / timing["numpy"]["median"]
    print_table(
        f"{args.steps}-step tanh RNN forward + backward, batch {args.batch}, 28 -> 150 -> 10 "
        f"(ms; loss and gradients equal, worst |diff| {worst:.1e})",
        ["variant", "median", "min", "max"],
        [
            [name, f"{t['median'] * 1e3:.2f}", f"{t['min'] * 1e3:.2f}", f"{t['max'] * 1e3:.2f}"]
            for name, t in timing.items()
        ],
    )
    verdict = "within" if ratio <= 1.3 else "ABOVE"
    print(f"\nengine / hand-written NumPy BPTT = {ratio:.3f} ({verdict} the 1.3x target)")
    result = {
        "ops": ops_json,
        "rnn": {
            **timing,
            "ratio": ratio,
            "batch": args.batch,
            "steps": args.steps,
            "max_grad_diff": worst,
        },
    }
    write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
