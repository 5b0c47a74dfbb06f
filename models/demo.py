"""A short demo: a tanh RNN unrolled by hand learns to sum a sequence, trained by plain BPTT."""

import numpy as np

import tinygrad_rnn as tg


def main(steps: int = 300, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    hidden = 16
    w_x = tg.randn(1, hidden, generator=rng, requires_grad=True)
    w_h = tg.tensor(
        rng.standard_normal((hidden, hidden)) * 0.1, dtype=tg.float32, requires_grad=True
    )
    w_out = tg.randn(hidden, 1, generator=rng, requires_grad=True)
    params, lr = [w_x, w_h, w_out], 0.05
    for step in range(steps):
        xs = rng.uniform(-1, 1, size=(32, 10, 1)).astype(np.float32)
        h = tg.zeros(32, hidden)
        for t in range(xs.shape[1]):
            h = (tg.tensor(xs[:, t]) @ w_x + h @ w_h).tanh()
        loss = tg.F.mse_loss(h @ w_out, xs.sum(axis=1) / 4)
        for p in params:
            p.grad = None
        loss.backward()
        with tg.no_grad():
            for p in params:
                p.data -= lr * p.grad.data
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    return loss.item()


if __name__ == "__main__":
    main()
