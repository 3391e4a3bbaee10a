from __future__ import annotations

from ... import ops
from ...engine.layer import Layer


class LeakyReLU(Layer):
    """Leaky ReLU layer; Keras 3's default ``negative_slope`` is 0.3 (``alpha`` is the Keras 2 name)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or negative, "
                             f"Received: negative_slope={negative_slope}")
        self.negative_slope = float(negative_slope)
        self.supports_masking = True

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}
