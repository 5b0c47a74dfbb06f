"""torch.distributions' Categorical, the one distribution recurrent programs use: sampling the
next character or token from a model's output, and the log-probabilities of policy-gradient
training. Other distributions are not here (an attribute error names them as unsupported).

    dist = Categorical(logits=output[-1] / temperature)
    next_char = dist.sample()  # int64, no gradient
    loss = -dist.log_prob(actions).mean()  # differentiable in the logits
"""

from __future__ import annotations

import math

import numpy as np

from .creation import arange, multinomial
from .dispatch import TENSOR_TYPES, operand
from .dtypes import INT64
from .tensor import Size, Tensor
from .unsupported import UnsupportedAttributeError

__all__ = ["Categorical", "Distribution"]


class Distribution:
    """The base class programs subclass or check against; only Categorical derives from it."""

    has_rsample = False

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return Size(())

    def sample_n(self, n: int) -> Tensor:
        return self.sample(Size((n,)))


class Categorical(Distribution):
    """Categories 0..K-1 along the last dimension of `probs` (non-negative, normalised here)
    or `logits` (unnormalised log-probabilities); the leading dimensions are a batch."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = operand(probs if logits is None else logits, None)
        if type(given) not in TENSOR_TYPES or given.ndim < 1:
            raise ValueError("`probs` or `logits` must be at least one-dimensional.")
        if validate_args is not False:
            _check_parameter(given, "logits" if probs is None else "probs")
        if logits is None:
            self._probs, self._logits = given / given.sum(-1, keepdim=True), None
        else:
            self._logits, self._probs = given - given.logsumexp(-1, keepdim=True), None
        self._num_events = given.shape[-1]
        self._batch_shape = Size(given.shape[:-1])

    @property
    def probs(self) -> Tensor:
        if self._probs is None:
            self._probs = self._logits.softmax(-1)
        return self._probs

    @property
    def logits(self) -> Tensor:
        if self._logits is None:  # PyTorch's clamp_probs: within [eps, 1 - eps]
            eps = float(np.finfo(self._probs.dtype).eps)
            self._logits = self._probs.clamp(min=eps, max=1 - eps).log()
        return self._logits

    @property
    def param_shape(self) -> Size:
        return Size((*self._batch_shape, self._num_events))

    @property
    def mean(self) -> Tensor:
        return self.probs.new_full(tuple(self._batch_shape), math.nan)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    def sample(self, sample_shape=()) -> Tensor:
        """Category indices (int64), shape sample_shape + batch_shape, drawn with the default
        generator; no gradient flows through them."""
        sample_shape = tuple(sample_shape)
        count = math.prod(sample_shape)
        rows = self.probs.detach().reshape(-1, self._num_events)
        drawn = multinomial(rows, max(count, 1), replacement=True)[:, :count]  # (rows, count)
        return drawn.T.reshape(*sample_shape, *self._batch_shape)

    def log_prob(self, value) -> Tensor:
        """log P(value) for category indices broadcast against the batch shape."""
        if type(value) not in TENSOR_TYPES:
            raise ValueError("The value argument to log_prob must be a Tensor")
        values = value.detach().cpu().numpy()
        if not ((values >= 0) & (values < self._num_events) & (values == np.floor(values))).all():
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) "
                f"to be within the support (IntegerInterval(lower_bound=0, "
                f"upper_bound={self._num_events - 1})) of the distribution {self!r}"
            )
        if value.dtype != INT64:
            value = value.long()
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self._batch_shape))
        log_pmf = self.logits.expand(*shape, self._num_events)
        index = value.expand(*shape).unsqueeze(-1)
        return log_pmf.gather(-1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        """-sum p log p over the categories (a zero probability adds nothing)."""
        smallest = float(np.finfo(self.logits.dtype).min)
        return -(self.probs * self.logits.clamp(min=smallest)).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        support = arange(self._num_events, device=self.probs.device)
        shape = (self._num_events,) + (1,) * len(self._batch_shape)
        support = support.reshape(*shape)
        return support.expand(self._num_events, *self._batch_shape) if expand else support

    def __repr__(self) -> str:
        given = "logits" if self._probs is None else "probs"
        return f"Categorical({given}: {tuple(self.param_shape)})"


def _check_parameter(given: Tensor, name: str) -> None:
    """PyTorch's default argument validation: probabilities non-negative with a positive sum
    along the last dimension, logits not NaN."""
    values = given.detach().cpu().numpy().astype(np.float64)
    if name == "probs":
        valid = (values >= 0).all() and np.isfinite(values).all() and (values.sum(-1) > 0).all()
    else:
        valid = not np.isnan(values).any()
    if not valid:
        constraint = "Simplex()" if name == "probs" else "IndependentConstraint(Real(), 1)"
        raise ValueError(
            f"Expected parameter {name} (Tensor of shape {tuple(given.shape)}) of distribution "
            f"Categorical to satisfy the constraint {constraint}, but found invalid values"
        )


def __getattr__(name: str):
    raise UnsupportedAttributeError(
        f"torch.distributions.{name} is not supported by tinygrad_rnn: only Categorical is "
        "(sample otherwise with torch.multinomial, torch.rand or torch.randn)"
    )
