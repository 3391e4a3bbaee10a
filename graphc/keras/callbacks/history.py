"""``keras.callbacks.History``: what ``fit`` returns; per-epoch lists of every logged value."""
from __future__ import annotations

from .callback import Callback


class History(Callback):
    """Records the epoch-end logs: ``history.history["loss"]`` is the list of the epochs' losses
    and ``history.epoch`` the list of epoch indices. ``fit`` adds one to every run and returns it
    (it is also ``model.history``)."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:  # the latest state, as Keras sets it
            self.model.history = self
