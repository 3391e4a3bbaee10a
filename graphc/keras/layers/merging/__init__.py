"""Merge layers (Add, Concatenate, Multiply, ...) and their functional forms."""
from __future__ import annotations

from ... import ops
from ...engine.layer import Layer


class Merge(Layer):
    """Base of elementwise merges: inputs are a list of tensors of broadcast-compatible shapes."""

    def _merge(self, a, b):
        raise NotImplementedError

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: input_shape={input_shape}")
        if len(input_shape) < 1:
            raise ValueError(f"A merge layer should be called on a list of at least 1 input. Got {len(input_shape)} inputs.")
        self.built = True

    def call(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return out


class Add(Merge):
    def _merge(self, a, b):
        return ops.add(a, b)


class Subtract(Merge):
    def _merge(self, a, b):
        return ops.subtract(a, b)


class Multiply(Merge):
    def _merge(self, a, b):
        return ops.multiply(a, b)


class Maximum(Merge):
    def _merge(self, a, b):
        return ops.maximum(a, b)


class Minimum(Merge):
    def _merge(self, a, b):
        return ops.minimum(a, b)


class Average(Merge):
    def call(self, inputs):
        return ops.divide(Add.call(self, inputs), float(len(inputs)))


class Concatenate(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return ops.concatenate(list(inputs), axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def add(inputs, **kwargs): return Add(**kwargs)(inputs)
def subtract(inputs, **kwargs): return Subtract(**kwargs)(inputs)
def multiply(inputs, **kwargs): return Multiply(**kwargs)(inputs)
def maximum(inputs, **kwargs): return Maximum(**kwargs)(inputs)
def minimum(inputs, **kwargs): return Minimum(**kwargs)(inputs)
def average(inputs, **kwargs): return Average(**kwargs)(inputs)
def concatenate(inputs, axis=-1, **kwargs): return Concatenate(axis=axis, **kwargs)(inputs)
