from __future__ import annotations

from ... import ops
from ...engine.layer import Layer


class Softmax(Layer):
    """Softmax over ``axis`` (an int or a tuple of axes); an optional ``mask`` (1 = keep) sends the
    masked positions to probability ~0, as Keras does (adds -1e9 to their logits)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            adder = ops.multiply(ops.subtract(1.0, ops.cast(mask, inputs.dtype)), -1e9)
            inputs = ops.add(inputs, adder)
        if isinstance(self.axis, int):
            return ops.softmax(inputs, axis=self.axis)
        axes = list(self.axis)
        e = ops.exp(ops.subtract(inputs, ops.max(inputs, axis=axes, keepdims=True)))
        return ops.divide(e, ops.sum(e, axis=axes, keepdims=True))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
