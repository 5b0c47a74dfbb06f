"""Random numbers as PyTorch users expect them: a default generator, seeded by `manual_seed`,
that initialisation, sampling, dropout and shuffling use unless given a `generator`.

A `Generator` wraps a NumPy PCG64 generator; every `generator=` argument also takes an int
seed or a numpy.random.Generator. Like PyTorch's, the default generator starts from a fixed
seed, so a program that never seeds still draws the same numbers on every run. Draws happen on
the CPU and move to the tensor's device, so a seed gives the same numbers on "cpu" and "cuda".
"""

from __future__ import annotations

import json
import secrets

import numpy as np

from . import dispatch

DEFAULT_SEED = 67280421310721  # PyTorch's default CPU seed
_SEED_MASK = (1 << 64) - 1


class Generator:
    """A stream of random numbers with its own state, as torch.Generator."""

    def __init__(self, device="cpu"):
        self.device = str(device)
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from `seed`; returns the generator."""
        seed = int(seed)
        self._initial_seed = seed & _SEED_MASK
        self.numpy = np.random.default_rng(self._initial_seed)
        return self

    def seed(self) -> int:
        """Restart from a fresh non-deterministic seed, and return it."""
        seed = secrets.randbits(63)
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._initial_seed

    def get_state(self):
        """The state as a uint8 tensor (to restore with set_state)."""
        text = json.dumps(self.numpy.bit_generator.state)
        return dispatch.leaf(np.frombuffer(text.encode(), dtype=np.uint8).copy())

    def set_state(self, state) -> Generator:
        array = state.array if hasattr(state, "array") else np.asarray(state)
        self.numpy.bit_generator.state = json.loads(bytes(np.asarray(array, np.uint8)).decode())
        return self

    def __repr__(self) -> str:
        return f"<Generator device={self.device} initial_seed={self._initial_seed}>"


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (and so every draw that is not given a generator)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def numpy_generator(generator=None) -> np.random.Generator:
    """The NumPy generator behind a `generator=` argument: the default generator for None, a
    Generator's, a fresh one for an int seed, or the numpy.random.Generator given."""
    if generator is None:
        return default_generator.numpy
    if isinstance(generator, Generator):
        return generator.numpy
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator) & _SEED_MASK)
    raise TypeError(
        f"generator must be a tinygrad_rnn.Generator, an int seed or a numpy Generator, not "
        f"{type(generator).__name__}"
    )
