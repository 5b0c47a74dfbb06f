"""Linear, Dropout and Embedding."""

from __future__ import annotations

import math

from .. import functional as F
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


class Dropout(Module):
    """Zero elements with probability p while training (scaling the rest by 1/(1-p))."""

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace
        # None: the default generator at each call; a seed: one stream for this layer
        self.generator = None if generator is None else numpy_generator(generator)

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    """A lookup table: integer indices (...) -> rows of weight (num_embeddings, dim), N(0, 1)."""

    def __init__(
        self, num_embeddings: int, embedding_dim: int, *, generator=None, dtype=None, device=None
    ):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        weight = new_parameter(num_embeddings, embedding_dim, dtype=dtype, device=device)
        self.weight = init.normal_(weight, generator=generator)

    def forward(self, input) -> Tensor:
        data = input.array if isinstance(input, Tensor) else input
        if getattr(data, "dtype", None) is None or data.dtype.kind not in "iu":
            raise RuntimeError(
                "Expected tensor for argument #1 'indices' to have one of the following scalar "
                "types: Long, Int"
            )
        if data.size and (int(data.min()) < 0 or int(data.max()) >= self.num_embeddings):
            raise IndexError("index out of range in self")
        return self.weight[input]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
