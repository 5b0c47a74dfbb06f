"""A Module's state_dict and load_state_dict, as PyTorch's: the order of the keys, the layout
versions in `_metadata`, and loading's walk, checks and errors. Module takes these methods
from StateDictMethods."""

from __future__ import annotations

import collections
from collections import OrderedDict
from collections.abc import Mapping

from ..backend import to_device
from ..creation import as_tensor
from ..dispatch import bump_version, host_array
from ..grad_mode import no_grad
from ..tensor import Size, Tensor
from .parameter import Parameter


class _IncompatibleKeys(
    collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
):
    """What load_state_dict returns: the keys it missed and the ones it did not know."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class StateDictMethods:
    """state_dict, load_state_dict and the per-module hooks they call (which subclasses may
    override with PyTorch's signatures, as BatchNorm1d does to accept old layouts)."""

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        """This module's own parameters, then its persistent buffers, into `destination`."""
        for name, parameter in self._parameters.items():
            if parameter is not None:
                destination[prefix + name] = parameter if keep_vars else parameter.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Every parameter and persistent buffer by dotted name, detached (sharing memory), in
        PyTorch's order: own parameters, own buffers, then each child's; a tensor reachable
        by two names appears under both. `_metadata` holds each module's layout version."""
        if args:
            destination = args[0] if destination is None else destination
            prefix = args[1] if len(args) > 1 and prefix == "" else prefix
            keep_vars = args[2] if len(args) > 2 and keep_vars is False else keep_vars
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = {"version": self._version}
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(
                    destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars
                )
        return destination

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errors
    ) -> None:
        """Copy this module's own entries of `state_dict` in place (PyTorch's hook, with its
        arguments, for subclasses that adapt old layouts)."""
        local = {name: p for name, p in self._parameters.items() if p is not None}
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                local[name] = buffer
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, target in local.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            array = _array_of(value)
            if array is None:
                errors.append(
                    f'While copying the parameter named "{key}", expected torch.Tensor or '
                    f"Tensor-like object from checkpoint but received {type(value)}"
                )
                continue
            if target.ndim == 0 and tuple(array.shape) == (1,):
                array = array.reshape(())
            if tuple(array.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{Size(array.shape)!r} from checkpoint, the shape in current model is "
                    f"{target.shape!r}."
                )
                continue
            if assign:
                self._assign(name, target, value, array)
                continue
            with no_grad():
                target.array[...] = to_device(array, target.device)
                bump_version(target)
        if strict:
            for key in state_dict:
                if not key.startswith(prefix):
                    continue
                first, *rest = key[len(prefix) :].split(".", 1)
                if (rest and first not in self._modules) or (not rest and first not in local):
                    unexpected_keys.append(key)

    def _assign(self, name: str, target: Tensor, value, array) -> None:
        """load_state_dict(assign=True): the checkpoint's tensor itself takes the place."""
        value = value if isinstance(value, Tensor) else as_tensor(array)
        if isinstance(target, Parameter):
            value = value if isinstance(value, Parameter) else Parameter(value)
            value.requires_grad_(target.requires_grad)
        setattr(self, name, value)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values (tensors of this or another library, NumPy arrays: an extension) into
        the parameters and buffers in place, or put the given tensors in their place with
        assign=True; returns (missing_keys, unexpected_keys). As in PyTorch, the matching
        entries are copied before any error (missing or unexpected keys with strict=True, a
        shape mismatch always) is raised, as one RuntimeError listing them all."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        missing, unexpected, errors = [], [], []

        def load(module, local_state, prefix: str = "") -> None:
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = True
            module._load_from_state_dict(
                local_state, prefix, local_metadata, True, missing, unexpected, errors
            )
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = f"{prefix}{name}."
                    child_state = {
                        k: v for k, v in local_state.items() if k.startswith(child_prefix)
                    }
                    load(child, child_state, child_prefix)

        load(self, state_dict)
        if strict:
            if unexpected:
                errors.insert(
                    0,
                    "Unexpected key(s) in state_dict: "
                    + ", ".join(f'"{k}"' for k in unexpected)
                    + ". ",
                )
            if missing:
                errors.insert(
                    0,
                    "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ",
                )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        return _IncompatibleKeys(missing, unexpected)


def _array_of(value):
    """A state-dict value as an array (our tensors, PyTorch's, NumPy's), or None."""
    if isinstance(value, Tensor):
        return value.array
    if isinstance(value, (bool, int, float, complex, str, list, tuple, dict)) or value is None:
        return None
    return host_array(value)
