"""Regression, hinge and probabilistic metrics: means of the (numpy) loss formulas."""
from __future__ import annotations

import numpy as np

from . import functions as F
from .accuracy import _Wrapper
from .base import Mean, squeeze_or_expand_to_same_rank


def _simple(cls_name, np_fn, default_name):
    def __init__(self, name=default_name, dtype=None):
        _Wrapper.__init__(self, np_fn, name=name, dtype=dtype)
    return type(cls_name, (_Wrapper,), {"__init__": __init__, "__module__": __name__,
                                        "__doc__": f"Keras's {cls_name} metric: the mean of {np_fn.__name__[3:]}."})


MeanSquaredError = _simple("MeanSquaredError", F.np_mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _simple("MeanAbsoluteError", F.np_mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _simple("MeanAbsolutePercentageError", F.np_mean_absolute_percentage_error,
                                      "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _simple("MeanSquaredLogarithmicError", F.np_mean_squared_logarithmic_error,
                                      "mean_squared_logarithmic_error")
LogCoshError = _simple("LogCoshError", F.np_log_cosh, "logcosh")
Hinge = _simple("Hinge", F.np_hinge, "hinge")
SquaredHinge = _simple("SquaredHinge", F.np_squared_hinge, "squared_hinge")
CategoricalHinge = _simple("CategoricalHinge", F.np_categorical_hinge, "categorical_hinge")
KLDivergence = _simple("KLDivergence", F.np_kl_divergence, "kl_divergence")
Poisson = _simple("Poisson", F.np_poisson, "poisson")


class CosineSimilarity(_Wrapper):
    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(F.cosine_similarity_metric, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):  # Keras 3 leaves axis out
        return {"name": self.name, "dtype": self.dtype}


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of squared errors."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(y_true, dtype=self.dtype)
        y_pred = np.asarray(y_pred, dtype=self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return super().update_state(np.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return self._out(np.sqrt(np.float64(super().result())))


class BinaryCrossentropy(_Wrapper):
    _config_keys = ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(F.np_binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing


class CategoricalCrossentropy(_Wrapper):
    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(F.np_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(_Wrapper):
    _config_keys = ("from_logits", "ignore_class", "axis")

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None,
                 axis=-1):
        super().__init__(F.np_sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis
