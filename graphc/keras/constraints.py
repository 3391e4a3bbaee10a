"""``keras.constraints``: the Keras 3 weight constraints (projections applied after each update).

Calling a constraint on a numpy array returns the projected array (Keras's exact formulas,
with ``keras.config.epsilon()``); called on a traced value (inside the train step, after the
optimizer's update) it emits the same formulas as IR ops.
"""
from __future__ import annotations

from .engine.serialization import deserialize_object, get_object, serialize_object


import numpy as np

from . import config as _config

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg", "unit_norm",
           "min_max_norm", "get", "serialize", "deserialize"]


def _as_float_array(w):
    w = np.asarray(w)
    if w.dtype.kind != "f":
        w = w.astype(_config.floatx())
    return w


def _axis(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=_axis(axis), keepdims=True))


def _is_traced(w):
    from .engine.trace import SymbolicValue
    return isinstance(w, SymbolicValue)


def _traced_norms(w, axis):
    """The same L2 norms as IR ops (the optimizer applies constraints inside the train step)."""
    from . import ops
    return ops.sqrt(ops.sum(ops.square(w), axis=_axis(axis), keepdims=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight (the identity here)."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescale each slice along ``axis`` whose L2 norm exceeds ``max_value``:
    ``w * clip(norm, 0, max_value) / (epsilon + norm)``.

    For a Dense kernel ``(input_dim, units)`` use ``axis=0``; for a Conv2D kernel
    ``(rows, cols, in, out)`` use ``axis=[0, 1, 2]``.
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        if _is_traced(w):
            from . import ops
            norms = _traced_norms(w, self.axis)
            desired = ops.clip(norms, 0.0, float(self.max_value))
            return ops.multiply(w, ops.divide(desired, ops.add(norms, float(_config.epsilon()))))
        w = _as_float_array(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (w.dtype.type(_config.epsilon()) + norms))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """``max(w, 0)``."""

    def __call__(self, w):
        if _is_traced(w):
            from . import ops
            return ops.maximum(w, 0.0)
        w = np.asarray(w)
        return np.maximum(w, w.dtype.type(0))


class UnitNorm(Constraint):
    """``w / (epsilon + norm)`` with the L2 norm taken along ``axis``."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        if _is_traced(w):
            from . import ops
            return ops.divide(w, ops.add(_traced_norms(w, self.axis), float(_config.epsilon())))
        w = _as_float_array(w)
        norms = _norms(w, self.axis)
        return (w / (w.dtype.type(_config.epsilon()) + norms)).astype(w.dtype, copy=False)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each slice's norm towards ``[min_value, max_value]``:
    ``desired = rate * clip(norm, min_value, max_value) + (1 - rate) * norm``,
    ``w * desired / (epsilon + norm)``.
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        if _is_traced(w):
            from . import ops
            norms = _traced_norms(w, self.axis)
            rate = float(self.rate)
            desired = ops.add(ops.multiply(ops.clip(norms, float(self.min_value), float(self.max_value)), rate),
                              ops.multiply(norms, 1 - rate))
            return ops.multiply(w, ops.divide(desired, ops.add(norms, float(_config.epsilon()))))
        w = _as_float_array(w)
        norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return (w * (desired / (w.dtype.type(_config.epsilon()) + norms))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


# Keras 3's lower-case names are the classes themselves
max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

_CLASSES = {"MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm}
_BY_NAME = dict(_CLASSES)
_BY_NAME.update({"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm})


def _unknown(identifier):
    return ValueError(f"Could not interpret constraint identifier: {identifier!r}. Expected None, a Constraint, "
                      f"a callable(w), a config dict or one of these names: {sorted(_BY_NAME)}")


def serialize(constraint):
    """The Keras 3 serialization dict: ``{"module", "class_name", "config", "registered_name"}``."""
    return serialize_object(constraint, Constraint, "keras.constraints",
                            lambda cls: _CLASSES.get(cls.__name__) is cls, "constraint")


def deserialize(config, custom_objects=None):
    """Rebuild a constraint from :func:`serialize`'s dict (``module``/``registered_name`` are ignored)."""
    return deserialize_object(config, _BY_NAME, "constraint", _unknown, custom_objects)


def get(identifier):
    """Resolve ``identifier`` (None, name, config dict, instance, class or callable) to a constraint."""
    return get_object(identifier, _BY_NAME, deserialize, _unknown)
