"""``keras.callbacks.Callback``: the base class of every callback, with all of Keras 3's hooks."""
from __future__ import annotations


class Callback:
    """Base class for callbacks passed to ``fit``, ``evaluate`` and ``predict``.

    Override the hooks you need. ``self.model`` is the model being run and ``self.params``
    the loop's parameters (``{"verbose": ..., "epochs": ..., "steps": ...}``). Every hook
    receives ``logs``, a dict of Python floats (epoch-end logs hold the epoch's metrics, and
    the validation metrics prefixed with ``val_``).
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    # tf.keras's aliases: the train-batch hooks call these by default
    def on_batch_begin(self, batch, logs=None):
        """A backwards compatibility alias for ``on_train_batch_begin``."""

    def on_batch_end(self, batch, logs=None):
        """A backwards compatibility alias for ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch (training only)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with the epoch's metrics (``val_*`` included)."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called at the beginning of a training batch in ``fit``."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called at the end of a training batch with the running (epoch-so-far) metrics."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch in ``evaluate`` (and of validation batches in ``fit``)."""

    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of a batch in ``evaluate`` (and of validation batches in ``fit``)."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch in ``predict``."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of a batch in ``predict``."""

    def on_train_begin(self, logs=None):
        """Called at the beginning of training."""

    def on_train_end(self, logs=None):
        """Called at the end of training."""

    def on_test_begin(self, logs=None):
        """Called at the beginning of evaluation or validation."""

    def on_test_end(self, logs=None):
        """Called at the end of evaluation or validation."""

    def on_predict_begin(self, logs=None):
        """Called at the beginning of prediction."""

    def on_predict_end(self, logs=None):
        """Called at the end of prediction."""
