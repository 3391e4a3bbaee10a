"""keras.datasets loaders read Keras's cache layout (files made here in a temporary KERAS_HOME);
keras.utils.get_file resolves cached files and checks their hash."""
from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from graphc import keras
from graphc.keras.datasets import boston_housing, fashion_mnist, mnist


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    return tmp_path / "datasets"


def test_mnist_reads_the_cached_npz_and_checks_its_hash(keras_home, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 255, (6, 28, 28), dtype=np.uint8), "y_train": np.arange(6, dtype=np.uint8),
              "x_test": rng.integers(0, 255, (2, 28, 28), dtype=np.uint8), "y_test": np.arange(2, dtype=np.uint8)}
    path = keras_home / "mnist.npz"
    np.savez(path, **arrays)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="corrupt or a different file"):
        mnist.load_data()  # not the real file: its sha256 differs from Keras's
    monkeypatch.setattr(mnist, "_SHA256", digest)
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])


def test_fashion_mnist_reads_idx_files(keras_home):
    d = keras_home / "fashion-mnist"
    d.mkdir()
    rng = np.random.default_rng(1)
    imgs = {"train": rng.integers(0, 255, (5, 28, 28), dtype=np.uint8), "t10k": rng.integers(0, 255, (3, 28, 28),
                                                                                               dtype=np.uint8)}
    for split, x in imgs.items():
        with gzip.open(d / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\0" * 16 + x.tobytes())
        with gzip.open(d / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(b"\0" * 8 + np.arange(len(x), dtype=np.uint8).tobytes())
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, imgs["train"])
    np.testing.assert_array_equal(x_test, imgs["t10k"])
    assert y_train.tolist() == [0, 1, 2, 3, 4] and y_test.tolist() == [0, 1, 2]


def test_boston_housing_splits_as_keras(keras_home, monkeypatch):
    x = np.arange(50 * 13, dtype=np.float64).reshape(50, 13)
    y = np.arange(50, dtype=np.float64)
    np.savez(keras_home / "boston_housing.npz", x=x, y=y)
    monkeypatch.setattr(boston_housing, "_SHA256", None)
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(test_split=0.2, seed=113)
    idx = np.arange(50)
    np.random.RandomState(113).shuffle(idx)
    np.testing.assert_array_equal(y_train, y[idx[:40]])
    np.testing.assert_array_equal(x_test, x[idx[40:]])
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=1.0)


def test_missing_dataset_names_the_path(keras_home):
    with pytest.raises(FileNotFoundError, match="fashion-mnist"):
        fashion_mnist.load_data()
    assert keras.datasets.digits is not None  # graphc's offline digits stay reachable here
