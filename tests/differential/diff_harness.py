"""Run one program on PyTorch and on tinygrad_rnn and compare what each gives back.

A case is a function of the library module, `case(lib)`, written once for both, since the
package aims to work as `import tinygrad_rnn as torch`. Its result (tensors, dtypes, shapes,
numbers, nested tuples, lists and dicts) is turned into plain values: tensors become NumPy
arrays with their dtype's name and `requires_grad`, dtypes become names, tuples and named
tuples become lists. An exception becomes the standard class it belongs to (IndexError,
KeyError, TypeError, ValueError, RuntimeError, AttributeError), so torch's own subclasses of
RuntimeError compare as RuntimeError, and ours must be an instance of that class.

`check` needs PyTorch to succeed, `check_raises` needs it to raise (so a table of bad inputs
keeps testing what it says), `check_same` accepts either (drawn programs that may be invalid).
Then the two outcomes must agree: both raise the same built-in class, or both return the
same structure with equal shapes, dtypes and `requires_grad`, and values equal within the
dtype's tolerance (NaN where NaN, the same infinities). Python numbers compare with their type
(int, float, bool); a NumPy scalar where PyTorch gives a Python number is a difference.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_rnn as tg

torch = pytest.importorskip("torch")

LIBS = {"torch": torch, "tinygrad_rnn": tg}
FLOAT_NAMES = ("float16", "float32", "float64")
DTYPE_NAMES = ("bool", "uint8", "int32", "int64", "float16", "float32", "float64")
# (rtol, atol) per dtype; atol is scaled by the magnitude of the expected values
TOLERANCE = {"float16": (2e-3, 2e-3), "float32": (2e-6, 2e-6), "float64": (1e-10, 1e-12)}
LOOSE = {"float16": (1e-2, 1e-2), "float32": (1e-4, 1e-5), "float64": (1e-9, 1e-11)}


# ---------------------------------------------------------------- names that differ today
#
# The semantic tests reach a few names through these helpers, so that one missing spelling
# fails once (in test_diff_surface.py, which checks PyTorch's spelling exists) instead of
# failing every test that happens to use it. PyTorch's spelling is always tried first.


def dtype(lib, name: str):
    """lib's dtype object called `name` ("bool", "float32", ...)."""
    found = getattr(lib, name, None)
    if found is None and lib is tg and name == "bool":
        found = getattr(lib, "bool_", None)
    if found is None:
        raise AttributeError(f"module {lib.__name__!r} has no dtype {name!r}")
    return found


def functional(lib):
    """lib.nn.functional (tinygrad_rnn today: tinygrad_rnn.functional)."""
    found = getattr(lib.nn, "functional", None)
    return found if found is not None else lib.functional


def logsumexp(lib, x, dim, keepdim=False):
    """torch.logsumexp(x, dim, keepdim) (tinygrad_rnn today: F.logsumexp(x, axis, keepdims))."""
    if hasattr(lib, "logsumexp"):
        return lib.logsumexp(x, dim, keepdim)
    return lib.functional.logsumexp(x, dim, keepdim)


# ---------------------------------------------------------------- making inputs


def array(values, dtype_name: str = "float64") -> np.ndarray:
    """A fresh NumPy array of `values` with the named dtype."""
    return np.array(values, dtype=np.dtype(dtype_name))


def tensor(lib, values, dtype_name: str | None = None, requires_grad: bool = False):
    """lib.tensor of a private copy of `values` (a NumPy array keeps its dtype)."""
    values = np.array(values, dtype=None if dtype_name is None else np.dtype(dtype_name))
    return lib.tensor(values.copy(), requires_grad=requires_grad)


def leaves(lib, arrays, requires_grad: bool = True) -> list:
    """One tensor per array; the floating ones require grad."""
    return [tensor(lib, a, requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays]


COTANGENT_STEPS = (1.0, -0.5, 2.0, 0.25)  # exact in float16, no zeros, both signs


def cotangent(lib, like, varied: bool = True):
    """A fixed upstream gradient shaped and typed like `like`."""
    count = math.prod(like.shape)
    steps = np.array(COTANGENT_STEPS) if varied else np.ones(1)
    values = np.resize(steps, count).reshape(tuple(like.shape)).astype(dtype_name(like.dtype))
    return lib.tensor(values)


def flat_tensors(lib, value) -> list:
    if isinstance(value, lib.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in flat_tensors(lib, item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in flat_tensors(lib, item)]
    return []


def backward_through(lib, out, varied: bool = True) -> None:
    """Send a fixed cotangent back from every output that requires grad."""
    targets = [t for t in flat_tensors(lib, out) if t.requires_grad]
    if len(targets) == 1:
        targets[0].backward(cotangent(lib, targets[0], varied))
    elif targets:
        total = None
        for t in targets:
            term = (t * cotangent(lib, t, varied)).sum()
            total = term if total is None else total + term
        total.backward()


def with_grads(fn, *arrays, varied: bool = True, requires_grad: bool = True):
    """A case: fn(lib, *leaves) and then the gradient of every leaf."""

    def case(lib):
        xs = leaves(lib, arrays, requires_grad)
        out = fn(lib, *xs)
        backward_through(lib, out, varied)
        return {"out": out, "grads": [x.grad for x in xs]}

    return case


# ---------------------------------------------------------------- plain values


@dataclass
class TensorValue:
    values: np.ndarray
    dtype: str
    requires_grad: bool


@dataclass(frozen=True)
class DType:
    name: str


@dataclass(frozen=True)
class Raised:
    kind: type  # the standard class the exception belongs to (builtin_base)
    type_name: str
    message: str
    cls: type = Exception  # the exception's own class

    def __str__(self) -> str:
        return f"raises {self.type_name}: {self.message}"


@dataclass(frozen=True)
class Opaque:
    type_name: str
    text: str


def dtype_name(value) -> str:
    """ "float32" for torch.float32, np.float32, np.dtype("float32"), ..."""
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    try:
        name = np.dtype(value).name
    except TypeError:
        name = str(value).rsplit(".", 1)[-1]
    return "bool" if name == "bool_" else name


def is_dtype(lib, value) -> bool:
    if lib is torch:
        return isinstance(value, torch.dtype)
    if isinstance(value, (np.dtype, lib.dtype)):
        return True
    return isinstance(value, type) and issubclass(value, np.generic)


def to_numpy(lib, t) -> np.ndarray:
    return np.array(t.detach().cpu().numpy(), copy=True)


def plain(lib, value):
    """`value` as plain Python/NumPy data that can be compared across the two libraries."""
    if isinstance(value, lib.Tensor):
        return TensorValue(to_numpy(lib, value), dtype_name(value.dtype), bool(value.requires_grad))
    if is_dtype(lib, value):
        return DType(dtype_name(value))
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (tuple, list)):
        return [plain(lib, item) for item in value]
    if isinstance(value, dict):
        return {key: plain(lib, item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return TensorValue(value.copy(), dtype_name(value.dtype), False)
    if isinstance(value, torch.device):
        return str(value)
    return Opaque(type(value).__qualname__, repr(value)[:200])


# The classes a caller catches; NotImplementedError (PyTorch's "not implemented for 'Bool'")
# counts as the RuntimeError it derives from.
STANDARD_CLASSES = (IndexError, KeyError, TypeError, ValueError, RuntimeError, AttributeError)


def builtin_base(error: BaseException) -> type:
    """The standard class an exception belongs to (its first built-in one otherwise)."""
    for cls in STANDARD_CLASSES:
        if isinstance(error, cls):
            return cls
    for cls in type(error).__mro__:
        if cls.__module__ == "builtins" and getattr(builtins, cls.__name__, None) is cls:
            return cls
    return Exception


def outcome(lib, case):
    """What `case(lib)` gives: its plain result, or Raised."""
    try:
        return plain(lib, case(lib))
    except Exception as error:
        message = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        return Raised(builtin_base(error), type(error).__name__, message, type(error))


# ---------------------------------------------------------------- comparison


def _describe(value) -> str:
    if isinstance(value, TensorValue):
        text = np.array2string(value.values, threshold=20, precision=6)
        flag = ", requires_grad" if value.requires_grad else ""
        return f"tensor {text} shape {value.values.shape} {value.dtype}{flag}"
    if isinstance(value, DType):
        return f"dtype {value.name}"
    return f"{type(value).__name__} {value!r}"


def _outcome(value) -> str:
    return str(value) if isinstance(value, Raised) else f"returns {_describe(value)}"


def _compare_arrays(path, expected: TensorValue, actual: TensorValue, tolerance, problems):
    want, got = expected.values, actual.values
    if want.shape != got.shape:
        problems.append(f"{path}: shape {got.shape}, PyTorch {want.shape}")
        return
    if expected.dtype != actual.dtype:
        problems.append(f"{path}: dtype {actual.dtype}, PyTorch {expected.dtype}")
    if expected.requires_grad != actual.requires_grad:
        problems.append(
            f"{path}: requires_grad {actual.requires_grad}, PyTorch {expected.requires_grad}"
        )
    if want.dtype.kind in "fc" or got.dtype.kind in "fc":
        want64, got64 = want.astype(np.float64), got.astype(np.float64)
        rtol, atol = tolerance.get(expected.dtype, tolerance["float64"])
        finite = want64[np.isfinite(want64)]
        atol *= max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
        bad = ~np.isclose(got64, want64, rtol=rtol, atol=atol, equal_nan=True)
        bad |= np.isinf(want64) != np.isinf(got64)
    else:
        bad = want != got if want.dtype == got.dtype else want.astype(object) != got.astype(object)
    bad = np.asarray(bad)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        problems.append(
            f"{path}: {int(bad.sum())} of {bad.size} values differ, first at {where}: "
            f"ours {got[where]!r}, PyTorch {want[where]!r}\n"
            f"    ours:    {np.array2string(got, threshold=200, precision=6)}\n"
            f"    PyTorch: {np.array2string(want, threshold=200, precision=6)}"
        )


def compare(path: str, expected, actual, tolerance, problems: list) -> None:
    """Append to `problems` every way `actual` (ours) differs from `expected` (PyTorch's)."""
    if isinstance(expected, Raised) or isinstance(actual, Raised):
        if not (isinstance(expected, Raised) and isinstance(actual, Raised)):
            problems.append(f"{path}: ours {_outcome(actual)}; PyTorch {_outcome(expected)}")
        elif not issubclass(actual.cls, expected.kind):
            problems.append(
                f"{path}: ours raises {actual.type_name} ({actual.kind.__name__}): "
                f"{actual.message}; "
                f"PyTorch raises {expected.type_name} ({expected.kind.__name__}): "
                f"{expected.message}"
            )
        return
    if isinstance(expected, TensorValue):
        if not isinstance(actual, TensorValue):
            problems.append(f"{path}: ours returns {_describe(actual)}; PyTorch a tensor")
        else:
            _compare_arrays(path, expected, actual, tolerance, problems)
        return
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            problems.append(
                f"{path}: ours returns {_describe(actual)}; PyTorch a sequence of {len(expected)}"
            )
            return
        for i, (want, got) in enumerate(zip(expected, actual)):
            compare(f"{path}[{i}]", want, got, tolerance, problems)
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or list(actual) != list(expected):
            problems.append(
                f"{path}: ours returns {_describe(actual)}; PyTorch {_describe(expected)}"
            )
            return
        for key in expected:
            compare(f"{path}[{key!r}]", expected[key], actual[key], tolerance, problems)
        return
    if isinstance(expected, float) and isinstance(actual, float):
        rtol, atol = tolerance["float64"]
        if not (
            math.isclose(expected, actual, rel_tol=rtol, abs_tol=atol)
            or (math.isnan(expected) and math.isnan(actual))
        ):
            problems.append(f"{path}: ours returns {actual!r}; PyTorch {expected!r}")
        return
    if type(expected) is not type(actual) or expected != actual:
        problems.append(f"{path}: ours returns {_describe(actual)}; PyTorch {_describe(expected)}")


def _run(case, require, tolerance):
    __tracebackhide__ = True
    expected = outcome(torch, case)
    if require == "ok" and isinstance(expected, Raised):
        pytest.fail(f"the case itself is wrong: PyTorch {expected}", pytrace=False)
    if require == "raises" and not isinstance(expected, Raised):
        pytest.fail(
            f"the case itself is wrong: PyTorch returns {_describe(expected)}", pytrace=False
        )
    actual = outcome(tg, case)
    problems: list[str] = []
    compare("result", expected, actual, tolerance, problems)
    if problems:
        raise AssertionError("\n".join(problems))


def check(case, tolerance=TOLERANCE) -> None:
    """PyTorch runs `case` without error, and we give the same result."""
    __tracebackhide__ = True
    _run(case, "ok", tolerance)


def check_raises(case) -> None:
    """PyTorch raises on `case`, and we raise the same built-in class of exception."""
    __tracebackhide__ = True
    _run(case, "raises", TOLERANCE)


def check_same(case, tolerance=TOLERANCE) -> None:
    """Both raise the same built-in class, or both return the same result."""
    __tracebackhide__ = True
    _run(case, "either", tolerance)


def values_indices(result) -> list:
    """(values, indices) of max/min/sort/topk(dim): unpacked and by name, as PyTorch allows."""
    values, indices = result
    return [values, indices, result.values, result.indices]


def cases(table: dict) -> list:
    """pytest parameters from a {id: case} table."""
    return [pytest.param(case, id=name) for name, case in table.items()]


# ---------------------------------------------------------------- hypothesis strategies

# float64 programs are compared tightly, float32 ones more loosely (another summation order
# or another libm legitimately moves the last bits)
PROGRAM_TOLERANCE = {**LOOSE, "float64": TOLERANCE["float64"]}
MAX_DIMS, MAX_SIDE = 4, 3


def values(low: float = -3.0, high: float = 3.0):
    """Finite float64 elements in [low, high] (hypothesis favours 0, ±1 and repeats: ties)."""
    return st.floats(low, high, allow_nan=False, allow_subnormal=False)


def drawn_array(data, shape, dtype_name: str = "float64", low=-3.0, high=3.0) -> np.ndarray:
    """A drawn array of `shape`, drawn in float64 and rounded to `dtype_name`."""
    drawn = data.draw(hnp.arrays(np.float64, shape, elements=values(low, high)))
    return drawn.astype(np.dtype(dtype_name))


def drawn_shape(data, min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE) -> tuple:
    return data.draw(
        hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    )
