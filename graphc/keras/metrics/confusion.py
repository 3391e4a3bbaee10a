"""Confusion-matrix metrics: TruePositives & co., Precision, Recall, AUC (Keras 3 semantics, numpy).

Predictions are compared with thresholds as ``y_pred > threshold``. Evenly spaced thresholds use
Keras's bucketed update (``ceil(y_pred * (T - 1)) - 1``, clipped predictions), others the direct
comparison, so boundary cases land where Keras puts them.
"""
from __future__ import annotations

import numpy as np

from .. import config
from .base import Metric, divide_no_nan, squeeze_or_expand_to_same_rank

NEG_INF = -1e10
TP, FP, TN, FN = "tp", "fp", "tn", "fn"


def _to_list(x):
    return list(x) if isinstance(x, (list, tuple, np.ndarray)) else [x]


def parse_init_thresholds(thresholds, default_threshold=0.5):
    if thresholds is not None:
        bad = [t for t in _to_list(thresholds) if t is None or t < 0 or t > 1]
        if bad:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return _to_list(default_threshold if thresholds is None else thresholds)


def is_evenly_distributed_thresholds(thresholds):
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=config.epsilon()))


def filter_top_k(x, k):
    """Keep the top-k values of the last axis (ties: lower index first), the rest -> NEG_INF."""
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    mask = np.zeros_like(x)
    np.put_along_axis(mask, idx, 1, axis=-1)
    return x * mask + np.asarray(NEG_INF, x.dtype) * (1 - mask)


def update_confusion_matrix(variables, y_true, y_pred, thresholds, top_k=None, class_id=None, sample_weight=None,
                            multi_label=False, label_weights=None, thresholds_distributed_evenly=False):
    """Add this batch's weighted TP/FP/TN/FN counts (per threshold) to the arrays in ``variables``."""
    f32 = np.float32
    y_true = np.asarray(y_true).astype(f32)
    y_pred = np.asarray(y_pred).astype(f32)
    with_eps = thresholds_distributed_evenly and (thresholds[0] < 0.0 or thresholds[-1] > 1.0)
    thresholds = np.asarray(thresholds, dtype=f32)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = np.expand_dims(np.asarray(sample_weight, dtype=f32), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape (num_samples, "
                             f"num_classes), found shape: {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    weights = np.ones(y_pred.shape, f32) if sample_weight is None else np.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None:
        weights = weights * np.broadcast_to(np.expand_dims(np.asarray(label_weights, f32), 0), y_pred.shape)
    pos = y_true != 0  # Keras casts labels to bool
    if not multi_label:
        y_pred, pos, weights = y_pred.reshape(-1), pos.reshape(-1), weights.reshape(-1)
    elif y_pred.ndim != 2:
        raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`, found shape {y_pred.shape}")
    n_t = thresholds.shape[0]
    true_w = np.where(pos, weights, 0).astype(np.float64)
    false_w = np.where(pos, 0, weights).astype(np.float64)
    if thresholds_distributed_evenly:
        bucket = np.ceil(np.clip(y_pred, 0, 1) * f32(n_t - 1)) - f32(1)
        if with_eps:
            bucket = np.maximum(bucket, 0)
        bucket = bucket.astype(np.int64)
        keep = (bucket >= 0) & (bucket < n_t)  # segment_sum drops ids out of range
        shape = (n_t,) + y_pred.shape[1:] if multi_label else (n_t,)
        tp_b, fp_b = np.zeros(shape), np.zeros(shape)
        if multi_label:
            cols = np.broadcast_to(np.arange(y_pred.shape[1]), y_pred.shape)
            np.add.at(tp_b, (bucket[keep], cols[keep]), true_w[keep])
            np.add.at(fp_b, (bucket[keep], cols[keep]), false_w[keep])
        else:
            np.add.at(tp_b, bucket[keep], true_w[keep])
            np.add.at(fp_b, bucket[keep], false_w[keep])
        tp = np.cumsum(tp_b[::-1], axis=0)[::-1]
        fp = np.cumsum(fp_b[::-1], axis=0)[::-1]
    else:
        t = thresholds.reshape((n_t,) + (1,) * y_pred.ndim)
        pred_pos = y_pred[None] > t
        tp = np.sum(np.where(pred_pos, true_w[None], 0), axis=1)
        fp = np.sum(np.where(pred_pos, false_w[None], 0), axis=1)
    total_true, total_false = true_w.sum(axis=0), false_w.sum(axis=0)
    updates = {TP: tp, FP: fp, TN: total_false - fp, FN: total_true - tp}
    for key, var in variables.items():
        var += updates[key]


class _ConfusionMatrixConditionCount(Metric):
    _cond = TP

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=0.5)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix({self._cond: self.accumulator}, y_true, y_pred, self.thresholds,
                                sample_weight=sample_weight,
                                thresholds_distributed_evenly=self._thresholds_distributed_evenly)

    def reset_state(self):
        self.accumulator = np.zeros(len(self.thresholds))

    def result(self):
        return self._out(self.accumulator[0] if len(self.thresholds) == 1 else self.accumulator)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    _cond = TP


class FalsePositives(_ConfusionMatrixConditionCount):
    _cond = FP


class TrueNegatives(_ConfusionMatrixConditionCount):
    _cond = TN


class FalseNegatives(_ConfusionMatrixConditionCount):
    _cond = FN


class _PrecisionRecall(Metric):
    _other = FP

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=0.5 if top_k is None else NEG_INF)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        update_confusion_matrix({TP: self.true_positives, self._other: self._other_counts}, y_true, y_pred,
                                self.thresholds, top_k=self.top_k, class_id=self.class_id,
                                sample_weight=sample_weight,
                                thresholds_distributed_evenly=self._thresholds_distributed_evenly)

    def reset_state(self):
        self.true_positives = np.zeros(len(self.thresholds))
        self._other_counts = np.zeros(len(self.thresholds))

    def result(self):
        r = divide_no_nan(self.true_positives, self.true_positives + self._other_counts)
        return self._out(r[0] if len(self.thresholds) == 1 else r)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """TP / (TP + FP) at each threshold (default 0.5; with top_k, the top-k predictions are positive)."""
    _other = FP

    @property
    def false_positives(self):
        return self._other_counts


class Recall(_PrecisionRecall):
    """TP / (TP + FN) at each threshold (default 0.5; with top_k, the top-k predictions are positive)."""
    _other = FN

    @property
    def false_negatives(self):
        return self._other_counts


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = {"interpolation": "interpolation", "majoring": "majoring", "minoring": "minoring"}


class AUC(Metric):
    """Area under the ROC or PR curve from confusion counts at ``num_thresholds`` thresholds.

    ROC (and PR with majoring/minoring) is a Riemann sum; PR with "interpolation" uses Keras's
    closed form of Davis & Goadrich's interpolation of precision between thresholds.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(thresholds)
            self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(
                np.array([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                                 f"num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        eps = config.epsilon()
        self._thresholds = np.array([0.0 - eps] + list(thresholds) + [1.0 + eps])
        key = str(getattr(curve, "value", curve))
        if key.lower() not in _CURVES or key not in (key.lower(), key.upper()):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        self.curve = _CURVES[key.lower()]
        key = str(getattr(summation_method, "value", summation_method))
        if key.lower() not in _SUMMATIONS or key not in (key.lower(), key.capitalize()):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                             '["interpolation", "majoring", "minoring"]')
        self.summation_method = _SUMMATIONS[key.lower()]
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=self.dtype)
        self._from_logits = from_logits
        self._built = False
        if not multi_label and num_labels:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            self._build(None)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                                 f"Full shape received for `y_pred`: {shape}")
            self._num_labels = shape[1]
            self._var_shape = (self.num_thresholds, self._num_labels)
        else:
            self._var_shape = (self.num_thresholds,)
        self._built = True
        self.reset_state()

    def reset_state(self):
        if getattr(self, "_built", False):
            self.true_positives = np.zeros(self._var_shape)
            self.false_positives = np.zeros(self._var_shape)
            self.true_negatives = np.zeros(self._var_shape)
            self.false_negatives = np.zeros(self._var_shape)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            x = y_pred.astype(np.float32)
            with np.errstate(over="ignore"):
                y_pred = (1 / (1 + np.exp(-x))).astype(np.float32)
        update_confusion_matrix({TP: self.true_positives, TN: self.true_negatives, FP: self.false_positives,
                                 FN: self.false_negatives}, y_true, y_pred, self._thresholds,
                                sample_weight=sample_weight, multi_label=self.multi_label,
                                label_weights=None if self.multi_label else self.label_weights,
                                thresholds_distributed_evenly=self._thresholds_distributed_evenly)

    def _by_label(self, terms):
        if not self.multi_label:
            return np.sum(terms)
        by_label = np.sum(terms, axis=0)
        if self.label_weights is None:
            return np.mean(by_label)
        return divide_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights))

    def interpolate_pr_auc(self):
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        n = self.num_thresholds
        dtp = tp[:n - 1] - tp[1:]
        p = tp + fp
        dp = p[:n - 1] - p[1:]
        prec_slope = divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = np.where((p[:n - 1] > 0) & (p[1:] > 0), divide_no_nan(p[:n - 1], np.maximum(p[1:], 0)),
                                np.ones_like(p[1:]))
        with np.errstate(divide="ignore", invalid="ignore"):
            inc = divide_no_nan(prec_slope * (dtp + intercept * np.log(safe_p_ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return self._by_label(inc)

    def result(self):
        if not self._built:
            return self._out(0.0)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._out(self.interpolate_pr_auc())
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scaling = divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scaling * divide_no_nan(fn, tp)
            precision_gain = 1.0 - scaling * divide_no_nan(fp, tp)
            recall_gain = np.maximum(np.where(tp == 0, 0.0, recall_gain), 0.0)
            precision_gain = np.where(tp == 0, 1.0, precision_gain)
            x, y = recall_gain, precision_gain
        n = self.num_thresholds
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:n - 1], y[1:])
        else:
            heights = np.maximum(y[:n - 1], y[1:])
        return self._out(self._by_label((x[:n - 1] - x[1:]) * heights))

    def get_config(self):
        lw = self.label_weights
        config = {"num_thresholds": self.num_thresholds, "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if lw is None else lw.tolist(), "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return {**super().get_config(), **config}
