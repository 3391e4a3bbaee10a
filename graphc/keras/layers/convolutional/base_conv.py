from __future__ import annotations

import numpy as np

from ... import activations, config, constraints, initializers, ops, regularizers
from ...engine.input_spec import InputSpec
from ...engine.layer import Layer, add_activity_penalty


def normalize_tuple(value, n, name):
    t = (value,) * n if isinstance(value, int) else tuple(value)
    if len(t) != n or not all(isinstance(v, int) and v > 0 for v in t):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} positive integers. Received: {name}={value}")
    return t


def check_padding(padding, allowed=("valid", "same")):
    p = padding.lower()
    if p not in allowed:
        raise ValueError(f"The `padding` argument must be one of {', '.join(repr(a) for a in allowed)}. "
                         f"Received: padding={padding}")
    return p


class SpatialLayer(Layer):
    """What every convolution layer shares: its spatial arguments, the options of each weight
    (initializer, regularizer, constraint) and the channel axis of its input."""

    rank = 2

    def _spatial_args(self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                      paddings=("valid", "same")):
        r = self.rank
        self.kernel_size = normalize_tuple(kernel_size, r, "kernel_size")
        self.strides = normalize_tuple(strides, r, "strides")
        self.dilation_rate = normalize_tuple(dilation_rate, r, "dilation_rate")
        self.padding = check_padding(padding, paddings)
        self.data_format = data_format or config.image_data_format()
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.input_spec = InputSpec(min_ndim=r + 2)

    def _weight_options(self, activity_regularizer, **weights):
        """weights: name -> (initializer, regularizer, constraint); sets ``<name>_initializer`` & co."""
        for name, (init, reg, con) in weights.items():
            setattr(self, f"{name}_initializer", initializers.get(init))
            setattr(self, f"{name}_regularizer", regularizers.get(reg))
            setattr(self, f"{name}_constraint", constraints.get(con))
        self.activity_regularizer = regularizers.get(activity_regularizer)

    def _weight_config(self, *names):
        """get_config entries of the weights ``names``: initializers, regularizers (then the activity
        regularizer), constraints, in Keras's order."""
        return {**{f"{n}_initializer": initializers.serialize(getattr(self, f"{n}_initializer")) for n in names},
                **{f"{n}_regularizer": regularizers.serialize(getattr(self, f"{n}_regularizer")) for n in names},
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                **{f"{n}_constraint": constraints.serialize(getattr(self, f"{n}_constraint")) for n in names}}

    def _finish(self, y):
        """bias, activation (in NCHW, before the layout transpose: fewer transposes to cancel), back to
        the layer's data format, activity penalty."""
        if self.bias is not None:
            y = ops.add(y, ops.reshape(self.bias, (self.bias.shape[0],) + (1,) * self.rank))
        y = self.activation(y)
        return add_activity_penalty(self, y if self.data_format == "channels_first" else ops.to_channels_last(y))

    @property
    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def _input_channels(self, input_shape, groups=1):
        cin = input_shape[self._channel_axis]
        if cin is None or cin % groups:
            raise ValueError(f"Layer {self.name!r}: input channels must be defined"
                             + (f" and divisible by groups={groups}" if groups > 1 else "")
                             + f". Received input_shape={tuple(input_shape)}")
        return cin


def causal_pad(x, n):
    """Zeros before the last axis of a channels_first tensor (causal padding of a 1-D conv)."""
    if n == 0:
        return x
    from ...ops.core import emit
    pads = [0] * (2 * x.ndim)  # every axis, no `axes` input (onnxruntime mishandles Pad's axes)
    pads[x.ndim - 1] = n
    return emit("Pad", [x, x.tracer.const(np.asarray(pads, dtype=np.int64))], mode="constant")


class BaseConv(SpatialLayer):
    """N-D convolution (``rank`` spatial axes). Kernel shape (*kernel_size, in // groups, filters)."""

    rank = 2
    paddings = ("valid", "same")  # Conv1D adds "causal"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.groups = groups
        self._spatial_args(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                           self.paddings)
        self._weight_options(activity_regularizer, kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
                             bias=(bias_initializer, bias_regularizer, bias_constraint))
        if filters is not None and (not isinstance(filters, int) or filters <= 0 or filters % groups):
            raise ValueError(f"Invalid value for argument `filters`. Expected a positive integer divisible by "
                             f"groups={groups}. Received: filters={filters}")

    def build(self, input_shape):
        cin = self._input_channels(input_shape, self.groups)
        self.kernel = self.add_weight(shape=self.kernel_size + (cin // self.groups, self.filters), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: cin})
        self.built = True

    def call(self, inputs):
        cf = self.data_format == "channels_first"
        x, padding = self._explicit_padding(inputs if cf else ops.to_channels_first(inputs))
        y = ops.conv(x, self.kernel, self.strides, padding, "channels_first", self.dilation_rate)
        return self._finish(y)

    def _explicit_padding(self, x):
        """(channels_first input, padding for ops.conv); Conv1D's "causal" pads here and convolves "valid"."""
        if self.padding == "causal":
            x = causal_pad(x, (self.kernel_size[0] - 1) * self.dilation_rate[0])
            return x, "valid"
        return x, self.padding

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **self._weight_config("kernel", "bias")}
