"""Checkpoints: nested dicts of tensors, arrays and plain values in one safetensors file.

Arrays go into the safetensors body (readable by any safetensors reader, never pickled), each
named by its path of keys ("model/fc.weight"; two values whose paths collide, such as the keys
"a/b" and "a" -> "b", are refused with CheckpointError rather than one overwriting the other);
the nesting and the plain values (numbers, strings, lists, optimizer
hyper-parameters, a NumPy Generator's state) go into its metadata as JSON. Keys are strings or
ints. Saving to a path is atomic (`atomic_write`: a temporary file in the same folder, fsynced,
then renamed over the old one), so a crash leaves the old checkpoint or the new one, never a
torn file. Anything that is not such a file raises CheckpointError.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import safetensors.numpy

from .backend import check_device, to_device
from .creation import as_tensor
from .tensor import Tensor

FORMAT = "tinygrad_rnn"


class CheckpointError(ValueError):
    """A file that is not a readable tinygrad_rnn checkpoint, or a value that cannot be one."""


def _contiguous(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy when needed, keeping 0-d arrays 0-d (np.ascontiguousarray would
    make them 1-d)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


def _child(path: str, key) -> str:
    if not isinstance(key, (str, int)) or isinstance(key, bool):
        raise CheckpointError(
            f"checkpoint keys must be strings or ints, not {type(key).__name__} ({key!r}) "
            f"at {path or 'the top level'}"
        )
    return f"{path}/{key}" if path else str(key)


def _store(arrays: dict, path: str, array) -> str:
    if path in arrays:
        raise CheckpointError(
            f"two entries would be stored as {path!r} (a key holding '/' beside a nested one, "
            "or an int key beside its string): rename one"
        )
    arrays[path] = _contiguous(to_device(array, "cpu"))
    return path


def _encode(value, path: str, arrays: dict):
    """A JSON-able tree for `value`, moving every array and tensor into `arrays`."""
    if isinstance(value, Tensor):
        stored = _store(arrays, path or "tensor", value.array)
        return {"__tensor__": stored, "requires_grad": value.requires_grad}
    if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
        return {"__array__": _store(arrays, path or "array", value)}
    if isinstance(value, np.random.Generator):
        return {"__generator__": _encode(value.bit_generator.state, path, arrays)}
    if isinstance(value, dict):  # as pairs, so integer keys come back as integers
        pairs = []
        for k, v in value.items():
            pairs.append([k, _encode(v, _child(path, k), arrays)])
        keys = [str(k) for k, _ in pairs]
        if len(set(keys)) != len(keys):  # 1 and "1" would share a name in the file
            raise CheckpointError(f"keys collide at {path or 'the top level'}: {keys}")
        return {"__dict__": pairs}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, _child(path, i), arrays) for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(f"cannot save {type(value).__name__} at {path or 'the top level'}")


def _decode(tree, arrays: dict, device: str | None):
    if isinstance(tree, list):
        return [_decode(v, arrays, device) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__tensor__" in tree:
        tensor = as_tensor(arrays[tree["__tensor__"]].copy(), device=device)
        return tensor.requires_grad_(bool(tree["requires_grad"]))
    if "__array__" in tree:
        return arrays[tree["__array__"]]
    if "__generator__" in tree:
        state = _decode(tree["__generator__"], arrays, device)
        generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
        generator.bit_generator.state = state
        return generator
    if "__tuple__" in tree:
        return tuple(_decode(v, arrays, device) for v in tree["__tuple__"])
    return {k: _decode(v, arrays, device) for k, v in tree["__dict__"]}


def save(obj, f) -> None:
    """Write `obj` (nested dicts/lists/tuples of tensors, arrays and plain values) to `f`, a
    path (written atomically) or a binary file object."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", arrays)
    metadata = {"format": FORMAT, "version": "1", "tree": json.dumps(tree)}
    payload = safetensors.numpy.save(arrays, metadata=metadata)
    if hasattr(f, "write"):
        f.write(payload)
    else:
        atomic_write(f, lambda temporary: temporary.write_bytes(payload))


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """Let `write(temporary_path)` fill a file beside `path`, fsync it, then rename it over
    `path`: readers and crashes see the old file or the new one, never part of one."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(temporary)
        _fsync(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync(path.parent)  # make the rename itself durable


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _metadata(payload: bytes) -> dict:
    """The __metadata__ of a safetensors payload (its JSON header follows an 8-byte length)."""
    (length,) = struct.unpack("<Q", payload[:8])
    header = json.loads(payload[8 : 8 + length])
    return header.get("__metadata__") or {}


def load(f, map_location=None, *, device: str | None = None, weights_only: bool = True):
    """Read a checkpoint written by `save` from a path or a binary file object; tensors are
    placed on `map_location` (or `device`; the default device if neither)."""
    name = getattr(f, "name", f)
    payload = f.read() if hasattr(f, "read") else Path(f).read_bytes()
    location = map_location if map_location is not None else device
    location = None if location is None or callable(location) else check_device(str(location))
    try:
        metadata = _metadata(payload)
        if metadata.get("format") != FORMAT:
            raise CheckpointError(f"{name} is not a {FORMAT} checkpoint")
        arrays = safetensors.numpy.load(payload)
        return _decode(json.loads(metadata["tree"]), arrays, location)
    except CheckpointError:
        raise
    except Exception as error:  # a torn, foreign or edited file: always one kind of error
        raise CheckpointError(
            f"{name} is not a readable checkpoint (truncated or corrupt?): "
            f"{type(error).__name__}: {error}"
        ) from error
