"""DistributedSampler: each rank's share of a dataset's indices, as PyTorch's.

The indices of an epoch are one permutation (seeded by seed + epoch, so every rank draws the
same one; call `set_epoch` each epoch) or 0..N-1, padded by repeating its start (or cut, with
drop_last) to a multiple of the number of ranks; rank r takes every num_replicas-th index
from r on. Its permutations are this library's, not PyTorch's numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .dataset import Dataset
from .sampler import Sampler


class DistributedSampler(Sampler):
    """Rank `rank`'s indices of `dataset` among `num_replicas` ranks (default: the process
    group's rank and size)."""

    def __init__(
        self,
        dataset: Dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            # the process group lives above this layer; asked for only when not given
            from ... import distributed

            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        size = len(dataset)
        if drop_last and size % num_replicas:
            self.num_samples = math.ceil((size - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(size / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        size = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(size).tolist()
        else:
            indices = list(range(size))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            padding = self.total_size - len(indices)
            indices += (indices * math.ceil(padding / len(indices)))[:padding] if padding else []
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass draw epoch `epoch`'s permutation (the same on every rank)."""
        self.epoch = epoch
