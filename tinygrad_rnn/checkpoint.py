"""Checkpoints: nested dicts of tensors, arrays and plain values in one safetensors file.

Arrays go into the safetensors body (readable by any safetensors reader, never pickled); the
nesting and the plain values (numbers, strings, lists, optimizer hyper-parameters, a NumPy
Generator's state) go into its metadata as JSON. Files are written atomically (`atomic_write`:
a temporary file in the same folder, fsynced, then renamed over the old one), so a crash at any
moment leaves either the old checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import safetensors
import safetensors.numpy

from .backend import to_device
from .tensor import Tensor

FORMAT = "tinygrad_rnn"


class CheckpointError(ValueError):
    """A file that is not a readable tinygrad_rnn checkpoint."""


def _encode(value, path: str, arrays: dict):
    """A JSON-able tree for `value`, moving every array and tensor into `arrays`."""
    if isinstance(value, Tensor):
        arrays[path] = np.ascontiguousarray(to_device(value.data, "cpu"))
        return {"__tensor__": path, "requires_grad": value.requires_grad}
    if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
        arrays[path] = np.ascontiguousarray(to_device(value, "cpu"))
        return {"__array__": path}
    if isinstance(value, np.random.Generator):
        return {"__generator__": _encode(value.bit_generator.state, path, arrays)}
    if isinstance(value, dict):  # as pairs, so integer keys come back as integers
        return {"__dict__": [[k, _encode(v, f"{path}/{k}", arrays)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot save {type(value).__name__} at {path or 'the top level'}")


def _decode(tree, arrays: dict, device: str | None):
    if isinstance(tree, list):
        return [_decode(v, arrays, device) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__tensor__" in tree:
        data = arrays[tree["__tensor__"]]
        return Tensor(data, requires_grad=tree["requires_grad"], device=device)
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


def save(state, path: str | os.PathLike) -> None:
    """Write `state` (nested dicts/lists of tensors, arrays and plain values) to `path`."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(state, "", arrays)
    metadata = {"format": FORMAT, "version": "1", "tree": json.dumps(tree)}
    payload = safetensors.numpy.save(arrays, metadata=metadata)
    atomic_write(path, lambda temporary: temporary.write_bytes(payload))


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


def load(path: str | os.PathLike, device: str | None = None):
    """Read a checkpoint written by `save`; tensors are placed on `device` (default device)."""
    path = Path(path)
    try:
        with safetensors.safe_open(str(path), framework="numpy") as file:
            metadata = file.metadata() or {}
            arrays = {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118
    except FileNotFoundError:
        raise
    except Exception as error:
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or corrupt?): {error}"
        ) from error
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a {FORMAT} checkpoint")
    return _decode(json.loads(metadata["tree"]), arrays, device)
