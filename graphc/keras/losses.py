"""``keras.losses``: Keras 3 losses as functions, classes and names, traced into graphc IR.

A loss function takes ``(y_true, y_pred)`` SymbolicValues (numpy constants are fine for one of
them) and returns the per-sample loss as a SymbolicValue, with the formulas, epsilon clipping
and defaults of Keras 3 (JAX backend). ``from_logits=True`` cross-entropies use graphc's fused,
numerically stable ops (graphc.SoftmaxCrossEntropy, SparseSoftmaxCrossEntropy,
SigmoidBinaryCrossEntropy); ``from_logits=False`` keeps Keras's clip + log numerics so values
match Keras even when y_pred comes out of a Softmax/Sigmoid op.

``Loss`` objects apply sample weights, masks and the Keras 3 reductions: "sum_over_batch_size"
(sum of weighted losses / number of loss elements), "mean" (the same), "sum",
"mean_with_sample_weight" (sum / sum of weights) and "none"/None.

Keras's data-dependent ``where``/``cond`` (hinge's 0/1 label detection, ignore_class masks,
divide_no_nan) are written with arithmetic: ``_nonzero(x)`` is exactly 1 for x != 0 and 0 for
x == 0 (|x| times two powers of two that lift even the smallest subnormal above 1, then clipped).
"""
from __future__ import annotations

import inspect
import warnings

import numpy as np

from . import config, ops
from .engine import naming
from .engine.trace import SymbolicValue

__all__ = ["Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber", "LogCosh", "Hinge", "SquaredHinge",
           "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "mean_squared_error", "mean_absolute_error",
           "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "cosine_similarity", "huber",
           "log_cosh", "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "poisson",
           "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
           "get", "serialize", "deserialize", "resolve_loss", "reduce_weighted_values",
           "squeeze_or_expand_to_same_rank"]

REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


# --- tensor helpers ------------------------------------------------------------------------
def _tensor(x, dtype=None, like=None):
    """A SymbolicValue of ``dtype`` (cast if needed); numpy/python values become consts of the
    graph of ``like`` (or of the active tracer)."""
    if isinstance(x, SymbolicValue):
        return x if dtype is None or x.dtype == dtype else ops.cast(x, dtype)
    from .ops.core import _tracer
    t = like.tracer if isinstance(like, SymbolicValue) else _tracer([x])
    return t.const(np.asarray(x, dtype=dtype or config.floatx()))


def _pred_true(y_true, y_pred):
    """(y_true, y_pred) as tensors, y_true in y_pred's dtype (Keras: convert y_pred, cast y_true)."""
    if not isinstance(y_pred, SymbolicValue) and isinstance(y_true, SymbolicValue):
        y_pred = _tensor(y_pred, config.floatx() if y_true.dtype not in ("float32", "float64") else y_true.dtype,
                         like=y_true)
    y_pred = _tensor(y_pred)
    return _tensor(y_true, y_pred.dtype, like=y_pred), y_pred


def _nonzero(x):
    """1.0 where x != 0, 0.0 where x == 0 (NaN stays NaN), exactly, in x's dtype."""
    k = 2.0 ** 126 if x.dtype == "float32" else 2.0 ** 1022
    return ops.clip(ops.multiply(ops.multiply(ops.abs(x), k), k), 0.0, 1.0)


def _divide_no_nan(x, d):
    """x / d, and 0 where d == 0 (Keras's ops.divide_no_nan)."""
    nz = _nonzero(d)
    return ops.divide(ops.multiply(x, nz), ops.add(d, ops.subtract(1.0, nz)))


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Squeeze/expand the last dim if the ranks differ by exactly 1 (Keras 3)."""
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


# --- loss functions ---------------------------------------------------------------------------
def mean_squared_error(y_true, y_pred):
    """mean(square(y_true - y_pred), axis=-1)"""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pred_true(y_true, y_pred))
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(abs(y_true - y_pred), axis=-1)"""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pred_true(y_true, y_pred))
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(abs((y_true - y_pred) / maximum(abs(y_true), epsilon)), axis=-1)"""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pred_true(y_true, y_pred))
    diff = ops.abs(ops.divide(ops.subtract(y_true, y_pred), ops.maximum(ops.abs(y_true), config.epsilon())))
    return ops.multiply(ops.mean(diff, axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)"""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pred_true(y_true, y_pred))
    eps = config.epsilon()
    first = ops.log(ops.add(ops.maximum(y_pred, eps), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, eps), 1.0))
    return ops.mean(ops.square(ops.subtract(first, second)), axis=-1)


def _l2_normalize(x, axis):
    """x * min(rsqrt(sum(x^2)), 1 / epsilon) (Keras's ops.normalize with order 2)."""
    inv = ops.divide(1.0, ops.sqrt(ops.sum(ops.square(x), axis=axis, keepdims=True)))
    return ops.multiply(x, ops.minimum(inv, 1.0 / config.epsilon()))


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)"""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pred_true(y_true, y_pred))
    return ops.negative(ops.sum(ops.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)), axis=axis))


def huber(y_true, y_pred, delta=1.0):
    """mean(0.5 * e^2 where |e| <= delta else delta * |e| - 0.5 * delta^2, axis=-1), e = y_pred - y_true.

    Written as 0.5 * q^2 + delta * (|e| - q) with q = min(|e|, delta): the same function, no select.
    """
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pred_true(y_true, y_pred))
    abs_error = ops.abs(ops.subtract(y_pred, y_true))
    q = ops.minimum(abs_error, float(delta))
    loss = ops.add(ops.multiply(ops.square(q), 0.5), ops.multiply(ops.subtract(abs_error, q), float(delta)))
    return ops.mean(loss, axis=-1)


def log_cosh(y_true, y_pred):
    """mean(x + softplus(-2x) - log(2), axis=-1), x = y_pred - y_true"""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pred_true(y_true, y_pred))
    x = ops.subtract(y_pred, y_true)
    return ops.mean(ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, -2.0))), float(np.log(2.0))), axis=-1)


def _hinge_labels(y_true):
    """Keras's convert_binary_labels_to_hinge: if every label is 0 or 1, map them to -1/1."""
    off = ops.minimum(ops.abs(y_true), ops.abs(ops.subtract(y_true, 1.0)))  # 0 exactly at 0 and 1
    is_binary = ops.subtract(1.0, ops.max(_nonzero(off)))  # scalar 1.0 when all labels are 0/1
    return ops.add(y_true, ops.multiply(is_binary, ops.subtract(y_true, 1.0)))  # 2t - 1 or t


def hinge(y_true, y_pred):
    """mean(maximum(1 - y_true * y_pred, 0), axis=-1); 0/1 labels are converted to -1/1."""
    y_true, y_pred = _pred_true(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1); 0/1 labels are converted to -1/1."""
    y_true, y_pred = _pred_true(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.square(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis"""
    y_true, y_pred = _pred_true(y_true, y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [epsilon, 1]"""
    y_true, y_pred = _pred_true(y_true, y_pred)
    y_true = ops.clip(y_true, config.epsilon(), 1.0)
    y_pred = ops.clip(y_pred, config.epsilon(), 1.0)
    return ops.sum(ops.multiply(y_true, ops.log(ops.divide(y_true, y_pred))), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)"""
    y_true, y_pred = _pred_true(y_true, y_pred)
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, ops.log(ops.add(y_pred, config.epsilon())))), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean(binary cross-entropy, axis); label smoothing squeezes the labels toward 0.5."""
    y_true, y_pred = _pred_true(y_true, y_pred)
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    return ops.mean(ops.binary_crossentropy(y_true, y_pred, from_logits=from_logits), axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(softmax or normalized, clipped y_pred), axis)"""
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    y_true, y_pred = _pred_true(y_true, y_pred)
    if y_pred.shape[-1] == 1:
        warnings.warn("In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, num_classes) "
                      f"with num_classes > 1. Received: y_pred.shape={y_pred.shape}. Consider using "
                      "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=2)
    if label_smoothing:
        num_classes = float(y_true.shape[-1])
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / num_classes)
    return ops.categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy with integer targets; ``ignore_class`` targets give 0 and are masked out of
    the reduction (the Loss divides by the number of valid entries)."""
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, None if isinstance(y_true, SymbolicValue) else "int64", like=y_pred)
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[axis] == 1:
        y_true = ops.squeeze(y_true, axis=axis)
    valid = None
    if ignore_class is not None:
        labels = _tensor(y_true, y_pred.dtype)
        valid = _nonzero(ops.subtract(labels, float(ignore_class)))  # 1.0 where kept
        y_true = ops.multiply(labels, valid)  # ignored entries get the (valid) class 0
    res = ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)
    if valid is not None:
        res = ops.multiply(res, valid)
        res._keras_mask = valid
    return res


# --- reductions ---------------------------------------------------------------------------
def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of {set(REDUCTIONS)}. "
                         f"Received: reduction={reduction}")
    return reduction


def apply_mask(sample_weight, mask, dtype, reduction, like=None):
    """Merge a mask into the sample weights; for the mean reductions valid entries weigh total/valid."""
    if mask is None:
        return sample_weight
    mask = _tensor(mask, dtype, like=like)
    if reduction in ("mean", "sum_over_batch_size"):
        mask = ops.multiply(mask, _divide_no_nan(1.0, ops.mean(mask)))  # total / valid on valid entries
    if sample_weight is None:
        return mask
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
    return ops.multiply(sample_weight, mask)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    if reduction is None or reduction == "none" or tuple(values.shape) in ((), (0,)):
        return values
    if reduction == "sum":
        return ops.sum(values)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return _divide_no_nan(ops.sum(values), ops.sum(sample_weight))
    return ops.mean(values)  # sum / number of elements


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size", dtype=None):
    """Keras 3's reduce_weighted_values: weights (and mask) times values, then the reduction.

    A per-sample weight of lower rank than the losses (e.g. (N,) for (N, T) losses) broadcasts over
    the trailing axes.
    """
    reduction = standardize_reduction(reduction)
    values = _tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = _tensor(sample_weight, values.dtype, like=values)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction, like=values)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w = sample_weight
        if 0 < w.ndim < values.ndim:
            w = ops.reshape(w, [d if d is not None else -1 for d in w.shape] + [1] * (values.ndim - w.ndim))
        values = ops.multiply(values, w)
    return reduce_values(values, sample_weight, reduction)


# --- Loss classes -----------------------------------------------------------------------------
class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred)`` returning per-sample losses."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or naming.auto_name(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = getattr(dtype, "compute_dtype", dtype) or config.floatx()

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = getattr(y_pred, "_keras_mask", None)
        if not isinstance(y_pred, SymbolicValue) and isinstance(y_true, SymbolicValue):
            y_pred = _tensor(y_pred, self.dtype, like=y_true)
        y_pred = _tensor(y_pred, self.dtype)
        y_true = _tensor(y_true, self.dtype, like=y_pred)
        losses = self.call(y_true, y_pred)
        out_mask = getattr(losses, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = ops.multiply(_tensor(in_mask, self.dtype, like=losses), _tensor(out_mask, self.dtype, like=losses))
        else:
            mask = in_mask if in_mask is not None else out_mask
        return reduce_weighted_values(losses, sample_weight=sample_weight, mask=mask, reduction=self.reduction,
                                      dtype=self.dtype)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """A Loss around a loss function and its keyword arguments."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config["fn"] = serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


def _wrapper_class(cls_name, fn, default_name, params=(), doc=""):
    """A LossFunctionWrapper subclass with Keras's signature: (*params, reduction, name, dtype)."""
    names = [p for p, _ in params]
    order = names + ["reduction", "name", "dtype"]

    def __init__(self, *args, **kwargs):
        if len(args) > len(order):
            raise TypeError(f"{cls_name}() takes at most {len(order)} positional arguments ({len(args)} given)")
        bound = dict(zip(order, args))
        for k, v in kwargs.items():
            if k not in order:
                raise TypeError(f"{cls_name}() got an unexpected keyword argument {k!r}")
            if k in bound:
                raise TypeError(f"{cls_name}() got multiple values for argument {k!r}")
            bound[k] = v
        values = {p: bound.get(p, d) for p, d in params}
        LossFunctionWrapper.__init__(self, fn, reduction=bound.get("reduction", "sum_over_batch_size"),
                                     name=bound.get("name", default_name), dtype=bound.get("dtype"), **values)
        for k, v in values.items():
            setattr(self, k, v)

    def get_config(self):
        config = Loss.get_config(self)
        config.update({k: getattr(self, k) for k in names})
        return config

    cls = type(cls_name, (LossFunctionWrapper,), {
        "__init__": __init__, "get_config": get_config, "from_config": classmethod(Loss.from_config.__func__),
        "__doc__": doc or f"Keras's {cls_name}: per sample ``{fn.__name__}`` ({fn.__doc__.splitlines()[0]}), "
                          "then sample weights and the reduction.",
        "__module__": __name__, "__repr__": Loss.__repr__})
    sig = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    sig += [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d) for p, d in params]
    sig += [inspect.Parameter("reduction", inspect.Parameter.POSITIONAL_OR_KEYWORD, default="sum_over_batch_size"),
            inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default_name),
            inspect.Parameter("dtype", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)]
    cls.__init__.__signature__ = inspect.Signature(sig)
    return cls


MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _wrapper_class("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                             "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _wrapper_class("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                             "mean_squared_logarithmic_error")
# Keras 3 leaves axis/delta out of these two configs (so from_config loses them); graphc keeps them
CosineSimilarity = _wrapper_class("CosineSimilarity", cosine_similarity, "cosine_similarity", [("axis", -1)])
Huber = _wrapper_class("Huber", huber, "huber_loss", [("delta", 1.0)])
LogCosh = _wrapper_class("LogCosh", log_cosh, "log_cosh")
Hinge = _wrapper_class("Hinge", hinge, "hinge")
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _wrapper_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence")
Poisson = _wrapper_class("Poisson", poisson, "poisson")
BinaryCrossentropy = _wrapper_class("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                                    [("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)])
CategoricalCrossentropy = _wrapper_class("CategoricalCrossentropy", categorical_crossentropy,
                                         "categorical_crossentropy",
                                         [("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)])


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Keras's SparseCategoricalCrossentropy(from_logits=False, ignore_class=None, reduction, axis=-1, name, dtype)."""

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def get_config(self):
        config = Loss.get_config(self)
        config.update({"from_logits": self.from_logits, "ignore_class": self.ignore_class})
        if self.axis != -1:  # Keras 3 drops axis from the config; keep it when it matters
            config["axis"] = self.axis
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    __repr__ = Loss.__repr__


# --- lookup and serialization ------------------------------------------------------------------
_CLASSES = [Loss, LossFunctionWrapper, KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
            MeanSquaredLogarithmicError, CosineSimilarity, LogCosh, Huber, Hinge, SquaredHinge, CategoricalHinge]
_FUNCTIONS = [kl_divergence, poisson, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
              mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, cosine_similarity, log_cosh, huber, hinge, squared_hinge,
              categorical_hinge]
ALL_OBJECTS_DICT = {o.__name__: o for o in _CLASSES + _FUNCTIONS}
ALL_OBJECTS_DICT.update({"bce": binary_crossentropy, "BCE": binary_crossentropy, "kld": kl_divergence,
                         "KLD": kl_divergence, "mae": mean_absolute_error, "MAE": mean_absolute_error,
                         "mse": mean_squared_error, "MSE": mean_squared_error,
                         "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
                         "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error})


def serialize(loss):
    """Keras 3's serialized form of a Loss instance or a loss function."""
    if loss is None:
        return None
    if inspect.isfunction(loss) or inspect.isbuiltin(loss):
        return {"module": "builtins", "class_name": "function", "config": loss.__name__, "registered_name": "function"}
    if isinstance(loss, Loss):
        builtin = type(loss).__module__ == __name__
        return {"module": "keras.losses" if builtin else type(loss).__module__, "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None if builtin else type(loss).__name__}
    raise ValueError(f"Cannot serialize {loss!r}: expected a keras Loss instance or a loss function")


def deserialize(name, custom_objects=None):
    """A Loss instance or loss function from a name or a serialized dict."""
    objects = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    if isinstance(name, str):
        obj = objects.get(name)
        if obj is None:
            raise ValueError(f"Unknown loss: {name!r}. Please ensure you are using a `keras.losses.Loss` object "
                             f"or a known name. Known: {sorted(ALL_OBJECTS_DICT)}")
        return obj() if inspect.isclass(obj) else obj
    if isinstance(name, dict):
        cls_name, cfg = name.get("class_name"), name.get("config")
        if cls_name == "function":
            key = cfg if isinstance(cfg, str) else name.get("registered_name")
            if key not in objects or inspect.isclass(objects[key]):
                raise ValueError(f"Unknown loss function: {key!r}")
            return objects[key]
        cls = objects.get(cls_name) or objects.get(name.get("registered_name") or "")
        if cls is None or not inspect.isclass(cls):
            raise ValueError(f"Unknown loss class: {cls_name!r}. Known: {sorted(c.__name__ for c in _CLASSES)}; "
                             "pass custom classes in `custom_objects`")
        return cls.from_config(dict(cfg or {}))
    raise ValueError(f"Could not interpret serialized loss: {name!r}")


def get(identifier):
    """None, a name, a config dict, a Loss class or instance, or a function -> a loss (Keras 3 rules:
    a function's name gives the function, a class name gives an instance)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret loss identifier: {identifier}")


def _object_name(obj):
    if hasattr(obj, "name"):
        return obj.name
    return naming.to_snake_case(getattr(obj, "__name__", type(obj).__name__))


def resolve_loss(identifier, y_true_shape=None, y_pred_shape=None):
    """What Keras's ``compile(loss=...)`` uses: a Loss instance (functions are wrapped in a
    LossFunctionWrapper named after the string or the function); "crossentropy"/"ce" pick binary,
    sparse or categorical cross-entropy from the shapes as Keras 3 does."""
    if identifier is None:
        return None
    if str(identifier).lower() in ("crossentropy", "ce"):
        is_binary, is_sparse = _binary_or_sparse(y_true_shape, y_pred_shape)
        obj = binary_crossentropy if is_binary else sparse_categorical_crossentropy if is_sparse \
            else categorical_crossentropy
    else:
        obj = get(identifier)
    if isinstance(obj, Loss):
        return obj
    return LossFunctionWrapper(obj, name=identifier if isinstance(identifier, str) else _object_name(obj))


def _binary_or_sparse(y_true_shape, y_pred_shape):
    """Keras 3's is_binary_or_sparse_categorical from static shapes."""
    if y_pred_shape is None:
        raise ValueError("resolving 'crossentropy' needs the output shape")
    y_true_shape = tuple(y_pred_shape) if y_true_shape is None else tuple(y_true_shape)
    is_binary = y_pred_shape[-1] == 1
    is_sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] != 1)
    return is_binary, is_sparse
