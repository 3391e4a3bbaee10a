"""Conv1DTranspose, Conv2DTranspose, Conv3DTranspose: Keras 3's transposed convolutions.

Kernel (*kernel_size, filters, in_channels), bias (filters,). ``padding`` valid/same and
``output_padding`` give Keras's output sizes (``compute_output_shape``); the layer lowers to ONNX
ConvTranspose with explicit pads (keras.ops.conv_transpose) between the channels_last Transposes,
exactly as Conv2D lowers to Conv.
"""
from __future__ import annotations

from ... import activations, ops
from ...engine.input_spec import InputSpec
from ...ops.nn import conv_transpose_pads
from .base_conv import SpatialLayer


class BaseConvTranspose(SpatialLayer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters}.")
        self.filters = filters
        self._spatial_args(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias)
        self._weight_options(activity_regularizer, kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
                             bias=(bias_initializer, bias_regularizer, bias_constraint))
        self.output_padding = None if output_padding is None else _non_negative_tuple(output_padding, self.rank)
        if self.output_padding is not None:
            for i, (o, s) in enumerate(zip(self.output_padding, self.strides)):
                if o >= s:
                    raise ValueError(f"Invalid `output_padding` argument. Each value in `output_padding` must be "
                                     f"strictly less than the corresponding `strides` value. At index {i}, "
                                     f"`output_padding` is {o} and `strides` is {s}. Received: "
                                     f"output_padding={self.output_padding}, strides={self.strides}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}")

    def build(self, input_shape):
        cin = self._input_channels(input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, cin), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: cin})
        self.built = True

    def call(self, inputs):
        cf = self.data_format == "channels_first"
        x = inputs if cf else ops.to_channels_first(inputs)
        y = ops.conv_transpose(x, self.kernel, self.strides, self.padding, self.output_padding, "channels_first",
                               self.dilation_rate)
        return self._finish(y)

    def compute_output_shape(self, input_shape):
        """Keras's compute_conv_transpose_output_shape (None spatial sizes stay None)."""
        shape = list(input_shape)
        cf = self.data_format == "channels_first"
        spatial = shape[2:] if cf else shape[1:-1]
        ops_ = self.output_padding or (None,) * self.rank
        out = [conv_transpose_pads(n, k, s, d, self.padding, o)[3] for n, k, s, d, o in
               zip(spatial, self.kernel_size, self.strides, self.dilation_rate, ops_)]
        return tuple([shape[0], self.filters] + out) if cf else tuple([shape[0]] + out + [self.filters])

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "output_padding": self.output_padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **self._weight_config("kernel", "bias")}


def _non_negative_tuple(value, n):
    t = (value,) * n if isinstance(value, int) else tuple(value)
    if len(t) != n or not all(isinstance(v, int) and v >= 0 for v in t):
        raise ValueError(f"The `output_padding` argument must be a tuple of {n} non-negative integers. "
                         f"Received: output_padding={value}")
    return t


class Conv1DTranspose(BaseConvTranspose):
    """1-D transposed convolution; kernel (k, filters, in_channels)."""

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, **kwargs)


class Conv2DTranspose(BaseConvTranspose):
    """2-D transposed convolution; kernel (kh, kw, filters, in_channels)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, **kwargs)


class Conv3DTranspose(BaseConvTranspose):
    """3-D transposed convolution; kernel (kd, kh, kw, filters, in_channels)."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1, 1), activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, **kwargs)


Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
