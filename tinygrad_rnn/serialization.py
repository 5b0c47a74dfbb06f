"""torch.serialization's path: `save` and `load` for tensors, state dicts and whole objects,
loading only allow-listed classes unless told otherwise (PyTorch 2.6+'s `weights_only`).

Two formats, both one safetensors file with {"format": "tinygrad_rnn", "version": "1"} in its
metadata, so any safetensors reader lists the arrays of either:

- the tree format (tinygrad_rnn.checkpoint) for tensors, arrays and nested dicts, lists and
  tuples of them and of plain values: what state dicts and training checkpoints are. The
  nesting is JSON in the metadata ("tree"); nothing is pickled.
- the pickle container for anything else (a whole module, an object holding a set or an
  argparse.Namespace): the object is pickled, but every tensor, parameter, NumPy array or
  scalar and NumPy Generator in it is replaced by a reference (a pickle persistent id), so
  the values live as safetensors entries "0", "1", ... and the pickle stream, the entry named
  in the metadata's "pickle" field ("__pickle__", uint8), holds only the structure. A tensor
  referenced twice (tied weights) is stored once and comes back as one object.

`load(..., weights_only=True)`, the default, unpickles through an unpickler that resolves only
allow-listed globals: PyTorch's defaults (OrderedDict, Counter, set, complex, bytearray), this
library's Tensor, Parameter, Size, dtypes and devices, and what `add_safe_globals` or
`safe_globals` added. Any other class or function in the stream, such as `os.system` in a
malicious file, is refused before anything is called, with an error naming every such global
and how to allow it. `weights_only=False` unpickles anything: only for files you trust.
Tree-format files never run code either way.

Differences from PyTorch: tensors load onto `map_location` or the default device (the device
they were saved from is not recorded); tensors sharing memory without being the same object
are stored separately; PyTorch's zip files are not read; NumPy arrays and Generators load
under `weights_only=True` without being allow-listed (PyTorch refuses them), since they are
stored as data, never unpickled.
"""

from __future__ import annotations

import io
import json
import pickle
import pickletools
from collections import Counter, OrderedDict
from contextlib import ContextDecorator

import numpy as np
import safetensors.numpy

from . import checkpoint
from .backend import check_device, device, to_device
from .checkpoint import FORMAT, CheckpointError
from .dtypes import as_dtype
from .nn.module import Parameter
from .tensor import Size, Tensor, _rebuild

PICKLE_ENTRY = "__pickle__"
_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")


def _full_name(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


_DEFAULT_GLOBALS = {
    **{_full_name(obj): obj for obj in (OrderedDict, Counter, Tensor, Parameter, Size, device)},
    **{f"builtins.{obj.__name__}": obj for obj in (set, frozenset, complex, bytearray)},
    "tinygrad_rnn.dtypes.as_dtype": as_dtype,
}
_user_globals: list = []


def add_safe_globals(safe_globals: list) -> None:
    """Allow `weights_only` loading to use these classes or functions; an item is the object
    or (object, "module.name") when the file names it otherwise."""
    _user_globals.extend(item for item in safe_globals if item not in _user_globals)


def get_safe_globals() -> list:
    """The globals `add_safe_globals` allowed, as they were given."""
    return list(_user_globals)


def clear_safe_globals() -> None:
    """Forget every global `add_safe_globals` allowed (PyTorch's defaults stay)."""
    _user_globals.clear()


class safe_globals(ContextDecorator):  # noqa: N801 - PyTorch's name
    """Allow these globals for `weights_only` loading inside a `with` block only."""

    def __init__(self, safe_globals: list) -> None:
        self.safe_globals = safe_globals

    def __enter__(self) -> None:
        self._before = get_safe_globals()
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc) -> None:
        _user_globals[:] = self._before


def _allowed_globals() -> dict:
    allowed = dict(_DEFAULT_GLOBALS)
    for item in _user_globals:
        obj, name = item if isinstance(item, tuple) else (item, _full_name(item))
        allowed[name] = obj
    return allowed


# ---------------------------------------------------------------- saving


class _Pickler(pickle.Pickler):
    """Pickles the structure; moves tensors, arrays and NumPy generators out by reference."""

    def __init__(self, file, protocol: int):
        super().__init__(file, protocol=protocol)
        self.arrays: dict[str, np.ndarray] = {}
        self.entries: dict[int, tuple[str, object]] = {}  # holds obj, so its id stays unique

    def _entry(self, obj, array) -> str:
        if id(obj) not in self.entries:
            name = str(len(self.arrays))
            self.arrays[name] = checkpoint._contiguous(to_device(array, "cpu"))
            self.entries[id(obj)] = (name, obj)
        return self.entries[id(obj)][0]

    def persistent_id(self, obj):
        if isinstance(obj, Tensor):
            return ("tensor", self._entry(obj, obj.array), type(obj), obj.requires_grad)
        if isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
            return ("array", self._entry(obj, obj)) if checkpoint.storable(obj) else None
        if isinstance(obj, np.generic) and checkpoint.storable(np.asarray(obj)):
            return ("scalar", self._entry(obj, np.asarray(obj)))
        if isinstance(obj, np.random.Generator):
            return ("generator", json.dumps(obj.bit_generator.state))
        return None


def save(obj, f, pickle_module=None, pickle_protocol: int = pickle.HIGHEST_PROTOCOL, **_) -> None:
    """Write `obj` (a tensor, a state dict, any picklable object) to `f`, a path (written
    atomically) or a binary file object. `pickle_module` and PyTorch's zip options are
    accepted and ignored."""
    try:
        payload = checkpoint.tree_payload(obj)
    except checkpoint.NotATreeError:
        buffer = io.BytesIO()
        pickler = _Pickler(buffer, pickle_protocol)
        pickler.dump(obj)
        stream = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
        metadata = {"format": FORMAT, "version": "1", "pickle": PICKLE_ENTRY}
        payload = safetensors.numpy.save({**pickler.arrays, PICKLE_ENTRY: stream}, metadata)
    checkpoint.write(payload, f)


# ---------------------------------------------------------------- loading


class _Unpickler(pickle.Unpickler):
    """Resolves references to the stored arrays, and (unless `allowed` is None) only the
    allow-listed globals: every class or function a pickle can call comes through
    find_class, so nothing else can run."""

    def __init__(self, file, arrays: dict, location: str | None, allowed: dict | None):
        super().__init__(file)
        self.arrays, self.location, self.allowed = arrays, location, allowed
        self.loaded: dict[str, object] = {}

    def find_class(self, module: str, name: str):
        if self.allowed is None:
            return super().find_class(module, name)
        full_name = f"{module}.{name}"
        if full_name not in self.allowed:
            raise pickle.UnpicklingError(_refusal([full_name]))
        return self.allowed[full_name]

    def persistent_load(self, pid):
        kind = pid[0] if isinstance(pid, tuple) and pid else None
        if kind == "generator" and len(pid) == 2:
            return _generator(json.loads(pid[1]))
        if kind not in ("tensor", "array", "scalar") or pid[1] not in self.arrays:
            raise pickle.UnpicklingError(f"unknown reference {pid!r} in the pickle stream")
        if pid[1] not in self.loaded:
            self.loaded[pid[1]] = self._rebuild(pid, self.arrays[pid[1]])
        return self.loaded[pid[1]]

    def _rebuild(self, pid, array: np.ndarray):
        if pid[0] == "array":
            return array
        if pid[0] == "scalar":
            return array[()]
        _, _, cls, requires_grad = pid
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise pickle.UnpicklingError(f"a tensor reference names {cls!r}, not a Tensor class")
        location = check_device(self.location)
        return _rebuild(cls, array.copy(), location, bool(requires_grad))


def _generator(state: dict) -> np.random.Generator:
    if state.get("bit_generator") not in _BIT_GENERATORS:
        raise pickle.UnpicklingError(f"unknown bit generator {state.get('bit_generator')!r}")
    generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
    generator.bit_generator.state = state
    return generator


def _refusal(names: list[str]) -> str:
    listed = ", ".join(names)
    return (
        f"Weights only load failed: the file needs {listed}, not allowed by default "
        f"(weights_only=True). If you trust them, allow them with "
        f"serialization.add_safe_globals([{listed}]) or within `with "
        f"serialization.safe_globals([{listed}]):`; or, only if you trust the file's source, "
        "load it with weights_only=False, which can run arbitrary code."
    )


def _location(map_location, device_name) -> str | None:
    """The device tensors load onto: map_location (a device, or a dict whose targets agree),
    else `device`; None means the default device."""
    location = map_location if map_location is not None else device_name
    if isinstance(location, dict):
        targets = {str(target) for target in location.values()}
        location = targets.pop() if len(targets) == 1 else None
    if location is None or callable(location):
        return None
    return check_device(str(location))


def load(
    f,
    map_location=None,
    pickle_module=None,
    *,
    weights_only: bool | None = True,
    device: str | None = None,
    **_,
):
    """Read what `save` wrote to a path or binary file object; tensors go to `map_location`
    (or `device`; the default device if neither). With weights_only (the default) only
    allow-listed classes are unpickled."""
    weights_only = weights_only is None or weights_only
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    name, payload, metadata = checkpoint.read(f)
    location = _location(map_location, device)
    if "tree" in metadata:
        return checkpoint.load_tree(name, payload, metadata, location)
    arrays = checkpoint.read_arrays(name, payload)
    stream = arrays.pop(metadata.get("pickle", PICKLE_ENTRY), None)
    if stream is None:
        raise CheckpointError(f"{name} is not a readable checkpoint: it holds no object")
    stream = stream.tobytes()
    if weights_only and (unsafe := _unsafe_globals(stream)):
        raise pickle.UnpicklingError(_refusal(unsafe))
    allowed = _allowed_globals() if weights_only else None
    return _Unpickler(io.BytesIO(stream), arrays, location, allowed).load()


def get_unsafe_globals_in_checkpoint(f) -> list[str]:
    """The globals ("module.name") a file's pickle stream needs that are not allow-listed."""
    name, payload, metadata = checkpoint.read(f)
    if "tree" in metadata:
        return []
    stream = checkpoint.read_arrays(name, payload).get(metadata.get("pickle", PICKLE_ENTRY))
    return [] if stream is None else _unsafe_globals(stream.tobytes())


def _unsafe_globals(stream: bytes) -> list[str]:
    """The globals a pickle stream names that are not allowed, read without running it (for
    the message: the unpickler's find_class is what enforces the allow-list)."""
    allowed, found = _allowed_globals(), []
    for full_name in _globals_named(stream):
        if full_name not in allowed and full_name not in found:
            found.append(full_name)
    return found


def _globals_named(stream: bytes) -> list[str]:
    """The "module.name" of every GLOBAL and STACK_GLOBAL in a pickle stream. STACK_GLOBAL
    takes its two strings from the stack, so the strings pushed and memoized are tracked."""
    names, recent, memo = [], [], {}
    try:
        for opcode, argument, _ in pickletools.genops(stream):
            if opcode.name == "GLOBAL":
                names.append(argument.replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL":
                if len(recent) >= 2 and all(isinstance(s, str) for s in recent[-2:]):
                    names.append(".".join(recent[-2:]))
                recent.append(None)
            elif opcode.name == "MEMOIZE":
                memo[len(memo)] = recent[-1] if recent else None
            elif opcode.name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[argument] = recent[-1] if recent else None
            elif opcode.name in ("GET", "BINGET", "LONG_BINGET"):
                recent.append(memo.get(argument))
            elif "UNICODE" in opcode.name:
                recent.append(argument)
            elif opcode.stack_after:
                recent.append(None)
    except Exception:  # a malformed stream: the unpickler reports it
        pass
    return names
