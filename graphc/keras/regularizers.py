"""``keras.regularizers``: the Keras 3 weight penalties.

Calling a regularizer on a numpy array returns its penalty as a Python float (the exact
Keras formula, computed in the array's float dtype); the training graph lowers the same
formulas to IR.
"""
from __future__ import annotations

from .engine.serialization import deserialize_object, get_object, serialize_object

import math
import numbers

import numpy as np

from . import config as _config

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "serialize", "deserialize"]


def _validate_float_arg(value, name):
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isinf(value) or math.isnan(value)
            or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


def _as_float_array(x):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(_config.floatx())
    return x


def _is_traced(x):
    from .engine.trace import SymbolicValue
    return isinstance(x, SymbolicValue)


def _traced_penalty(x, l1, l2):
    """The same penalty as IR ops (inside a training graph): l1 * sum(|x|) + l2 * sum(x^2)."""
    from . import ops
    terms = []
    if l1:
        terms.append(ops.multiply(ops.sum(ops.abs(x)), float(l1)))
    if l2:
        terms.append(ops.multiply(ops.sum(ops.square(x)), float(l2)))
    if not terms:
        return ops.multiply(ops.sum(x), 0.0)
    return terms[0] if len(terms) == 1 else ops.add(terms[0], terms[1])


class Regularizer:
    """Base class: ``__call__(x)`` returns the penalty of weight ``x``."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``. Defaults are 0 (``'l1_l2'`` as a string gives 0.01 each)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _validate_float_arg(0.0 if l1 is None else l1, "l1")
        self.l2 = _validate_float_arg(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        if _is_traced(x):
            return _traced_penalty(x, self.l1, self.l2)
        x = _as_float_array(x)
        penalty = x.dtype.type(0.0)
        if self.l1 != 0.0:
            penalty = penalty + x.dtype.type(self.l1) * np.sum(np.abs(x))
        if self.l2 != 0.0:
            penalty = penalty + x.dtype.type(self.l2) * np.sum(np.square(x))
        return float(penalty)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)``."""

    def __init__(self, l1=0.01):
        self.l1 = _validate_float_arg(0.01 if l1 is None else l1, "l1")

    def __call__(self, x):
        if _is_traced(x):
            return _traced_penalty(x, self.l1, 0.0)
        x = _as_float_array(x)
        return float(x.dtype.type(self.l1) * np.sum(np.abs(x)))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x**2)``."""

    def __init__(self, l2=0.01):
        self.l2 = _validate_float_arg(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        if _is_traced(x):
            return _traced_penalty(x, 0.0, self.l2)
        x = _as_float_array(x)
        return float(x.dtype.type(self.l2) * np.sum(np.square(x)))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonality of the rows (``mode="rows"``) or columns of a 2-D weight.

    ``factor * 0.5 * sum(|P - diag(P)|) / (n (n - 1) / 2)`` where ``P`` is the Gram matrix
    of the L2-normalized rows (columns; norms floored at ``keras.config.epsilon()``) and ``n``
    their number.
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _validate_float_arg(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f'Invalid value for argument `mode`. Expected one of {{"rows", "columns"}}. '
                             f"Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, x):
        x = _as_float_array(x)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={x.shape}")
        if self.mode == "columns":
            x = x.T
        # keras.ops.normalize: x * min(rsqrt(sum(x**2)), 1/epsilon) == x / max(norm, epsilon)
        norms = np.sqrt(np.sum(np.square(x), axis=1, keepdims=True))
        x = x / np.maximum(norms, x.dtype.type(_config.epsilon()))
        product = x @ x.T
        size = x.shape[0]
        if size < 2:
            raise ValueError(f"OrthogonalRegularizer(mode={self.mode!r}) needs at least 2 {self.mode} to compare; "
                             f"received inputs.shape={x.shape if self.mode == 'rows' else x.T.shape}")
        off_diagonal = product * (1 - np.eye(size, dtype=x.dtype))
        num_pairs = size * (size - 1.0) / 2.0
        return float(self.factor * 0.5 * np.sum(np.abs(off_diagonal)) / num_pairs)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras 3's lower-case names are the classes themselves
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer}
_BY_NAME = dict(_CLASSES)
_BY_NAME.update({"l1": L1, "l2": L2, "l1l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer})
# 'l1_l2' as a string: Keras documents it as L1L2(l1=0.01, l2=0.01) (and Keras 2 accepted it)
_STRING_FACTORIES = {"l1_l2": lambda: L1L2(l1=0.01, l2=0.01)}


def _unknown(identifier):
    names = sorted(set(_BY_NAME) | set(_STRING_FACTORIES))
    return ValueError(f"Could not interpret regularizer identifier: {identifier!r}. Expected None, a Regularizer, "
                      f"a callable(x), a config dict or one of these names: {names}")


def serialize(regularizer):
    """The Keras 3 serialization dict: ``{"module", "class_name", "config", "registered_name"}``."""
    return serialize_object(regularizer, Regularizer, "keras.regularizers",
                            lambda cls: _CLASSES.get(cls.__name__) is cls, "regularizer")


def deserialize(config, custom_objects=None):
    """Rebuild a regularizer from :func:`serialize`'s dict (``module``/``registered_name`` are ignored)."""
    return deserialize_object(config, _BY_NAME, "regularizer", _unknown, custom_objects)


def get(identifier):
    """Resolve ``identifier`` (None, name, config dict, instance, class or callable) to a regularizer."""
    return get_object(identifier, _BY_NAME, deserialize, _unknown, _STRING_FACTORIES)
