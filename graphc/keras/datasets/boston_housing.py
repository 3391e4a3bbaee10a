"""Boston housing prices: 506 samples of 13 features, split as Keras does (seeded shuffle)."""
from __future__ import annotations

import numpy as np

from ..utils import get_file

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
_SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: the samples shuffled with ``RandomState(seed)``, the last
    ``test_split`` of them for testing (Keras's split, sample for sample)."""
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be between 0 and 1 (exclusive of 1). Received: test_split={test_split}")
    path = get_file(path, origin=_ORIGIN, file_hash=_SHA256)
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    idx = np.arange(len(x))
    np.random.RandomState(seed).shuffle(idx)
    x, y = x[idx], y[idx]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))
