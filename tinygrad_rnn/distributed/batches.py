"""Each global batch split across ranks, so N ranks train on exactly what one process sees.

`DistributedBatches` orders an epoch as `Batches` does (from (seed, epoch) only), cuts it into
the same global batches, and gives rank r the r-th of `world_size` contiguous parts of each.
Resuming at global batch k therefore works with any number of ranks.

The parts differ by at most one row when the batch does not divide evenly, and a short last
batch can leave a rank with nothing. So each part carries a `scale`: the sum of its
per-example losses times `scale` (world_size / rows in the global batch), averaged over the
ranks by DistributedDataParallel, is exactly the mean over the global batch. A rank with no
rows gets one row with scale 0: it runs the same step, contributes exact zeros, and no rank
waits for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ..data.batches import Batches
from ..tensor import Tensor


class Shard(NamedTuple):
    """This rank's part of one global batch: images (b, ...), labels (b,), and its loss scale."""

    images: Tensor
    labels: Tensor
    scale: float

    @property
    def rows(self) -> int:
        """How many real rows of the global batch this part holds (0 for a padding row)."""
        return 0 if self.scale == 0 else len(self.labels)


def split_rows(rows: np.ndarray, rank: int, world_size: int) -> tuple[np.ndarray, float]:
    """Rank `rank`'s contiguous part of a global batch's row indices, and its loss scale."""
    mine = np.array_split(rows, world_size)[rank]
    if len(mine) == 0:
        return rows[:1], 0.0
    return mine, world_size / len(rows)


class DistributedBatches(Batches):
    """Batches whose every global batch (`batch_size` rows) is split across the ranks.

    Iterate with `epoch(number, start)`: plain iteration is refused, since it would repeat
    one epoch's order forever (the forgotten `set_epoch` of PyTorch's DistributedSampler).
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        *,
        rank: int,
        world_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        device: str | None = None,
    ):
        super().__init__(images, labels, batch_size, shuffle, seed, drop_last, device)
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in a world of {world_size}")
        self.rank, self.world_size = rank, world_size

    def epoch(self, epoch: int = 0, start: int = 0) -> Iterator[Shard]:
        """This rank's parts of the global batches of `epoch`, from global batch `start` on."""
        order = self.order(epoch)
        for index in range(start, len(self)):
            rows = order[index * self.batch_size : (index + 1) * self.batch_size]
            mine, scale = split_rows(rows, self.rank, self.world_size)
            yield Shard(*self.to_tensors(self.images[mine], self.labels[mine]), scale)

    def __iter__(self):
        raise TypeError(
            "iterate over DistributedBatches.epoch(number): the order of each epoch depends on "
            "its number, and plain iteration would repeat one epoch's order"
        )
