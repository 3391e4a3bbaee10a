"""Data sets that ship inside registry packages (nothing is downloaded)."""
from __future__ import annotations

import numpy as np


def digits(test_size=0.25, random_state=0):
    """scikit-learn's 8x8 handwritten digits, split as the tutorials do.

    ``train_test_split(test_size=0.25, random_state=0, stratify=y)``; returns
    ``(x_train, y_train), (x_test, y_test)`` with images of shape (n, 8, 8), float32 in [0, 16],
    and integer labels 0-9 (as ``keras.datasets.mnist.load_data()`` returns its split).
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as e:  # an optional dependency: say what to install
        raise ImportError("graphc.datasets.digits needs scikit-learn: pip install scikit-learn") from e
    d = load_digits()
    x, y = d.images.astype(np.float32), d.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=random_state,
                                                        stratify=y)
    return (x_train, y_train), (x_test, y_test)


def upscale_to_mnist(images):
    """(n, 8, 8) digits -> (n, 28, 28, 1) in [0, 1]: nearest-neighbour x3 and a 2-pixel border, as MNIST."""
    x = np.kron(np.asarray(images, dtype=np.float32) / 16.0, np.ones((3, 3), np.float32))
    return np.pad(x, ((0, 0), (2, 2), (2, 2)))[..., None]
