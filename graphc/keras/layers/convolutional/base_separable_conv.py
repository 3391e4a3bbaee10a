from __future__ import annotations

from ... import activations, ops
from ...engine.input_spec import InputSpec
from .base_conv import SpatialLayer
from .base_depthwise_conv import depthwise_conv


class BaseSeparableConv(SpatialLayer):
    """Depthwise convolution (strides, padding, dilation) then a 1x..x1 pointwise convolution to ``filters``:
    depthwise_kernel (*kernel_size, in, depth_multiplier), pointwise_kernel (1, ..., in * depth_multiplier,
    filters), bias (filters,)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters}.")
        if not isinstance(depth_multiplier, int) or depth_multiplier <= 0:
            raise ValueError(f"Invalid value for argument `depth_multiplier`. Expected a strictly positive "
                             f"value. Received depth_multiplier={depth_multiplier}.")
        self.depth_multiplier = depth_multiplier
        self.filters = filters
        self._spatial_args(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias)
        self._weight_options(activity_regularizer,
                             depthwise=(depthwise_initializer, depthwise_regularizer, depthwise_constraint),
                             pointwise=(pointwise_initializer, pointwise_regularizer, pointwise_constraint),
                             bias=(bias_initializer, bias_regularizer, bias_constraint))

    def build(self, input_shape):
        cin = self._input_channels(input_shape)
        dm = self.depth_multiplier
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (cin, dm), name="depthwise_kernel", initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (cin * dm, self.filters), name="pointwise_kernel",
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: cin})
        self.built = True

    def call(self, inputs):
        cf = self.data_format == "channels_first"
        x = inputs if cf else ops.to_channels_first(inputs)
        y = depthwise_conv(x, self.depthwise_kernel, self.strides, self.padding, self.dilation_rate)
        y = ops.conv(y, self.pointwise_kernel, 1, "valid", "channels_first", 1)
        return self._finish(y)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **self._weight_config("depthwise", "pointwise", "bias")}
