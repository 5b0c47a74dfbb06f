"""utils.data where PyTorch's numbers are not ours to match: shuffled orders (reproducible from
a seed, new every epoch), random samplers, workers in this process, and MNIST as a Dataset."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.data import MNIST, datasets
from tinygrad_rnn.utils.data import (
    BatchSampler,
    ChainDataset,
    DataLoader,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    get_worker_info,
    random_split,
)


def labels_seen(loader) -> list[list[int]]:
    return [labels.tolist() for _, labels in loader]


def flat(batches: list[list[int]]) -> list[int]:
    return [index for batch in batches for index in batch]


def dataset(n=10):
    return TensorDataset(tg.arange(n * 2, dtype=tg.float32).reshape(n, 2), tg.arange(n))


def test_shuffle_draws_a_new_order_every_epoch_reproducibly_from_the_seed():
    tg.manual_seed(3)
    loader = DataLoader(dataset(), batch_size=4, shuffle=True)
    first, second = labels_seen(loader), labels_seen(loader)
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(flat(first)) == sorted(flat(second)) == list(range(10))
    assert first != second
    tg.manual_seed(3)
    assert [labels_seen(loader), labels_seen(loader)] == [first, second]


def test_a_generator_drives_the_order_and_leaves_the_default_alone():
    orders = []
    for _ in range(2):
        tg.manual_seed(0)
        before = tg.rand(1).item()
        tg.manual_seed(0)
        loader = DataLoader(dataset(), batch_size=10, shuffle=True, generator=tg.Generator())
        orders.append(labels_seen(loader) + labels_seen(loader))
        assert tg.rand(1).item() == before  # the default generator was not drawn from
    assert orders[0] == orders[1] and orders[0][0] != orders[0][1]
    seeded = DataLoader(dataset(), batch_size=10, shuffle=True, generator=tg.Generator())
    assert labels_seen(seeded) == orders[0][:1]


def test_an_int_seed_still_gives_a_new_order_every_epoch():
    sampler = RandomSampler(range(20), generator=5)
    assert list(sampler) != list(sampler)
    assert list(RandomSampler(range(20), generator=5)) == list(
        RandomSampler(range(20), generator=5)
    )


def test_random_sampler_with_replacement_and_num_samples():
    tg.manual_seed(0)
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(drawn) == 50 and set(drawn) == {0, 1, 2}
    repeated = list(RandomSampler(range(4), num_samples=10))
    assert sorted(repeated[:4]) == sorted(repeated[4:8]) == [0, 1, 2, 3] and len(repeated) == 10
    assert len(RandomSampler(range(4), num_samples=10)) == 10


def test_subset_and_weighted_samplers():
    g = tg.Generator().manual_seed(1)
    assert sorted(SubsetRandomSampler([7, 3, 5], generator=g)) == [3, 5, 7]
    weighted = list(WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], 200, generator=g))
    counts = np.bincount(weighted, minlength=4)
    assert counts[0] == counts[3] == 0 and counts[2] > counts[1] > 0
    distinct = list(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False, generator=g))
    assert sorted(distinct) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError):
        list(WeightedRandomSampler([1.0, 0.0], 2, replacement=False))


def test_batch_sampler_over_a_random_sampler_feeds_a_loader():
    sampler = BatchSampler(RandomSampler(range(10), generator=0), 3, drop_last=True)
    batches = labels_seen(DataLoader(dataset(), batch_sampler=sampler))
    assert [len(b) for b in batches] == [3, 3, 3] and len(set(flat(batches))) == 9


def test_random_split_by_fractions_is_seeded_and_warns_on_empty_parts():
    parts = random_split(range(10), [0.7, 0.3], generator=tg.Generator().manual_seed(4))
    again = random_split(range(10), [0.7, 0.3], generator=tg.Generator().manual_seed(4))
    assert [list(p) for p in parts] == [list(p) for p in again]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(3), [1.0, 0.0])


class Countdown(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n, 0, -1))

    def __len__(self):
        return self.n


def test_iterable_datasets_batch_chain_and_have_a_length():
    loader = DataLoader(Countdown(5), batch_size=2, drop_last=True)
    assert [b.tolist() for b in loader] == [[5, 4], [3, 2]] and len(loader) == 2
    assert list(ChainDataset([Countdown(2), Countdown(1)])) == [2, 1, 1]
    assert len(Countdown(2) + Countdown(3)) == 5
    unbatched = DataLoader(Countdown(2), batch_size=None)
    assert [int(x) for x in unbatched] == [2, 1]


def test_workers_call_worker_init_fn_and_report_themselves():
    calls, seen = [], []

    class Recorder(TensorDataset):
        def __getitem__(self, index):
            seen.append(get_worker_info().id)
            return super().__getitem__(index)

    data = Recorder(tg.arange(6))
    loader = DataLoader(data, batch_size=2, num_workers=2, worker_init_fn=calls.append)
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]]
    assert calls == [0, 1] and seen == [0, 0, 1, 1, 0, 0] and get_worker_info() is None
    list(loader)
    assert calls == [0, 1, 0, 1]  # new workers every epoch
    persistent = DataLoader(
        data, num_workers=2, persistent_workers=True, worker_init_fn=calls.append
    )
    list(persistent), list(persistent)
    assert calls == [0, 1, 0, 1, 0, 1]  # once


def test_custom_collate_and_pin_memory():
    loader = DataLoader(dataset(4), batch_size=2, pin_memory=True, collate_fn=lambda b: len(b))
    assert list(loader) == [2, 2] and len(iter(loader)) == 2


def fake_mnist_cache(folder):
    labels = np.random.default_rng(0).permutation(
        np.repeat(np.arange(10), datasets.LABEL_COUNTS["test"])
    )
    images = np.zeros((10_000, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = labels * 20
    np.savez(folder / "mnist-test.npz", images=images, labels=labels)
    return labels


def test_mnist_is_a_dataset_for_dataloader(tmp_path):
    labels = fake_mnist_cache(tmp_path)
    test_set = MNIST(tmp_path, train=False)
    assert len(test_set) == 10_000 and test_set.targets.dtype == tg.int64
    image, label = test_set[3]
    assert image.shape == (28, 28) and image.dtype == tg.float32 and label == labels[3]
    assert image[0, 0].item() == pytest.approx(labels[3] * 20 / 255)
    x, y = next(iter(DataLoader(test_set, batch_size=150)))
    assert x.shape == (150, 28, 28) and y.dtype == tg.int64 and y.tolist() == labels[:150].tolist()
    shifted = MNIST(tmp_path, train=False, transform=lambda t: t.unsqueeze(0), target_transform=str)
    assert shifted[0][0].shape == (1, 28, 28) and shifted[0][1] == str(labels[0])


def test_distributed_samplers_agree_on_each_epochs_permutation():
    def shares(epoch):
        samplers = [DistributedSampler(range(10), num_replicas=3, rank=r) for r in range(3)]
        for sampler in samplers:
            sampler.set_epoch(epoch)
        return [list(sampler) for sampler in samplers]

    first = shares(0)
    assert set(flat(first)) == set(range(10))
    assert [len(share) for share in first] == [4, 4, 4]  # padded with two repeats
    assert shares(0) == first and shares(1) != first
