"""Metric functions in numpy (Keras 3 formulas), and numpy twins of graphc's traced losses.

``keras.metrics.binary_accuracy(y_true, y_pred)`` & co. take numpy arrays and return numpy
arrays, as Keras does eagerly. The loss-named functions (``keras.metrics.mean_squared_error``...)
run in numpy on arrays and trace into the graph when given SymbolicValues. Inputs follow
Keras's JAX conversion: float64 arrays compute in float32 (floatx), ints stay ints.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import config
from ..engine.trace import SymbolicValue
from .base import Masked, apply_mask, divide_no_nan, squeeze_or_expand_to_same_rank


def _pred(y_pred):
    a = np.asarray(y_pred)
    if a.dtype.kind != "f" or a.dtype.itemsize > 4:
        a = a.astype(config.floatx())
    return a


def _true_like(y_true, y_pred):
    return np.asarray(y_true).astype(y_pred.dtype, copy=False)


def _pair(y_true, y_pred):
    y_pred = _pred(y_pred)
    return _true_like(y_true, y_pred), y_pred


def _floatx(x):
    return np.asarray(x, dtype=config.floatx())


# --- accuracy family ------------------------------------------------------------------------
def accuracy(y_true, y_pred):
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    return _floatx(y_true == y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_pred = _pred(y_pred)
    y_true = np.asarray(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = (y_pred > np.asarray(threshold, dtype=y_pred.dtype)).astype(y_true.dtype)
    return _floatx(y_true == y_pred)


def categorical_accuracy(y_true, y_pred):
    y_pred = _pred(y_pred)
    y_true = np.argmax(np.asarray(y_true), axis=-1).astype(y_pred.dtype)
    org_shape = y_true.shape
    reshape = False
    if y_true.ndim == y_pred.ndim:
        y_true = np.squeeze(y_true, -1)
        reshape = True
    matches = _floatx(y_true == np.argmax(y_pred, axis=-1).astype(y_true.dtype))
    return matches.reshape(org_shape) if reshape else matches


def sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    org_shape = y_true.shape
    reshape = False
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = np.squeeze(y_true, -1)
        reshape = True
    matches = _floatx(y_true == np.argmax(y_pred, axis=-1).astype(y_true.dtype))
    if reshape:
        matches = matches.reshape(org_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = np.squeeze(matches, -1)
    return matches


def in_top_k(targets, predictions, k):
    """Keras's ops.in_top_k: the target's prediction has fewer than k strictly larger ones (NaN counts
    as -inf; a target out of range never is)."""
    targets = np.asarray(targets).astype(np.int64)
    c = predictions.shape[-1]
    valid = (targets >= -c) & (targets < c)
    idx = np.where(valid, targets, 0) % max(c, 1)
    at = np.take_along_axis(predictions, idx[..., None], axis=-1)
    at = np.where(np.isnan(at) | ~valid[..., None], -np.inf, at)
    rank = 1 + np.sum(predictions > at, axis=-1)
    return (rank <= k) & valid


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_pred = _pred(y_pred)
    y_true = np.argmax(np.asarray(y_true).astype(y_pred.dtype), axis=-1)
    org_shape = y_true.shape
    reshape = False
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if y_true.ndim > 1:
        reshape = True
        y_true = y_true.reshape(-1)
    matches = _floatx(in_top_k(y_true, y_pred, k))
    return matches.reshape(org_shape) if reshape else matches


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    y_pred = _pred(y_pred) if not from_sorted_ids else np.asarray(y_pred)
    y_true = np.asarray(y_true)
    y_true = y_true.astype(y_pred.dtype) if from_sorted_ids else np.trunc(y_true).astype(np.int64)
    org_shape = y_true.shape
    reshape = False
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if y_true.ndim > 1:
        reshape = True
        y_true = y_true.reshape(-1)
    if from_sorted_ids:
        matches = np.any(y_true[:, None] == y_pred[:, :k], axis=1)
    else:
        matches = in_top_k(y_true, y_pred, k)
    matches = _floatx(matches)
    return matches.reshape(org_shape) if reshape else matches


# --- numpy twins of the losses (per-sample values) ------------------------------------------------
def _eps(dtype):
    return np.asarray(config.epsilon(), dtype=dtype)


def np_mean_squared_error(y_true, y_pred):
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    return np.mean(np.square(y_true - y_pred), axis=-1)


def np_mean_absolute_error(y_true, y_pred):
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    return np.mean(np.abs(y_true - y_pred), axis=-1)


def np_mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), _eps(y_pred.dtype)))
    return np.asarray(100.0, y_pred.dtype) * np.mean(diff, axis=-1)


def np_mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    one, eps = np.asarray(1.0, y_pred.dtype), _eps(y_pred.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        first = np.log(np.maximum(y_pred, eps) + one)
        second = np.log(np.maximum(y_true, eps) + one)
    return np.mean(np.square(first - second), axis=-1)


def _l2_normalize(x, axis):
    with np.errstate(divide="ignore"):
        inv = 1 / np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
    return x * np.minimum(inv, np.asarray(1.0 / config.epsilon(), x.dtype))


def np_cosine_similarity(y_true, y_pred, axis=-1):
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    return -np.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def cosine_similarity_metric(y_true, y_pred, axis=-1):
    """The metric's cosine similarity: +sum(l2_normalize(y_true) * l2_normalize(y_pred)) (the loss negates it)."""
    return -np_cosine_similarity(y_true, y_pred, axis=axis)


def np_huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    delta = np.asarray(delta, y_pred.dtype)
    error = y_pred - y_true
    abs_error = np.abs(error)
    half = np.asarray(0.5, y_pred.dtype)
    return np.mean(np.where(abs_error <= delta, half * np.square(error), delta * abs_error - half * np.square(delta)),
                   axis=-1)


def np_log_cosh(y_true, y_pred):
    y_true, y_pred = squeeze_or_expand_to_same_rank(*_pair(y_true, y_pred))
    x = y_pred - y_true
    return np.mean(x + np.logaddexp(np.zeros_like(x), x * np.asarray(-2.0, x.dtype)) - np.asarray(np.log(2.0), x.dtype),
                   axis=-1)


def _hinge_labels(y_true):
    is_binary = np.all((y_true == 0) | (y_true == 1))
    return 2.0 * y_true - 1.0 if is_binary else y_true


def np_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _hinge_labels(y_true).astype(y_pred.dtype)
    return np.mean(np.maximum(1.0 - y_true * y_pred, 0.0), axis=-1).astype(y_pred.dtype)


def np_squared_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _hinge_labels(y_true).astype(y_pred.dtype)
    return np.mean(np.square(np.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1).astype(y_pred.dtype)


def np_categorical_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    pos = np.sum(y_true * y_pred, axis=-1)
    neg = np.max((1.0 - y_true) * y_pred, axis=-1)
    return np.maximum(neg - pos + 1.0, 0.0).astype(y_pred.dtype)


def np_kl_divergence(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    eps, one = _eps(y_pred.dtype), np.asarray(1.0, y_pred.dtype)
    y_true, y_pred = np.clip(y_true, eps, one), np.clip(y_pred, eps, one)
    return np.sum(y_true * np.log(y_true / y_pred), axis=-1)


def np_poisson(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(y_pred - y_true * np.log(y_pred + _eps(y_pred.dtype)), axis=-1)


def _log_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    z = x - m
    with np.errstate(divide="ignore"):
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def np_binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = (y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing).astype(y_pred.dtype)
    if from_logits:
        log_p = -np.logaddexp(np.zeros_like(y_pred), -y_pred)
        log_np = -np.logaddexp(np.zeros_like(y_pred), y_pred)
        bce = -y_true * log_p - (1.0 - y_true) * log_np
    else:
        eps = _eps(y_pred.dtype)
        out = np.clip(y_pred, eps, np.asarray(1.0, y_pred.dtype) - eps)
        bce = -(y_true * np.log(out) + (1.0 - y_true) * np.log(1.0 - out))
    return np.mean(bce.astype(y_pred.dtype), axis=axis)


def np_categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = (y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]).astype(y_pred.dtype)
    if from_logits:
        log_prob = _log_softmax(y_pred, axis)
    else:
        eps = _eps(y_pred.dtype)
        out = y_pred / np.sum(y_pred, axis=axis, keepdims=True)
        log_prob = np.log(np.clip(out, eps, np.asarray(1.0, y_pred.dtype) - eps))
    return -np.sum(y_true * log_prob, axis=axis)


def np_sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    y_pred = _pred(y_pred)
    y_true = np.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = np.squeeze(y_true, axis)
    valid = None
    if ignore_class is not None:
        valid = y_true != np.asarray(ignore_class).astype(y_pred.dtype)
        y_true = np.where(valid, y_true, 0)
        y_pred = np.where(np.expand_dims(valid, axis), y_pred, 0).astype(y_pred.dtype)
    if from_logits:
        log_prob = _log_softmax(y_pred, axis)
    else:
        eps = _eps(y_pred.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = y_pred / np.sum(y_pred, axis=axis, keepdims=True)
        log_prob = np.log(np.clip(out, eps, np.asarray(1.0, y_pred.dtype) - eps))
    c = y_pred.shape[axis]
    idx = np.trunc(y_true).astype(np.int64)
    onehot = (np.arange(c) == idx[..., None]).astype(y_pred.dtype)
    onehot = np.moveaxis(onehot, -1, axis)
    with np.errstate(invalid="ignore"):
        res = -np.sum(onehot * log_prob, axis=axis)
    if valid is not None:
        res = np.where(valid, res, 0.0).astype(y_pred.dtype)
        return Masked.wrap(res, valid)
    return res


# --- dispatch: numpy on arrays, tracing on SymbolicValues ------------------------------------------
def _dual(np_fn, loss_name):
    from .. import losses

    traced = getattr(losses, loss_name)

    @functools.wraps(traced)
    def fn(y_true, y_pred, *args, **kwargs):
        if isinstance(y_true, SymbolicValue) or isinstance(y_pred, SymbolicValue):
            return traced(y_true, y_pred, *args, **kwargs)
        return np_fn(y_true, y_pred, *args, **kwargs)
    fn._numpy = np_fn
    return fn


_TWINS = {
    "mean_squared_error": np_mean_squared_error, "mean_absolute_error": np_mean_absolute_error,
    "mean_absolute_percentage_error": np_mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": np_mean_squared_logarithmic_error, "cosine_similarity": np_cosine_similarity,
    "huber": np_huber, "log_cosh": np_log_cosh, "hinge": np_hinge, "squared_hinge": np_squared_hinge,
    "categorical_hinge": np_categorical_hinge, "kl_divergence": np_kl_divergence, "poisson": np_poisson,
    "binary_crossentropy": np_binary_crossentropy, "categorical_crossentropy": np_categorical_crossentropy,
    "sparse_categorical_crossentropy": np_sparse_categorical_crossentropy,
}
DUAL = {name: _dual(f, name) for name, f in _TWINS.items()}


def numpy_twin(fn):
    """The numpy version of a graphc loss function (or of its dual metric function), else None."""
    from .. import losses
    np_fn = getattr(fn, "_numpy", None)
    if np_fn is not None:
        return np_fn
    name = getattr(fn, "__name__", None)
    if name in _TWINS and getattr(losses, name, None) is fn:
        return _TWINS[name]
    return None


def _np_reduce(values, reduction):
    mask = getattr(values, "_keras_mask", None)
    values = np.asarray(values)
    w = apply_mask(None, mask, values.dtype, reduction)
    if w is not None:
        values = values * w
    if reduction in (None, "none") or values.ndim == 0:
        return values
    if reduction == "sum":
        return np.sum(values)
    if reduction == "mean_with_sample_weight" and w is not None:
        return divide_no_nan(np.sum(values), np.sum(w))
    return divide_no_nan(np.sum(values), values.size)


class _Traced:
    """Evaluate a keras.ops-based function on numpy arrays: trace once per signature, compile, run."""

    def __init__(self, fn):
        self.fn, self.cache = fn, {}

    def __call__(self, y_true, y_pred, **kwargs):
        import graphc
        from ...ir import dtype_name
        from ..engine.trace import Tracer

        arrays = [np.asarray(y_true), _pred(y_pred)]
        if arrays[0].dtype.kind == "f" and arrays[0].dtype != arrays[1].dtype:
            arrays[0] = arrays[0].astype(arrays[1].dtype)
        if arrays[0].dtype.kind in "ub" or arrays[0].dtype == np.int32:
            arrays[0] = arrays[0].astype(np.int64)
        key = (tuple((a.dtype.name, a.shape[1:], a.ndim) for a in arrays), repr(sorted(kwargs.items())))
        exe = self.cache.get(key)
        if exe is None:
            tracer = Tracer(name="metric")
            vals = [tracer.value(tracer.b.input(n, dtype_name(a.dtype), (("N",) + a.shape[1:]) if a.ndim else ()))
                    for n, a in zip(("y_true", "y_pred"), arrays)]
            with tracer.active():
                out = self.fn(*vals, **kwargs)
            out = out if isinstance(out, SymbolicValue) else vals[1].tracer.const(np.asarray(out))
            tracer.b.output(out.name)
            exe = self.cache[key] = graphc.compile(tracer.b.g)
        return exe.run(arrays)[0]


def eager(fn):
    """A numpy-callable version of metric/loss function ``fn``."""
    from .. import losses
    twin = numpy_twin(fn)
    if twin is not None:
        return twin
    if isinstance(fn, losses.LossFunctionWrapper) and numpy_twin(fn.fn) is not None:
        inner, kwargs, reduction = numpy_twin(fn.fn), fn._fn_kwargs, fn.reduction

        def run(y_true, y_pred):
            yt, yp = squeeze_or_expand_to_same_rank(np.asarray(y_true), _pred(y_pred))
            return _np_reduce(inner(yt, yp, **kwargs), reduction)
        return run
    module = getattr(fn, "__module__", None) or ""
    if isinstance(fn, losses.Loss) or module == losses.__name__:
        return _Traced(fn)
    if module.startswith(__name__.rsplit(".", 1)[0]):  # graphc's own metric functions run in numpy
        return fn
    return _NumpyOrTraced(fn)


class _NumpyOrTraced:
    """A user function: called on numpy arrays first; if it needs tracing (keras.ops), traced."""

    def __init__(self, fn):
        self.fn, self.traced = fn, None

    def __call__(self, y_true, y_pred, **kwargs):
        from ...errors import UnsupportedOpError
        if self.traced is None:
            try:
                return np.asarray(self.fn(y_true, y_pred, **kwargs))
            except UnsupportedOpError:
                self.traced = _Traced(self.fn)
        return self.traced(y_true, y_pred, **kwargs)
