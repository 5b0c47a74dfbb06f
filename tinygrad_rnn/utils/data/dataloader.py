"""DataLoader: batches from a dataset, as torch.utils.data.DataLoader.

Workers run in this process. `num_workers=N` is accepted and reproduces what N worker
processes would yield, in the same order: for a map-style dataset the batches are those of
`num_workers=0`; for an IterableDataset each of the N "workers" iterates the dataset itself
(sharding by `get_worker_info()` as in PyTorch) and their batches are interleaved round-robin.
`worker_init_fn(worker_id)` is called for each worker when an epoch starts (once, with
`persistent_workers`), and `get_worker_info()` describes the worker that fetches the current
batch. Unlike PyTorch's worker processes, the workers share this process's objects and random
generators: nothing is copied or reseeded. `pin_memory` and `timeout` change nothing here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ...random import numpy_generator
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

_FIXED_AFTER_INIT = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset")


@dataclass(frozen=True)
class WorkerInfo:
    """What `get_worker_info()` returns inside a worker (PyTorch's fields)."""

    id: int
    num_workers: int
    seed: int
    dataset: Dataset


_current_worker: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The worker fetching the current batch, or None outside a DataLoader's workers."""
    return _current_worker


class _InfiniteConstantSampler(Sampler):
    """An IterableDataset's sampler: None forever (the dataset decides when to stop)."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)


class DataLoader:
    """Iterate over batches of `dataset`: PyTorch's arguments, rules and default collate."""

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing.let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError(
                "multiprocessing_context can only be used with multi-process loading "
                f"(num_workers > 0), but got num_workers={num_workers}"
            )
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler)):
                if value not in (False, None):
                    raise ValueError(
                        "DataLoader with IterableDataset: expected unspecified "
                        f"{name} option, but got {name}={value}"
                    )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive "
                "with drop_last"
            )
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.worker_init_fn = num_workers, worker_init_fn
        self.prefetch_factor = 2 if num_workers and prefetch_factor is None else prefetch_factor
        self.pin_memory, self.pin_memory_device = pin_memory, pin_memory_device
        self.timeout, self.multiprocessing_context = timeout, multiprocessing_context
        self.in_order, self.persistent_workers = in_order, persistent_workers
        auto_collation = batch_sampler is not None
        if collate_fn is None:
            collate_fn = default_collate if auto_collation else default_convert
        self.collate_fn = collate_fn
        self._workers_started = False
        self._initialized = True

    def __setattr__(self, name: str, value) -> None:
        if self.__dict__.get("_initialized") and name in (*_FIXED_AFTER_INIT, "persistent_workers"):
            raise ValueError(
                f"{name} attribute should not be set after {type(self).__name__} is initialized"
            )
        super().__setattr__(name, value)

    @property
    def _index_sampler(self):
        return self.sampler if self.batch_sampler is None else self.batch_sampler

    def __len__(self) -> int:
        if not self._iterable:
            return len(self._index_sampler)
        length, size = len(self.dataset), self.batch_size
        if size is None:
            return length
        return length // size if self.drop_last else math.ceil(length / size)

    def __iter__(self) -> _LoaderIterator:
        return _LoaderIterator(self)


class _LoaderIterator:
    """One pass over a DataLoader; `len()` is the number of batches it yields."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        workers = loader.num_workers
        base_seed = int(numpy_generator(loader.generator).integers(2**63)) if workers else 0
        self._workers = [
            WorkerInfo(i, workers, base_seed + i, loader.dataset) for i in range(workers)
        ]
        if loader.worker_init_fn is not None and not (
            loader.persistent_workers and loader._workers_started
        ):
            for worker in self._workers:
                _as_worker(worker, loader.worker_init_fn, worker.id)
        loader._workers_started = True
        self._batches = self._iterable_batches() if loader._iterable else self._map_batches()

    def _fetch(self, index):
        """The collated batch at `index` (a list of indices, or one index without batching)."""
        loader = self._loader
        if loader.batch_sampler is None:
            return loader.collate_fn(loader.dataset[index])
        getitems = getattr(loader.dataset, "__getitems__", None)
        samples = getitems(index) if callable(getitems) else [loader.dataset[i] for i in index]
        return loader.collate_fn(samples)

    def _map_batches(self) -> Iterator:
        workers = itertools.cycle(self._workers or [None])
        for index in self._loader._index_sampler:
            yield _as_worker(next(workers), self._fetch, index)

    def _iterable_batches(self) -> Iterator:
        streams = [(worker, self._worker_stream(worker)) for worker in self._workers or [None]]
        while streams:
            for entry in list(streams):
                worker, stream = entry
                try:
                    yield _as_worker(worker, next, stream)
                except StopIteration:
                    streams.remove(entry)

    def _worker_stream(self, worker: WorkerInfo | None) -> Iterator:
        """What one worker yields from an IterableDataset: its own pass over the dataset."""
        loader = self._loader
        samples = iter(loader.dataset)
        if loader.batch_size is None:
            for sample in samples:
                yield loader.collate_fn(sample)
            return
        while True:
            batch = list(itertools.islice(samples, loader.batch_size))
            if not batch or (loader.drop_last and len(batch) < loader.batch_size):
                return
            yield loader.collate_fn(batch)

    def __iter__(self) -> _LoaderIterator:
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self) -> int:
        return len(self._loader)


def _as_worker(worker: WorkerInfo | None, function, *args):
    """Call `function(*args)` with `worker` as get_worker_info()'s answer."""
    global _current_worker
    previous, _current_worker = _current_worker, worker
    try:
        return function(*args)
    finally:
        _current_worker = previous
