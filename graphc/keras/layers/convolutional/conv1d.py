from .base_conv import BaseConv


class Conv1D(BaseConv):
    """1-D convolution; kernel (k, in_channels // groups, filters). padding "causal" pads (k - 1) * dilation
    zeros at the start of the steps and convolves "valid" (output[t] sees only inputs up to t)."""

    rank = 1
    paddings = ("valid", "same", "causal")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias, **kwargs)


Convolution1D = Conv1D
