"""Variable: a weight backed by one numpy array that compiled programs read and write in place."""
from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from ...runtime.weights import weights_changed
from .trace import TracedArithmetic


class Variable(TracedArithmetic):
    """A Keras-style variable. ``value`` is the numpy buffer the runtime binds: it is never
    replaced, only assigned in place, so compiled programs always see the current weights."""

    def __init__(self, initializer, shape=None, dtype="float32", trainable=True, name="variable", path=None,
                 regularizer=None, constraint=None):
        if callable(initializer) and not isinstance(initializer, np.ndarray):
            value = initializer(tuple(shape), dtype=dtype)
        else:
            value = np.asarray(initializer, dtype=dtype)
            if shape is not None and value.shape != tuple(shape):
                value = np.broadcast_to(value, tuple(shape))
        self._value = np.array(value, dtype=dtype, order="C", copy=True)
        self.trainable = trainable
        self.name = name
        self.path = path or name
        self.regularizer = regularizer
        self.constraint = constraint

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype.name

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def value(self):
        return self._value

    def numpy(self):
        return self._value.copy()

    def __array__(self, dtype=None, copy=None):
        return self._value.astype(dtype) if dtype is not None else self._value.copy()

    def assign(self, value):
        """Write ``value`` in place. Inside a trace (a SymbolicValue) it records an update: the
        compiled program writes the new value into this variable's buffer (in-place aliasing)."""
        from .trace import SymbolicValue
        if isinstance(value, SymbolicValue):
            value.tracer.record_update(self, value)
            return self
        value = np.asarray(value)
        if value.shape != self._value.shape:
            raise ShapeError(f"Variable {self.path!r}: expected a value of shape {self._value.shape}, "
                             f"received shape {value.shape}")
        self._value[...] = value
        weights_changed()
        return self

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"
