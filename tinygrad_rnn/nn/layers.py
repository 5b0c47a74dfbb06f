"""Linear, Identity, Flatten and Unflatten."""

from __future__ import annotations

import math

from ..creation import zeros
from ..random import Generator, numpy_generator
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


def new_parameter(*shape, dtype=None, device=None) -> Parameter:
    """An uninitialised (zero) parameter; layers fill it with an initialiser."""
    return Parameter(zeros(*shape, dtype=dtype, device=device))


class Linear(Module):
    """y = x @ weight.T + bias, weight (out_features, in_features), PyTorch's default init."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        generator: int | Generator | None = None,
        dtype=None,
        device=None,
    ):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        rng = numpy_generator(generator)
        bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
        self.weight = init.uniform_(
            new_parameter(out_features, in_features, dtype=dtype, device=device), -bound, bound, rng
        )
        self.bias = (
            init.uniform_(
                new_parameter(out_features, dtype=dtype, device=device), -bound, bound, rng
            )
            if bias
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        """(..., in_features) -> (..., out_features)."""
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input; takes (and ignores) any arguments, as PyTorch's."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Flatten dims start_dim..end_dim into one: (N, *dims) -> (N, prod(dims)) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim `dim` into unflattened_size: (*, prod(sizes), *) -> (*, *sizes, *)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError("invalid argument type for dim parameter")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(
                "unflattened_size must be a tuple of ints, but found type "
                f"{type(unflattened_size).__name__}"
            )
        for position, size in enumerate(unflattened_size):
            if not isinstance(size, int):
                raise TypeError(
                    "unflattened_size must be tuple of ints, but found element of type "
                    f"{type(size).__name__} at pos {position}"
                )
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
