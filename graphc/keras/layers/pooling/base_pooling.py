from __future__ import annotations

from ... import config, ops
from ...engine.input_spec import InputSpec
from ...engine.layer import Layer
from ..convolutional.base_conv import normalize_tuple


class BasePooling(Layer):
    rank = 2
    pool_mode = "max"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, self.rank, "strides")
        self.padding = padding.lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: padding={padding}")
        self.data_format = data_format or config.image_data_format()
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        fn = ops.max_pool if self.pool_mode == "max" else ops.average_pool
        return fn(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class BaseGlobalPooling(Layer):
    rank = 2
    pool_mode = "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or config.image_data_format()
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        axes = list(range(2, self.rank + 2)) if self.data_format == "channels_first" else list(range(1, self.rank + 1))
        fn = ops.max if self.pool_mode == "max" else ops.mean
        return fn(inputs, axis=axes, keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}
