"""``keras.metrics``: Keras 3 metrics, accumulated in numpy from the compiled step's outputs.

A fit/evaluate step returns y_pred as numpy arrays; each metric's ``update_state(y_true, y_pred,
sample_weight=None)`` folds a batch into its running state, ``result()`` reads it and
``reset_state()`` clears it. ``resolve_metric`` turns a ``compile(metrics=[...])`` entry into a
Metric named as Keras logs it.
"""
from __future__ import annotations

import inspect

from ..engine import naming
from . import functions as _F
from .accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                       SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy)
from .base import Mean, MeanMetricWrapper, Metric, Sum
from .confusion import (AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives)
from .functions import (binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                        sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from .regression import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge,
                         KLDivergence, LogCoshError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
                         MeanSquaredLogarithmicError, Poisson, RootMeanSquaredError, SparseCategoricalCrossentropy,
                         SquaredHinge)

# loss-named metric functions: numpy on arrays, traced on SymbolicValues
mean_squared_error = _F.DUAL["mean_squared_error"]
mean_absolute_error = _F.DUAL["mean_absolute_error"]
mean_absolute_percentage_error = _F.DUAL["mean_absolute_percentage_error"]
mean_squared_logarithmic_error = _F.DUAL["mean_squared_logarithmic_error"]
huber = _F.DUAL["huber"]
log_cosh = _F.DUAL["log_cosh"]
hinge = _F.DUAL["hinge"]
squared_hinge = _F.DUAL["squared_hinge"]
categorical_hinge = _F.DUAL["categorical_hinge"]
kl_divergence = _F.DUAL["kl_divergence"]
poisson = _F.DUAL["poisson"]
binary_crossentropy = _F.DUAL["binary_crossentropy"]
categorical_crossentropy = _F.DUAL["categorical_crossentropy"]
sparse_categorical_crossentropy = _F.DUAL["sparse_categorical_crossentropy"]

_CLASSES = [Metric, Mean, Sum, MeanMetricWrapper, MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError,
            MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, AUC,
            FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives, Hinge, SquaredHinge,
            CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
            TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy]
ALL_OBJECTS_DICT = {c.__name__: c for c in _CLASSES}
ALL_OBJECTS_DICT.update({naming.to_snake_case(c.__name__): c for c in _CLASSES})
ALL_OBJECTS_DICT.update({"bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError,
                         "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
                         "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
                         "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError})

__all__ = sorted({c.__name__ for c in _CLASSES} | {
    "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber", "log_cosh", "hinge",
    "squared_hinge", "categorical_hinge", "kl_divergence", "poisson", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "get", "serialize", "deserialize",
    "resolve_metric", "unique_names"})


def serialize(metric):
    """Keras 3's serialized form of a Metric instance or a metric function."""
    if inspect.isfunction(metric):
        return {"module": "builtins", "class_name": "function", "config": metric.__name__,
                "registered_name": "function"}
    if isinstance(metric, Metric):
        builtin = type(metric).__module__.startswith(__name__)
        return {"module": "keras.metrics" if builtin else type(metric).__module__,
                "class_name": type(metric).__name__, "config": metric.get_config(),
                "registered_name": None if builtin else type(metric).__name__}
    raise ValueError(f"Cannot serialize {metric!r}: expected a keras Metric instance or a metric function")


def _functions():
    return {n: globals()[n] for n in __all__ if inspect.isfunction(globals().get(n)) and
            n not in ("get", "serialize", "deserialize", "resolve_metric", "unique_names")}


def deserialize(config, custom_objects=None):
    """A Metric instance (or metric function) from a name or a serialized dict."""
    objects = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    if isinstance(config, str):
        obj = objects.get(config)
        if obj is None:
            raise ValueError(f"Unknown metric: {config!r}. Known: {sorted(ALL_OBJECTS_DICT)}")
        return obj() if inspect.isclass(obj) else obj
    if isinstance(config, dict):
        cls_name, cfg = config.get("class_name"), config.get("config")
        if cls_name == "function":
            fns = {**_functions(), **(custom_objects or {})}
            if cfg not in fns:
                raise ValueError(f"Unknown metric function: {cfg!r}")
            return fns[cfg]
        cls = objects.get(cls_name) or objects.get(config.get("registered_name") or "")
        if cls is None or not inspect.isclass(cls):
            raise ValueError(f"Unknown metric class: {cls_name!r}; pass custom classes in `custom_objects`")
        return cls.from_config(dict(cfg or {}))
    raise ValueError(f"Could not interpret serialized metric: {config!r}")


def get(identifier):
    """None, a name, a config dict, a Metric class or instance, or a function -> a metric."""
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
    raise ValueError(f"Could not interpret metric identifier: {identifier}")


def _loss_kind(loss):
    """'binary' / 'sparse' / 'categorical' / None from a loss identifier, function or Loss object."""
    from .. import losses
    if loss is None:
        return None
    fn = loss
    if isinstance(loss, str):
        fn = losses.ALL_OBJECTS_DICT.get(loss, loss)
    if isinstance(fn, losses.LossFunctionWrapper):
        fn = fn.fn
    elif isinstance(fn, losses.Loss) or inspect.isclass(fn):
        fn = type(fn).__name__ if not inspect.isclass(fn) else fn.__name__
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", "")
    name = naming.to_snake_case(name)
    for kind in ("sparse", "binary", "categorical"):
        if name.startswith(kind):
            return kind
    return None


def resolve_metric(identifier, loss=None, output_shape=None, y_true_shape=None):
    """The Metric that Keras 3's compile() makes of one ``metrics=[...]`` entry, named as fit() logs it.

    "accuracy"/"acc" (any case) become BinaryAccuracy when the output's last dimension is 1,
    SparseCategoricalAccuracy when the targets are sparse (lower rank than the output, or last
    dimension 1 against several classes), else CategoricalAccuracy - Keras 3 decides from the
    shapes of y_true and y_pred, not from the loss. Without ``y_true_shape`` the targets are taken
    as sparse when the loss is a sparse categorical cross-entropy and as shaped like the output
    otherwise. A string keeps its spelling as the name ("acc" logs "acc", "mse" logs "mse"); a
    Metric keeps its own name; a function is wrapped in a MeanMetricWrapper named after it.
    """
    if identifier is None:
        raise ValueError("Expected metric, received `None`")
    if str(identifier).lower() in ("accuracy", "acc"):
        shape = tuple(output_shape) if output_shape is not None else (None, 2)
        if y_true_shape is None:
            y_true_shape = shape[:-1] if _loss_kind(loss) == "sparse" else shape
        y_true_shape = tuple(y_true_shape)
        is_binary = shape[-1] == 1
        is_sparse = len(y_true_shape) < len(shape) or (len(y_true_shape) > 0 and y_true_shape[-1] == 1
                                                      and shape[-1] != 1)
        cls = BinaryAccuracy if is_binary else SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy
        obj = cls(name=str(identifier))
    else:
        obj = get(identifier)
    name = identifier if isinstance(identifier, str) else (
        obj.name if hasattr(obj, "name") else naming.to_snake_case(getattr(obj, "__name__", type(obj).__name__)))
    if not isinstance(obj, Metric):
        obj = MeanMetricWrapper(obj)
    obj.name = name
    return obj


def unique_names(names):
    """Keras's log keys for metrics sharing a name: name, name_1, name_2, ..."""
    seen, out = {}, []
    for n in names:
        if n not in seen:
            seen[n] = 1
            out.append(n)
        else:
            out.append(f"{n}_{seen[n]}")
            seen[n] += 1
    return out
