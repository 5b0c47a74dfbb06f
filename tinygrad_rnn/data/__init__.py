"""Data: the IDX format, MNIST and Fashion-MNIST from several sources, and batching."""

from .batches import Batches, to_pixels
from .datasets import DatasetUnavailableError, cache_folder, fashion_mnist, load_dataset, mnist
from .idx import IDXError, read_idx, write_idx

__all__ = [
    "Batches",
    "DatasetUnavailableError",
    "IDXError",
    "cache_folder",
    "fashion_mnist",
    "load_dataset",
    "mnist",
    "read_idx",
    "to_pixels",
    "write_idx",
]
