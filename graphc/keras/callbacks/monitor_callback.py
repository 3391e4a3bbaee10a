"""The part EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share: which way is better."""
from __future__ import annotations

import operator
import warnings

import numpy as np

from .callback import Callback

# Keras 3 metric directions (``Metric._direction``), by the metrics' default names, for models
# whose metric objects do not say. Keras 3 itself reads the compiled metric objects.
_UP = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
       "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "precision", "recall",
       "precision_at_recall", "recall_at_precision", "sensitivity_at_specificity", "specificity_at_sensitivity",
       "f1_score", "fbeta_score", "iou", "mean_iou", "binary_iou", "one_hot_iou", "one_hot_mean_iou", "r2_score",
       "cosine_similarity", "pearson_correlation", "concordance_correlation")
_DOWN = ("loss", "mean_squared_error", "mse", "mean_absolute_error", "mae", "mean_absolute_percentage_error",
         "mape", "mean_squared_logarithmic_error", "msle", "root_mean_squared_error", "logcosh",
         "log_cosh_error", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
         "kl_divergence", "kld", "poisson", "hinge", "squared_hinge", "categorical_hinge")


def _direction_from_name(name):
    """"up", "down" or None for a metric name (an output-name prefix ``dense_1_accuracy`` is allowed)."""
    for table, direction in ((_UP, "up"), (_DOWN, "down")):
        if name in table or any(name.endswith("_" + n) for n in table):
            return direction
    return None


def _model_metrics(model):
    """The model's metric objects, wherever this model keeps them."""
    found = []
    try:
        metrics = getattr(model, "metrics", None)
    except Exception:  # an uncompiled model may raise on access
        metrics = None
    if isinstance(metrics, (list, tuple)):
        for m in metrics:
            found.extend(getattr(m, "metrics", None) or [m])
    cfg = getattr(model, "_compile_cfg", None)
    for ms in getattr(cfg, "metrics", None) or []:
        found.extend(ms if isinstance(ms, (list, tuple)) else [ms])
    return found


class MonitorCallback(Callback):
    """Base class for callbacks that watch one logged quantity (``monitor``).

    ``mode`` is "min", "max" or "auto". In "auto" mode (as Keras 3) a monitored loss is
    minimized; otherwise the direction of the compiled metric of that name decides
    (``_direction`` "up" -> maximize), and failing that the Keras 3 direction of the metric's
    standard name (accuracy, auc, precision... up; mse, crossentropy... down). A name with
    no known direction is a ValueError asking for ``mode="max"`` or ``mode="min"``.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=2)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor.removeprefix("val_")
            direction = "down" if name == "loss" else None
            if direction is None:
                for m in _model_metrics(self.model):
                    if getattr(m, "name", None) == name and getattr(m, "_direction", None) in ("up", "down"):
                        direction = m._direction
            if direction is None:
                direction = _direction_from_name(name)
            if direction is None:
                raise ValueError(f"{type(self).__name__} callback received monitor={self.monitor}, but Keras isn't "
                                 "able to automatically determine whether that metric should be maximized or "
                                 "minimized. Pass `mode='max'` in order to monitor based on the highest metric value, "
                                 "or pass `mode='min'` in order to use the lowest value.")
            self.monitor_op = operator.gt if direction == "up" else operator.lt
        if self.monitor_op is operator.lt:
            self.min_delta *= -1

    def _is_improvement(self, monitor_value, reference_value):
        """``monitor_value - min_delta`` better than ``reference_value``. As in Keras 3 (whose
        ``ops.less``/``ops.greater`` take float32 tensors) the comparison is made in float32,
        so that e.g. 0.35 + 0.1 is not an improvement over 0.45."""
        if reference_value is None:
            return True
        return bool(self.monitor_op(np.float32(monitor_value - self.min_delta), np.float32(reference_value)))
