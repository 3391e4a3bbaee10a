"""keras.utils: set_random_seed, to_categorical, normalize, get_file (expected values by hand)."""
import random

import numpy as np
import pytest

from graphc.keras import utils


def test_set_random_seed_seeds_every_generator():
    utils.set_random_seed(7)
    first = (random.random(), np.random.rand(), utils.rng().random(), utils.make_default_seed())
    assert utils.get_random_seed() == 7
    utils.set_random_seed(7)
    second = (random.random(), np.random.rand(), utils.rng().random(), utils.make_default_seed())
    assert first == second
    utils.set_random_seed(8)
    third = (random.random(), np.random.rand(), utils.rng().random(), utils.make_default_seed())
    assert all(a != b for a, b in zip(first, third))


def test_rng_is_one_global_generator():
    assert isinstance(utils.rng(), np.random.Generator)
    assert utils.rng() is utils.rng()
    seed = utils.make_default_seed()
    assert isinstance(seed, int) and 1 <= seed < 10**9


@pytest.mark.parametrize("bad", [1.5, "3", None, True])
def test_set_random_seed_requires_an_int(bad):
    with pytest.raises(ValueError, match="seed"):
        utils.set_random_seed(bad)


def test_set_random_seed_range():
    with pytest.raises(ValueError, match="2\\*\\*32"):
        utils.set_random_seed(-1)
    utils.set_random_seed(np.int64(5))  # numpy integers are fine
    assert utils.get_random_seed() == 5


def test_to_categorical_basic():
    y = utils.to_categorical([0, 2, 1])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    y = utils.to_categorical(np.array([1, 0]), num_classes=4)
    np.testing.assert_array_equal(y, [[0, 1, 0, 0], [1, 0, 0, 0]])


def test_to_categorical_shapes():
    assert utils.to_categorical(np.array([[1], [2], [0]]), 3).shape == (3, 3)  # trailing 1 squeezed
    np.testing.assert_array_equal(utils.to_categorical(np.array([[1], [2]]), 3), [[0, 1, 0], [0, 0, 1]])
    y = utils.to_categorical(np.array([[1, 2], [0, 1]]))  # class axis appended
    assert y.shape == (2, 2, 3)
    np.testing.assert_array_equal(y[1, 0], [1, 0, 0])
    np.testing.assert_array_equal(utils.to_categorical(3, 5), [0, 0, 0, 1, 0])  # scalar
    assert utils.to_categorical(np.array([3]), 5).shape == (1, 5)  # rank 1 is never squeezed
    assert utils.to_categorical(np.array([[[1]], [[0]]]), 2).shape == (2, 1, 2)


def test_to_categorical_label_types():
    np.testing.assert_array_equal(utils.to_categorical(np.array([0.0, 2.0])), [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(utils.to_categorical(np.array([1, 0], dtype=np.uint8)), [[0, 1], [1, 0]])
    assert utils.to_categorical(np.zeros((0,), dtype=int), num_classes=3).shape == (0, 3)


def test_to_categorical_errors():
    with pytest.raises(ValueError, match="\\[0, 3\\)"):
        utils.to_categorical([0, 5], num_classes=3)
    with pytest.raises(ValueError, match="\\[-1, 1\\]"):
        utils.to_categorical([-1, 1], num_classes=3)
    with pytest.raises(ValueError, match="integer"):
        utils.to_categorical(["a", "b"])
    with pytest.raises(ValueError, match="num_classes"):
        utils.to_categorical([])


def test_normalize():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])  # zero rows stay zero
    np.testing.assert_allclose(utils.normalize(np.array([[3.0, 4.0], [1.0, 0.0]]), axis=0, order=1),
                               [[0.75, 1.0], [0.25, 0.0]])
    np.testing.assert_allclose(utils.normalize(np.array([3.0, 4.0])), [0.6, 0.8])
    y = utils.normalize([[3, 4]])
    assert y.dtype.kind == "f"
    np.testing.assert_allclose(y, [[0.6, 0.8]])
    np.testing.assert_allclose(utils.normalize(np.array([[3.0], [4.0]]), axis=None), [[0.6], [0.8]])
    x32 = np.ones((2, 4), np.float32)
    assert utils.normalize(x32).dtype == np.float32
    np.testing.assert_allclose(utils.normalize(x32), np.full((2, 4), 0.5))


def test_get_file_says_graphc_is_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="offline") as err:
        utils.get_file("mnist.npz", origin="https://example.com/mnist.npz")
    assert "https://example.com/mnist.npz" in str(err.value) and str(tmp_path / "datasets" / "mnist.npz") in str(err.value)


def test_public_names():
    for name in ("set_random_seed", "to_categorical", "normalize", "get_file"):
        assert callable(getattr(utils, name))
