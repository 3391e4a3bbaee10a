"""``keras.callbacks.LearningRateScheduler``: set the learning rate at each epoch's start."""
from __future__ import annotations

import numpy as np

from ..utils.progbar import print_msg
from .callback import Callback
from .reduce_lr_on_plateau import _optimizers, get_learning_rate


class LearningRateScheduler(Callback):
    """At the start of every epoch, ``lr = schedule(epoch, lr)`` (epoch counts from 0; a
    one-argument ``schedule(epoch)`` is accepted too) and the optimizer's learning rate is set
    to it. The result must be a float. Adds ``learning_rate`` to the epoch logs."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def _update_optimizer_lr(self, optimizer, epoch):
        lr = get_learning_rate(optimizer)
        try:  # the (epoch, lr) API
            lr = self.schedule(epoch, lr)
        except TypeError:  # the old schedule(epoch) API
            lr = self.schedule(epoch)
        if isinstance(lr, np.ndarray) and lr.ndim == 0 and lr.dtype.kind == "f":
            lr = lr[()]
        if not isinstance(lr, (float, np.floating)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr!r}")
        optimizer.learning_rate = float(lr)
        return float(lr)

    def on_epoch_begin(self, epoch, logs=None):
        lr = self._update_optimizer_lr(_optimizers(self.model), epoch)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = get_learning_rate(_optimizers(self.model))
