from __future__ import annotations

from ... import ops
from ...engine.layer import Layer


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm along ``axis``: ``x * rsqrt(max(sum(x^2), 1e-12))``, as Keras."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, (int, list, tuple)):
            raise TypeError(f"Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                            f"Received: axis={axis}")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.supports_masking = True

    def call(self, inputs):
        sq = ops.sum(ops.square(inputs), axis=self.axis, keepdims=True)
        return ops.multiply(inputs, ops.rsqrt(ops.maximum(sq, 1e-12)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
