from __future__ import annotations

import numpy as np

from ... import ops
from ...engine.input_spec import InputSpec
from ...engine.layer import Layer


class Flatten(Layer):
    """Flattens all axes but the batch (in channels_last order, as Keras)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        from ... import config
        self.data_format = data_format or config.image_data_format()
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = ops.transpose(x, [0] + list(range(2, x.ndim)) + [1])
        rest = x.shape[1:]
        if None in rest:
            return ops.reshape(x, (None, -1))
        return ops.reshape(x, (None, int(np.prod(rest))))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
