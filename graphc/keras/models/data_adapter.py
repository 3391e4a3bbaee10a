"""Batch sources for ``fit``/``evaluate``/``predict``: arrays (sliced here) or anything that yields
batches -- a ``keras.utils.PyDataset``, a generator/iterator, or an iterable of batches. A batch is
``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``, as in Keras."""
from __future__ import annotations

import itertools

import numpy as np

from ..utils.py_dataset import PyDataset


def is_batch_source(x):
    """True for a PyDataset, generator/iterator or other non-array iterable of batches."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, str, bytes, int, float)):
        return False
    if isinstance(x, PyDataset) or hasattr(x, "__next__"):
        return True
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return False
    return hasattr(x, "__iter__")


def unpack(batch):
    """(x, y, sample_weight) of one batch (missing parts None)."""
    if isinstance(batch, tuple):
        if not 1 <= len(batch) <= 3:
            raise ValueError(f"A batch must be x, (x,), (x, y) or (x, y, sample_weight); received a tuple of "
                             f"{len(batch)} elements")
        return tuple(batch) + (None,) * (3 - len(batch))
    return batch, None, None


class BatchSource:
    """Batches of one epoch at a time from a PyDataset, an iterator or an iterable.

    ``steps``: batches per epoch (required for an endless iterator; default: the PyDataset's length,
    or until the iterable is exhausted). An iterator is consumed across epochs, as in Keras."""

    def __init__(self, data, steps=None, shuffle=False):
        self.data, self.steps, self.shuffle = data, steps, shuffle
        self._iter = data if hasattr(data, "__next__") else None
        if steps is not None and int(steps) <= 0:
            raise ValueError(f"steps must be a positive integer, received {steps}")

    @property
    def num_batches(self):
        """Batches per epoch, or None while unknown (an iterable without a length)."""
        if self.steps is not None:
            return int(self.steps)
        if isinstance(self.data, PyDataset) or hasattr(self.data, "__len__"):
            return len(self.data)
        return None  # unknown until exhausted

    def epoch(self):
        if isinstance(self.data, PyDataset):
            n = len(self.data)
            order = np.random.permutation(n) if self.shuffle else np.arange(n)
            if self.steps is not None:
                order = [order[i % n] for i in range(int(self.steps))]
            for i in order:
                yield unpack(self.data[int(i)])
            self.data.on_epoch_end()
            return
        it = self._iter if self._iter is not None else iter(self.data)
        for batch in (itertools.islice(it, int(self.steps)) if self.steps is not None else it):
            yield unpack(batch)
