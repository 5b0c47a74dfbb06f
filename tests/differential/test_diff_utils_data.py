"""utils.data against PyTorch's: unshuffled batches, default collation (structure, dtypes,
values), lengths, random_split's sizes, worker interleaving, and the argument errors."""

import collections

import numpy as np
import pytest
from diff_harness import cases, check, check_raises

Point = collections.namedtuple("Point", ["x", "y"])


def loader_batches(lib, n, **options):
    """Every batch of a DataLoader over (float32 features, int64 labels), as a list."""
    data = lib.utils.data
    features = lib.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    dataset = data.TensorDataset(features, lib.tensor(np.arange(n) % 4))
    loader = data.DataLoader(dataset, **options)
    return [len(loader), list(loader)]


@pytest.mark.parametrize("n", [1, 7, 12])
@pytest.mark.parametrize("batch_size", [1, 3, 5, 12, 20])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_batches_equal_pytorchs(n, batch_size, drop_last):
    check(lambda lib: loader_batches(lib, n, batch_size=batch_size, drop_last=drop_last))


def test_samplers_and_batch_samplers_equal_pytorchs():
    def case(lib):
        data = lib.utils.data
        sampler = data.SequentialSampler(range(7))
        batches = data.BatchSampler(sampler, 3, drop_last=False)
        indices = [[2, 0], [5, 6, 1]]
        return [
            list(sampler),
            list(batches),
            len(batches),
            len(data.BatchSampler(sampler, 3, drop_last=True)),
            loader_batches(lib, 7, batch_sampler=indices),
            loader_batches(lib, 7, sampler=[6, 5, 4], batch_size=2),
            loader_batches(lib, 4, batch_size=None),
        ]

    check(case)


def collated(lib, samples, collate_name="default_collate"):
    """A collated batch and the type names of its containers."""
    batch = getattr(lib.utils.data, collate_name)(samples)

    def types(value):
        if isinstance(value, dict):
            return {key: types(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [type(value).__name__, [types(item) for item in value]]
        return type(value).__name__.replace("Tensor", "tensor")

    return [batch, types(batch)]


SAMPLES = {
    "python ints, floats and bools": lambda lib: [(1, 2.5, True), (3, -1.0, False)],
    "tensors": lambda lib: [lib.ones(2, 3), lib.zeros(2, 3)],
    "numpy arrays keep their dtype": lambda lib: [
        np.arange(3, dtype=np.int32),
        np.ones(3, dtype=np.int32),
    ],
    "numpy scalars keep their dtype": lambda lib: [np.float32(1.5), np.float32(2)],
    "numpy 0-d arrays": lambda lib: [np.array(1.5), np.array(2.0)],
    "strings stay a tuple per field": lambda lib: [("a", 1), ("b", 2)],
    "dicts": lambda lib: [{"x": lib.ones(2), "n": 1}, {"x": lib.zeros(2), "n": 2}],
    "nested lists": lambda lib: [[[1, 2], 3.0], [[4, 5], 6.0]],
    "namedtuples": lambda lib: [Point(1, lib.ones(1)), Point(2, lib.zeros(1))],
    "mixed (features, label) pairs": lambda lib: [
        (np.ones((2, 2), np.float32), 3),
        (np.zeros((2, 2), np.float32), 4),
    ],
}


@pytest.mark.parametrize("samples", cases(SAMPLES))
def test_default_collate_equals_pytorchs(samples):
    check(lambda lib: collated(lib, samples(lib)))


@pytest.mark.parametrize("samples", cases(SAMPLES))
def test_default_convert_equals_pytorchs(samples):
    check(lambda lib: collated(lib, samples(lib), "default_convert"))


def test_namedtuples_stay_namedtuples():
    check(lambda lib: type(lib.utils.data.default_collate([Point(1, 2)] * 2)).__name__)


BAD = {
    "samples of unequal length": lambda lib: lib.utils.data.default_collate([[1, 2], [3]]),
    "tensors of unequal shape": lambda lib: lib.utils.data.default_collate(
        [lib.ones(2), lib.ones(3)]
    ),
    "numpy strings": lambda lib: lib.utils.data.default_collate([np.array(["a"])] * 2),
    "an object": lambda lib: lib.utils.data.default_collate([object()]),
    "sampler and shuffle": lambda lib: lib.utils.data.DataLoader(
        range(3), sampler=[0, 1], shuffle=True
    ),
    "batch_sampler and batch_size": lambda lib: lib.utils.data.DataLoader(
        range(3), batch_sampler=[[0]], batch_size=2
    ),
    "batch_size None and drop_last": lambda lib: lib.utils.data.DataLoader(
        range(3), batch_size=None, drop_last=True
    ),
    "negative num_workers": lambda lib: lib.utils.data.DataLoader(range(3), num_workers=-1),
    "persistent workers without workers": lambda lib: lib.utils.data.DataLoader(
        range(3), persistent_workers=True
    ),
    "prefetch_factor without workers": lambda lib: lib.utils.data.DataLoader(
        range(3), prefetch_factor=2
    ),
    "batch_size 0": lambda lib: lib.utils.data.DataLoader(range(3), batch_size=0),
    "a batch sampler's drop_last not a bool": lambda lib: lib.utils.data.BatchSampler(
        range(3), 2, drop_last=1
    ),
    "num_samples 0": lambda lib: lib.utils.data.RandomSampler(range(3), num_samples=0),
    "replacement not a bool": lambda lib: lib.utils.data.RandomSampler(range(3), replacement=1),
    "2-d weights": lambda lib: lib.utils.data.WeightedRandomSampler([[1.0]], 1),
    "tensors of different lengths": lambda lib: lib.utils.data.TensorDataset(
        lib.ones(2), lib.ones(3)
    ),
    "lengths not summing to the size": lambda lib: lib.utils.data.random_split(range(5), [2, 2]),
    "a fraction above 1": lambda lib: lib.utils.data.random_split(range(5), [1.5, -0.5]),
    "concat of nothing": lambda lib: lib.utils.data.ConcatDataset([]),
    "an index beyond a concatenation": lambda lib: lib.utils.data.ConcatDataset([range(2)])[-3],
    "the bare Dataset": lambda lib: lib.utils.data.Dataset()[0],
    "setting batch_size later": lambda lib: setattr(
        lib.utils.data.DataLoader(range(3)), "batch_size", 2
    ),
}


@pytest.mark.parametrize("case", cases(BAD))
def test_bad_arguments_raise_as_pytorch(case):
    check_raises(case)


@pytest.mark.parametrize(
    "lengths", [[0.5, 0.5], [0.3, 0.3, 0.4], [0.1, 0.9], [1 / 3] * 3, [3, 4], [7, 0]]
)
def test_random_split_sizes_equal_pytorchs(lengths):
    def case(lib):
        parts = lib.utils.data.random_split(range(7), lengths, generator=lib.Generator())
        return [[len(part) for part in parts], sorted(i for part in parts for i in part)]

    check(case)


def test_subsets_and_concatenations_equal_pytorchs():
    def case(lib):
        data = lib.utils.data
        base = data.TensorDataset(lib.arange(10) * 10)
        subset = data.Subset(base, [9, 0, 4])
        both = data.ConcatDataset([subset, data.Subset(base, [1, 2])])
        return [len(both), [both[i] for i in range(-5, 5)], base + subset is not None]

    check(case)


def numbers(lib, sharded: bool):
    """An IterableDataset of 0..9 that each worker reads its part of (PyTorch's recipe with
    get_worker_info) or, unsharded, all of."""

    class Numbers(lib.utils.data.IterableDataset):
        def __iter__(self):
            worker = lib.utils.data.get_worker_info()
            if worker is None or not sharded:
                return iter(range(10))
            return iter(range(worker.id, 10, worker.num_workers))

    return Numbers()


@pytest.mark.parametrize("sharded", [True, False])
def test_iterable_datasets_over_workers_interleave_as_pytorchs(sharded):
    def case(lib):
        loader = lib.utils.data.DataLoader(numbers(lib, sharded), batch_size=3, num_workers=2)
        return list(loader)

    check(case)


def test_map_style_batches_over_workers_equal_pytorchs():
    check(lambda lib: loader_batches(lib, 9, batch_size=2, num_workers=2))


@pytest.mark.parametrize("n", [7, 8])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shares_equal_pytorchs(n, drop_last):
    def case(lib):
        samplers = [
            lib.utils.data.DistributedSampler(
                range(n), num_replicas=3, rank=rank, shuffle=False, drop_last=drop_last
            )
            for rank in range(3)
        ]
        return [[list(s), len(s)] for s in samplers]

    check(case)


def test_distributed_sampler_refuses_a_bad_rank():
    check_raises(lambda lib: lib.utils.data.DistributedSampler(range(4), num_replicas=2, rank=2))
