from .base_conv import BaseConv


class Conv3D(BaseConv):
    """3-D convolution; kernel (kd, kh, kw, in_channels // groups, filters); channels_last by default."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1, 1), groups=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias, **kwargs)


Convolution3D = Conv3D
