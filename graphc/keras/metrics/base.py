"""Metric base classes. Metrics accumulate in numpy from the compiled step's outputs.

Values are computed in the metric's dtype (float32 unless set), as Keras does; the running
totals are kept in float64 and ``result()`` returns the metric's dtype.
"""
from __future__ import annotations

import numpy as np

from .. import config
from ..engine import naming


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Squeeze/expand the last dim if ranks differ by exactly 1 (Keras 3, numpy)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = np.expand_dims(x2, -1)
        else:
            x1 = np.squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = np.expand_dims(x1, -1)
        else:
            x2 = np.squeeze(x2, -1)
    return x1, x2


def divide_no_nan(x, y):
    x, y = np.asarray(x), np.asarray(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, np.zeros_like(x * y), x / np.where(y == 0, 1, y))


class Masked(np.ndarray):
    """A numpy array carrying a Keras mask (``_keras_mask``), e.g. ignore_class entries."""

    @classmethod
    def wrap(cls, values, mask):
        out = np.asarray(values).view(cls)
        out._keras_mask = np.asarray(mask)
        return out


def get_mask(x):
    return getattr(x, "_keras_mask", None)


def apply_mask(sample_weight, mask, dtype, reduction):
    """Keras's losses.loss.apply_mask in numpy."""
    if mask is None:
        return sample_weight
    mask = np.asarray(mask, dtype=dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        mask = np.where(mask != 0, divide_no_nan(mask.size, mask.sum()), 0).astype(dtype)
    if sample_weight is None:
        return mask
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, np.asarray(sample_weight, dtype=dtype))
    return sample_weight * mask


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras's reduction_metrics.reduce_to_samplewise_values in numpy."""
    mask = get_mask(values)
    values = np.asarray(values).astype(dtype, copy=False)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=dtype)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, dtype, reduction="sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim, values_ndim = sample_weight.ndim, values.ndim
        if values_ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values_ndim)))
        sample_weight = np.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Metric:
    """Keras's Metric API: update_state, result, reset_state, name, dtype, get_config."""

    def __init__(self, dtype=None, name=None):
        self.name = name or naming.auto_name(type(self).__name__)
        self._dtype = np.dtype(getattr(dtype, "compute_dtype", dtype) or config.floatx()).name

    @property
    def dtype(self):
        return self._dtype

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def _out(self, value):
        value = np.asarray(value, dtype=self._dtype)
        return value[()] if value.ndim == 0 else value

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Sum(Metric):
    """Sum of the (weighted) values."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, np.sum, self.dtype)
        self.total += float(np.sum(values, dtype=np.float64))

    def reset_state(self):
        self.total = 0.0

    def result(self):
        return self._out(self.total)


class Mean(Metric):
    """Weighted mean of the values: total / count (count = sum of weights or number of samples)."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        if type(values) is float and (sample_weight is None or type(sample_weight) in (int, float)):
            # a scalar (a loss from the train step, weighted by the batch size): the same arithmetic as the
            # general path below (cast to the metric's dtype, weight in that dtype), without array calls
            cast = np.dtype(self._dtype).type
            if sample_weight is None:
                self.total += float(cast(values))
                self.count += 1
            else:
                w = cast(sample_weight)
                self.total += float(cast(values) * w)
                self.count += float(w)
            return
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, np.mean, self.dtype)
        self.total += float(np.sum(values, dtype=np.float64))
        if sample_weight is not None:
            self.count += float(np.sum(sample_weight, dtype=np.float64))
        elif values.ndim >= 1:
            self.count += values.shape[0]
        else:
            self.count += 1

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def result(self):
        if type(self.total) is float and type(self.count) is float:  # divide_no_nan on two scalars
            return self._out(0.0 if self.count == 0 else self.total / self.count)
        return self._out(divide_no_nan(self.total, self.count))


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)``.

    ``fn`` runs on numpy arrays. graphc's traced loss functions (and Loss objects, and functions
    written with keras.ops) run through their numpy twin when one is registered, otherwise they
    are traced once per input signature (batch size symbolic) and compiled by graphc.
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or naming.to_snake_case(getattr(fn, "__name__", type(fn).__name__)),
                         dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        from .functions import eager
        self._eager = eager(fn)

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = get_mask(y_pred)
        values = self._eager(y_true, y_pred, **self._fn_kwargs)
        sample_weight = apply_mask(sample_weight, mask, self.dtype, reduction="sum")
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        from .. import losses
        base = super().get_config()
        fn = self._fn
        try:
            fn_cfg = losses.serialize(fn)
        except ValueError:
            fn_cfg = getattr(fn, "__name__", repr(fn))
        return {**base, "fn": fn_cfg, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        from .. import losses
        config = dict(config)
        if "fn" in config:
            config["fn"] = losses.deserialize(config["fn"])
        return cls(**config)
