"""Data: the IDX format, MNIST and Fashion-MNIST from several sources, batching, and both
data sets as Datasets for DataLoader."""

from .batches import Batches, to_pixels
from .datasets import DatasetUnavailableError, cache_folder, fashion_mnist, load_dataset, mnist
from .idx import IDXError, read_idx, write_idx
from .mnist_dataset import MNIST, FashionMNIST

__all__ = [
    "MNIST",
    "Batches",
    "DatasetUnavailableError",
    "FashionMNIST",
    "IDXError",
    "cache_folder",
    "fashion_mnist",
    "load_dataset",
    "mnist",
    "read_idx",
    "to_pixels",
    "write_idx",
]
