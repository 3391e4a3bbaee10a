"""``keras.callbacks.LambdaCallback``: a callback made of plain functions."""
from __future__ import annotations

from .callback import Callback

_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
          "on_train_batch_end")


class LambdaCallback(Callback):
    """Each given function replaces the hook of that name: ``on_epoch_begin/end(epoch, logs)``,
    ``on_train_begin/end(logs)``, ``on_train_batch_begin/end(batch, logs)``, and any other hook
    through ``**kwargs`` (e.g. ``on_test_end=fn``)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        given = dict(zip(_HOOKS, (on_epoch_begin, on_epoch_end, on_train_begin, on_train_end,
                                  on_train_batch_begin, on_train_batch_end)))
        for name, fn in given.items():
            if fn is not None:
                setattr(self, name, fn)
