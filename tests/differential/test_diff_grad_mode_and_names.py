"""Grad modes and the names PyTorch programs reach for, as PyTorch.

no_grad as a bare decorator and on generators, set_grad_enabled, inference_mode; and the
module-level names (`torch.nn.functional`, `torch.bool`, `torch.exp`, ...): the semantic tests
go through diff_harness's helpers where today's spelling differs, so each missing spelling
fails here, once.
"""

import pytest
from diff_harness import (
    DTYPE_NAMES,
    cases,
    check,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

# ---------------------------------------------------------------- grad mode


def _bare_decorator(lib):
    @lib.no_grad
    def double(x):
        return x * 2

    x = lib.ones(2, requires_grad=True)
    return [double(x).requires_grad, lib.is_grad_enabled()]


def _called_decorator(lib):
    @lib.no_grad()
    def double(x):
        return x * 2

    x = lib.ones(2, requires_grad=True)
    return [double(x).requires_grad, lib.is_grad_enabled(), double.__name__]


def _generator(lib):
    @lib.no_grad()
    def steps(x):
        for i in range(2):
            yield x * i, lib.is_grad_enabled()

    x = lib.ones(2, requires_grad=True)
    results = []
    for value, enabled in steps(x):
        results += [value.requires_grad, enabled, lib.is_grad_enabled(), (x * 2).requires_grad]
    return results


def _set_grad_enabled(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.set_grad_enabled(False):
        inside = [(x * 2).requires_grad, lib.is_grad_enabled()]
    after = [(x * 2).requires_grad]
    lib.set_grad_enabled(False)
    called = [(x * 2).requires_grad, lib.is_grad_enabled()]
    lib.set_grad_enabled(True)
    with lib.no_grad(), lib.set_grad_enabled(True):
        nested = [(x * 2).requires_grad]
    return inside + after + called + nested + [lib.is_grad_enabled()]


def _inference_mode(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.inference_mode():
        y = x * 2
        inside = [y.requires_grad, lib.is_grad_enabled()]

    @lib.inference_mode()
    def triple(t):
        return t * 3

    return inside + [triple(x).requires_grad, lib.is_grad_enabled(), (x * 2).requires_grad]


def _enable_grad_inside_no_grad(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.no_grad():
        with lib.enable_grad():
            y = x * 2
        z = x * 2
    return [y.requires_grad, z.requires_grad]


def _no_grad_restores_after_an_exception(lib):
    try:
        with lib.no_grad():
            raise KeyError("inside")
    except KeyError:
        pass
    return lib.is_grad_enabled()


def _module_zero_grad(lib):
    layer = lib.nn.Linear(2, 2)
    layer(lib.ones(1, 2)).sum().backward()
    grad = layer.bias.grad
    layer.zero_grad(set_to_none=False)
    after_keep = [layer.bias.grad is grad, layer.bias.grad]
    layer.zero_grad(set_to_none=True)
    return after_keep + [layer.bias.grad]


GRAD_MODE = {
    "no_grad as a bare decorator": _bare_decorator,
    "no_grad() as a decorator": _called_decorator,
    "no_grad on a generator": _generator,
    "set_grad_enabled": _set_grad_enabled,
    "inference_mode": _inference_mode,
    "enable_grad inside no_grad": _enable_grad_inside_no_grad,
    "no_grad restores after an exception": _no_grad_restores_after_an_exception,
    "Module.zero_grad(set_to_none=)": _module_zero_grad,
}


@pytest.mark.parametrize("case", cases(GRAD_MODE))
def test_grad_mode(case):
    check(case)


# ---------------------------------------------------------------- names


NAMES = [
    "nn.functional",
    "nn.Parameter",
    "nn.Module",
    "nn.Linear",
    "nn.RNN",
    "nn.init",
    "nn.utils.clip_grad_norm_",
    "optim.SGD",
    "optim.Adam",
    "optim.lr_scheduler.StepLR",
    "Tensor",
    "Generator",
    "manual_seed",
    "get_default_dtype",
    "is_grad_enabled",
    "set_grad_enabled",
    "inference_mode",
    "no_grad",
    "enable_grad",
    "from_numpy",
    "as_tensor",
    "tensor",
    "zeros",
    "ones",
    "full",
    "arange",
    "rand",
    "randn",
    "randint",
    "randperm",
    "multinomial",
    "zeros_like",
    "ones_like",
    "cat",
    "stack",
    "split",
    "chunk",
    "where",
    "maximum",
    "minimum",
    "max",
    "min",
    "amax",
    "amin",
    "argmax",
    "sum",
    "mean",
    "std",
    "var",
    "exp",
    "log",
    "sqrt",
    "tanh",
    "sigmoid",
    "relu",
    "abs",
    "clamp",
    "matmul",
    "mm",
    "bmm",
    "softmax",
    "log_softmax",
    "logsumexp",
    "reshape",
    "flatten",
    "transpose",
    "squeeze",
    "unsqueeze",
    "gather",
    "cumsum",
    "sort",
    "argsort",
    "topk",
    "save",
    "load",
    *DTYPE_NAMES,
    "long",
    "int",
    "float",
    "double",
    "half",
]


@pytest.mark.parametrize("name", NAMES)
def test_name_exists(name):
    def case(lib):
        value = lib
        for part in name.split("."):
            value = getattr(value, part)
        return True

    check(case)


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_objects_compare_and_name_themselves(name):
    def case(lib):
        kind = getattr(lib, name)
        x = lib.zeros(1, dtype=kind)
        return [x.dtype == kind, str(kind).rsplit(".", 1)[-1], kind.is_floating_point]

    check(case)
