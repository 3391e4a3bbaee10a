"""``keras.utils.PyDataset`` (alias ``Sequence``): a dataset of batches indexed by position."""
from __future__ import annotations


class PyDataset:
    """Subclass and define ``__len__`` (number of batches) and ``__getitem__(index)`` returning one batch
    ``(x, y)`` or ``(x, y, sample_weight)`` (``x`` alone for ``predict``); ``on_epoch_end`` runs after
    every epoch (e.g. to reshuffle). ``fit``/``evaluate``/``predict`` accept it in place of arrays.
    ``workers``/``use_multiprocessing``/``max_queue_size`` are accepted for compatibility; batches are
    produced in the calling thread."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers, self._use_multiprocessing, self._max_queue_size = workers, use_multiprocessing, max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning a batch")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__() (the number of batches)")

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_end(self):
        pass


Sequence = PyDataset
