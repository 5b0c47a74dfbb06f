"""Mini-batches of images as device tensors, in a seeded order that a resume can replay."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ..creation import as_tensor
from ..tensor import Tensor


def to_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 pixel values in [0, 1], as the models read them."""
    return images.astype(np.float32) / np.float32(255)


class Batches:
    """Iterate over (images float32 (B, 28, 28) in [0, 1], labels int64 (B,)) as Tensors.

    The order of epoch e depends only on (seed, e), so training resumed at epoch e, batch k
    sees exactly the batches an uninterrupted run would have seen.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        device: str | None = None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.shuffle, self.seed, self.drop_last, self.device = shuffle, seed, drop_last, device

    def __len__(self) -> int:
        count = len(self.images) / self.batch_size
        return math.floor(count) if self.drop_last else math.ceil(count)

    def order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.images))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.images))

    def epoch(self, epoch: int = 0, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """The batches of `epoch`, from batch number `start` on."""
        order = self.order(epoch)
        for index in range(start, len(self)):
            rows = order[index * self.batch_size : (index + 1) * self.batch_size]
            yield self.to_tensors(self.images[rows], self.labels[rows])

    def __iter__(self):
        return self.epoch(0)

    def to_tensors(self, images: np.ndarray, labels: np.ndarray) -> tuple[Tensor, Tensor]:
        pixels = as_tensor(to_pixels(images), device=self.device)
        return pixels, as_tensor(labels.astype(np.int64), device=self.device)
