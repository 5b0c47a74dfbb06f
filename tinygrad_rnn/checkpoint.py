"""Checkpoints: nested dicts of tensors, arrays and plain values in one safetensors file (the
tree format; `tinygrad_rnn.serialization` adds a container for any other picklable object).

Arrays go into the safetensors body (readable by any safetensors reader, never pickled), each
named by its path of keys ("model/fc.weight"; two values whose paths collide, such as the keys
"a/b" and "a" -> "b", are refused with CheckpointError rather than one overwriting the other);
the nesting and the plain values (numbers, strings, lists, optimizer
hyper-parameters, a NumPy Generator's state) go into its metadata as JSON. Keys are strings or
ints. Saving to a path is atomic (`atomic_write`: a temporary file in the same folder, fsynced,
then renamed over the old one), so a crash leaves the old checkpoint or the new one, never a
torn file. Anything that is not such a file raises CheckpointError. Loading this format
never unpickles anything.
"""

from __future__ import annotations

import json
import os
import struct
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import safetensors.numpy

from .backend import to_device
from .creation import as_tensor
from .tensor import Tensor

FORMAT = "tinygrad_rnn"


class CheckpointError(ValueError):
    """A file that is not a readable tinygrad_rnn checkpoint, or a value that cannot be one."""


class NotATreeError(CheckpointError):
    """A value the tree format cannot hold (a set, an object, a tuple key): `save` pickles it."""


def _contiguous(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy when needed, keeping 0-d arrays 0-d (np.ascontiguousarray would
    make them 1-d)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


def _child(path: str, key) -> str:
    if not isinstance(key, (str, int)) or isinstance(key, bool):
        raise NotATreeError(
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
        if not storable(value):
            raise NotATreeError(f"cannot save an array of {value.dtype} at {path or 'the top'}")
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
        return {"__ordered__": pairs} if isinstance(value, OrderedDict) else {"__dict__": pairs}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, _child(path, i), arrays) for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise NotATreeError(f"cannot save {type(value).__name__} at {path or 'the top level'}")


def storable(array) -> bool:
    """Whether safetensors can hold the array's dtype (booleans, integers, floats)."""
    return array.dtype.kind in "biuf" and array.dtype.fields is None


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
    if "__ordered__" in tree:  # a state_dict: PyTorch's load gives an OrderedDict back
        return OrderedDict((k, _decode(v, arrays, device)) for k, v in tree["__ordered__"])
    return {k: _decode(v, arrays, device) for k, v in tree["__dict__"]}


def tree_payload(obj) -> bytes:
    """`obj` in the tree format, as the bytes of a safetensors file; NotATreeError if some value
    in it has no place there."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", arrays)
    metadata = {"format": FORMAT, "version": "1", "tree": json.dumps(tree)}
    return safetensors.numpy.save(arrays, metadata=metadata)


def write(payload: bytes, f) -> None:
    """Write `payload` to `f`: a binary file object, or a path (atomically)."""
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


def read(f) -> tuple[str, bytes, dict]:
    """(a name for messages, the bytes, the format's metadata) of the checkpoint at `f`, a path
    or a binary file object; CheckpointError if it is not one of this library's files."""
    name = str(getattr(f, "name", f))
    payload = f.read() if hasattr(f, "read") else Path(f).read_bytes()
    if payload[:4] == b"PK\x03\x04":
        raise CheckpointError(
            f"{name} is a zip file, as PyTorch's torch.save writes, not a {FORMAT} checkpoint: "
            "convert it where PyTorch is installed (torch.load, then tinygrad_rnn.save of the "
            "tensors as NumPy arrays)"
        )
    try:
        metadata = _metadata(payload)
    except Exception as error:  # a torn, foreign or edited file: always one kind of error
        raise _unreadable(name, error) from error
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{name} is not a {FORMAT} checkpoint")
    return name, payload, metadata


def _unreadable(name: str, error: Exception) -> CheckpointError:
    return CheckpointError(
        f"{name} is not a readable checkpoint (truncated or corrupt?): "
        f"{type(error).__name__}: {error}"
    )


def read_arrays(name: str, payload: bytes) -> dict[str, np.ndarray]:
    """The arrays stored in a checkpoint's safetensors body."""
    try:
        return safetensors.numpy.load(payload)
    except Exception as error:
        raise _unreadable(name, error) from error


def load_tree(name: str, payload: bytes, metadata: dict, device: str | None):
    """The object a tree-format checkpoint holds, its tensors on `device` (None: default)."""
    arrays = read_arrays(name, payload)
    try:
        return _decode(json.loads(metadata["tree"]), arrays, device)
    except Exception as error:
        raise _unreadable(name, error) from error
