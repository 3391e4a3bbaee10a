from __future__ import annotations

from ... import activations, ops
from ...engine.input_spec import InputSpec
from .base_conv import SpatialLayer


def depthwise_conv(x, kernel, strides, padding, dilation_rate):
    """Depthwise convolution of a channels_first ``x`` with a Keras kernel (*k, cin, depth_multiplier):
    one ONNX Conv with group=cin; output channel c * depth_multiplier + m (Keras's order)."""
    *k, cin, dm = kernel.shape
    w = ops.reshape(kernel, tuple(k) + (1, cin * dm))
    return ops.conv(x, w, strides, padding, "channels_first", dilation_rate)


class BaseDepthwiseConv(SpatialLayer):
    """N-D depthwise convolution: kernel (*kernel_size, in_channels, depth_multiplier), bias
    (in_channels * depth_multiplier,)."""

    rank = 2

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(depth_multiplier, int) or depth_multiplier <= 0:
            raise ValueError(f"Invalid value for argument `depth_multiplier`. Expected a strictly positive "
                             f"value. Received depth_multiplier={depth_multiplier}.")
        self.depth_multiplier = depth_multiplier
        self._spatial_args(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias)
        self._weight_options(activity_regularizer,
                             depthwise=(depthwise_initializer, depthwise_regularizer, depthwise_constraint),
                             bias=(bias_initializer, bias_regularizer, bias_constraint))

    def build(self, input_shape):
        cin = self._input_channels(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (cin, self.depth_multiplier), name="kernel",
                                      initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint)
        self.bias = self.add_weight(shape=(cin * self.depth_multiplier,), name="bias",
                                    initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: cin})
        self.built = True

    def call(self, inputs):
        cf = self.data_format == "channels_first"
        x = inputs if cf else ops.to_channels_first(inputs)
        y = depthwise_conv(x, self.kernel, self.strides, self.padding, self.dilation_rate)
        return self._finish(y)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                **self._weight_config("depthwise", "bias")}
