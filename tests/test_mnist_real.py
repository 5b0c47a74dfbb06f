"""One short epoch of the book's model on 2,000 real MNIST images: far above chance."""

import pytest

from models.mnist_rnn import training
from tinygrad_rnn.data import DatasetUnavailableError, mnist


@pytest.fixture(scope="module")
def real_mnist():
    try:
        mnist("train"), mnist("test")
    except DatasetUnavailableError as error:
        pytest.skip(f"MNIST unavailable here: {error}")


def test_one_short_epoch_on_real_images_learns(real_mnist, tmp_path):
    config = training.Config(
        model="basic", epochs=1, limit=2_000, out=str(tmp_path), progress=False
    )
    history = training.train(config)
    assert history[0]["test_accuracy"] > 0.4  # chance is 0.1
    assert history[0]["valid_accuracy"] > 0.4
