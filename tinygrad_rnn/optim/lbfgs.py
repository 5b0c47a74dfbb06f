"""L-BFGS as PyTorch's (after minFunc): the two-loop recursion over a limited history of steps,
and an optional strong-Wolfe line search with cubic interpolation (minFunc's lswolfe).

The parameters are handled as one flat vector. Dot products, norms and step lengths are NumPy
scalars of the parameters' dtype, where PyTorch has 0-d tensors: in float32 they round and
compare as PyTorch's do, so both take the same branches and produce the same iterates.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..backend import get_array_module, to_device
from ..dispatch import bump_version
from ..grad_mode import enable_grad
from ..tensor import Tensor
from .optimizer import Optimizer, check_lr


def _scalar(value):
    """A 0-d result (a dot product, a maximum) as a host NumPy scalar of its dtype."""
    return value if isinstance(value, np.generic) else to_device(value, "cpu")[()]


def _abs_max(vector):
    return _scalar(get_array_module(vector).abs(vector).max())


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clipped
    to `bounds` (default: the interval between x1 and x2); its midpoint if the cubic has none."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(
    evaluate: Callable, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25
):
    """A step length t along d meeting the strong Wolfe conditions (sufficient decrease c1,
    curvature c2): bracket, then zoom. `evaluate(t)` gives (loss, flat gradient) at x + t d.
    Returns (loss, gradient, t, evaluations)."""
    d_norm = _abs_max(d)
    g = g.copy()
    f_new, g_new = evaluate(t)
    evaluations = 1
    gtd_new = _scalar(g_new.dot(d))

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate, at least 1% beyond t and at most ten times it
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous = t
        t = cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new.copy(), gtd_new
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = _scalar(g_new.dot(d))
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point in it satisfies the criteria
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        # a trial point too close to an end of the bracket moves to 10% of its width from it,
        # when the last trial also made too little progress or this one sits on the end
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = _scalar(g_new.dot(d))
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            # no sufficient decrease, or not below the lowest point: t becomes the high end
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                # the old low end becomes the high one
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evaluations


class LBFGS(Optimizer):
    """Limited-memory BFGS; `step(closure)` runs up to max_iter iterations, each calling the
    closure (which must zero the gradients, compute the loss, call backward and return it)."""

    scalar_state = ("t", "H_diag")

    def __init__(
        self,
        params,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def _flat_grad(self):
        """Every parameter's gradient (zeros where it has none) in one new vector."""
        xp = get_array_module(self._params[0].array)
        return xp.concatenate(
            [
                p.grad.array.reshape(-1)
                if p.grad is not None
                else xp.zeros(p.array.size, p.array.dtype)
                for p in self._params
            ]
        )

    def _add_to_params(self, step_size, direction) -> None:
        offset = 0
        for p in self._params:
            size = p.array.size
            p.array += step_size * direction[offset : offset + size].reshape(p.array.shape)
            bump_version(p)
            offset += size

    def _set_params(self, arrays) -> None:
        for p, array in zip(self._params, arrays):
            p.array[...] = array
            bump_version(p)

    def step(self, closure: Callable):  # type: ignore[override]
        """Minimise the closure's loss from the current parameters; return its first loss."""
        with np.errstate(divide="ignore", invalid="ignore"):  # as PyTorch's scalars: no warnings
            return self._minimise(closure)

    def _evaluate(self, closure: Callable) -> float:
        with enable_grad():
            return float(closure())

    def _minimise(self, closure: Callable):
        group = self.param_groups[0]
        lr = float(group["lr"]) if isinstance(group["lr"], Tensor) else group["lr"]
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        # LBFGS's state is global; it sits with the first parameter, as in PyTorch
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        xp = get_array_module(flat_grad)
        if _abs_max(flat_grad) <= tolerance_grad:
            return orig_loss
        opt_cond = False

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")  # noqa: N806 (PyTorch's name, kept in the state dict)
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # the search direction: steepest descent first, then the two-loop recursion
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1  # noqa: N806
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = _scalar(y.dot(s))
                if ys > 1e-10:  # keep only pairs with positive curvature
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / _scalar(y.dot(y))  # noqa: N806
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = _scalar(old_stps[i].dot(q)) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(len(old_dirs)):
                    be_i = _scalar(old_dirs[i].dot(r)) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # the step length: a cautious first step, then lr
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / _scalar(xp.abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = _scalar(flat_grad.dot(d))
            if gtd > -tolerance_change:  # not a descent direction (any more)
                break

            evaluations = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = [p.array.copy() for p in self._params]

                def evaluate(step_length, x_init=x_init, d=d):
                    self._add_to_params(step_length, d)
                    value = self._evaluate(closure)
                    gradient = self._flat_grad()
                    self._set_params(x_init)
                    return value, gradient

                loss, flat_grad, t, evaluations = strong_wolfe(
                    evaluate, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
                )
                self._add_to_params(t, d)
                opt_cond = _abs_max(flat_grad) <= tolerance_grad
            else:
                self._add_to_params(t, d)
                if n_iter != max_iter:
                    # the last iteration's loss is not needed (in a stochastic setting it would
                    # be evaluated on the next batch anyway)
                    loss = self._evaluate(closure)
                    flat_grad = self._flat_grad()
                    opt_cond = _abs_max(flat_grad) <= tolerance_grad
                    evaluations = 1
            current_evals += evaluations
            state["func_evals"] += evaluations

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if _abs_max(d * t) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break  # no progress

        state.update(
            d=d,
            t=t,
            old_dirs=old_dirs,
            old_stps=old_stps,
            ro=ro,
            H_diag=H_diag,
            prev_flat_grad=prev_flat_grad,
            prev_loss=prev_loss,
        )
        return orig_loss
