"""The optimizer base class: parameter groups, per-parameter state, `step(closure)`, state dicts.

Subclasses implement `update(param, grad, group, state)` on raw arrays (NumPy or CuPy), changing
`param` in place; the base class calls it for every parameter with a gradient and counts the
in-place change on the parameter's version, as PyTorch's in-place updates do. Buffers in `state`
are arrays on the parameter's device; scalars (a step count, Nadam's momentum product) are NumPy
scalars of the dtype PyTorch gives them, so that `state_dict()` reads exactly as PyTorch's.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np

from ..autograd import replayable
from ..backend import get_array_module, to_device
from ..creation import as_tensor
from ..dispatch import bump_version
from ..grad_mode import enable_grad
from ..tensor import Tensor


def refuse_negative(*checks: tuple[str, float]) -> None:
    """PyTorch's `if not value >= 0.0: raise ValueError(f"Invalid {name}: {value}")`, in order
    (NaN is refused too)."""
    for name, value in checks:
        if not value >= 0.0:
            raise ValueError(f"Invalid {name}: {value}")


def check_lr(lr) -> None:
    """A learning rate as PyTorch accepts it: a number or a one-element tensor, not negative."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    refuse_negative(("learning rate", lr))


def check_betas(betas) -> None:
    """Each beta in [0, 1), PyTorch's message naming its index."""
    for index, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")


def check_adam_arguments(lr, eps, betas, weight_decay) -> None:
    """The Adam family's checks, in PyTorch's order: lr, eps, each beta, weight_decay."""
    check_lr(lr)
    refuse_negative(("epsilon value", eps))
    check_betas(betas)
    refuse_negative(("weight_decay value", weight_decay))


def check_fused(fused, foreach, differentiable) -> None:
    """The combinations PyTorch refuses with fused=True."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def lerp_(start, end, weight: float) -> None:
    """start += weight * (end - start) in place, rounded as PyTorch's lerp_ rounds it."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def zeros_like(state: dict, name: str, like):
    """state[name], created as zeros shaped like `like` the first time it is asked for."""
    if name not in state:
        state[name] = get_array_module(like).zeros_like(like)
    return state[name]


def count_step(state: dict) -> float:
    """Add one to state["step"] (a float32 scalar, as PyTorch's step tensor) and return it."""
    state["step"] = np.float32(state.get("step", 0)) + np.float32(1)
    return float(state["step"])


class Optimizer:
    """Holds parameter groups (each a dict of hyper-parameters) and per-parameter state."""

    # 0-d state entries that are scalars even for a 0-d parameter (see load_state_dict)
    scalar_state = ("step",)
    # PyTorch's words when capturable=True meets a CPU parameter
    capturable_operands = "params and state_steps"
    capturable_devices = "['cuda', 'xpu', 'hpu', 'privateuseone', 'xla']"

    def __init__(self, params: Iterable, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {params.type()}"
            )
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (tensors, or (name, tensor) pairs from named_parameters()),
        each with the defaults unless the group overrides them; the dict itself is kept."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        param_group["params"] = params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__module__}.{type(p).__name__}"
                )
            if not self.defaults.get("differentiable") and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for more "
                "information",
                UserWarning,
                stacklevel=3,
            )
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {kind} to the optimizer"
                )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if seen & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    @replayable
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (or zero it in place with set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.array[...] = 0

    def step(self, closure: Callable | None = None):
        """Update every parameter that has a gradient. `closure`, which re-evaluates the loss
        (zero_grad, forward, backward), runs first with grad enabled; its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._update_parameters()
        return loss

    @replayable  # jit replays the update alone; a closure's own ops are recorded as it runs
    def _update_parameters(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                _refuse_unsupported_modes(self, group, p)
                state = self.state.get(p, {})
                self.update(p.array, p.grad.array, group, state)
                if state and p not in self.state:
                    self.state[p] = state
                bump_version(p)

    def update(self, param, grad, group: dict, state: dict) -> None:
        """Change the array `param` in place, given its gradient `grad`."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}, PyTorch's
        layout, with state arrays as tensors sharing their memory."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)] if isinstance(p, Tensor) else p: _as_tensors(s)
            for p, s in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and state saved by `state_dict` (ours or PyTorch's layout):
        floating state is cast to its parameter's dtype and device, except the step count."""
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(
            len(saved["params"]) != len(own["params"])
            for saved, own in zip(saved_groups, self.param_groups)
        ):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        by_index = {
            index: p
            for saved, own in zip(saved_groups, self.param_groups)
            for index, p in zip(saved["params"], own["params"])
        }
        state: defaultdict[Tensor, dict] = defaultdict(dict)
        for index, saved in state_dict["state"].items():
            param = by_index.get(index)
            if param is None:
                state[index] = saved
            else:
                state[param] = {k: self._restored(v, param, k) for k, v in saved.items()}
        for saved, own in zip(saved_groups, self.param_groups):
            saved["params"] = own["params"]
            if "param_names" in own and "param_names" not in saved:
                saved["param_names"] = own["param_names"]
            for name, default in self.defaults.items():  # a dict saved before a new option
                saved.setdefault(name, default)
        self.state, self.param_groups = state, saved_groups

    def _restored(self, value, param: Tensor, key):
        """A saved state entry as this optimizer keeps it (see the module docstring)."""
        if isinstance(value, dict):
            return {k: self._restored(v, param, k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._restored(v, param, None) for v in value)
        if isinstance(value, Tensor):
            value = value.array
        if not _is_array(value):
            return value  # a number, None, a string
        dtype = value.dtype
        if key != "step" and dtype.kind == "f" and param.dtype.kind == "f":
            dtype = param.array.dtype
        if value.ndim == 0 and (param.ndim > 0 or key is None or key in self.scalar_state):
            host = to_device(get_array_module(value).asarray(value), "cpu")
            return host.astype(dtype)[()]
        moved = to_device(value, param.device)
        return get_array_module(moved).array(moved, dtype=dtype, copy=True)

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            text += "".join(f"    {k}: {group[k]}\n" for k in sorted(group) if k != "params")
        return text + ")"


def _refuse_unsupported_modes(optimizer: Optimizer, group: dict, p: Tensor) -> None:
    """What PyTorch raises on CPU for differentiable=True (its in-place update of a leaf that
    requires grad) and capturable=True (CPU is not a capturable device)."""
    if group.get("differentiable") and p.requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    if group.get("capturable") and p.device == "cpu":
        raise AssertionError(
            f"If capturable=True, {optimizer.capturable_operands} must be on supported devices: "
            f"{optimizer.capturable_devices}."
        )


def _as_tensors(value):
    """`value` with every array (or NumPy scalar) inside it as a tensor sharing its memory."""
    if isinstance(value, dict):
        return {k: _as_tensors(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_as_tensors(v) for v in value)
    if isinstance(value, np.generic):
        return as_tensor(np.asarray(value))
    return as_tensor(value) if _is_array(value) else value


def _is_array(value) -> bool:
    """Whether `value` is a NumPy or CuPy array, or a NumPy scalar."""
    return (
        isinstance(value, np.generic)
        or hasattr(value, "__array_interface__")
        or hasattr(value, "__cuda_array_interface__")
    )
