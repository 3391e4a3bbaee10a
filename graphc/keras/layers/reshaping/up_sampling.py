from __future__ import annotations

import numpy as np

from ... import config, ops
from ...engine.input_spec import InputSpec
from ...engine.layer import Layer
from ...ops.core import emit
from ..convolutional.base_conv import normalize_tuple
from .spatial import in_channels_first, int_const, spatial_axes

_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")


def repeat_spatial(x, axes, sizes):
    """Nearest-neighbour upsampling: each element of axis ``axes[i]`` repeated ``sizes[i]`` times.

    Reshape inserts a unit axis after each upsampled axis, Expand broadcasts it to the size, and Reshape
    merges the pairs (all three have gradients; Expand's sums the copies back)."""
    shape = list(x.shape)
    inserted, expand = [], []
    for a, d in enumerate(shape):
        inserted.append(d)
        expand.append(1)
        if a in axes:
            inserted.append(1)
            expand.append(sizes[axes.index(a)])
    out = [None if d is None else d * (sizes[axes.index(a)] if a in axes else 1) for a, d in enumerate(shape)]
    if None in shape[1:]:
        raise ValueError(f"UpSampling needs the non-batch axes of its input to be known, received shape "
                         f"{tuple(shape)}")
    y = ops.reshape(x, [None] + inserted[1:])
    y = emit("Expand", [y, int_const(y, expand)])
    return ops.reshape(y, [None] + out[1:])


class UpSampling1D(Layer):
    """Repeats each step ``size`` times: (batch, steps, features) -> (batch, steps * size, features)."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        return in_channels_first(inputs, "channels_last", lambda x: repeat_spatial(x, [2], [self.size]))

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class BaseUpSampling(Layer):
    rank = 2

    def __init__(self, size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or config.image_data_format()
        self.size = normalize_tuple(size, self.rank, "size")
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        axes = spatial_axes(self.rank, "channels_first")
        return in_channels_first(inputs, self.data_format, lambda x: repeat_spatial(x, axes, list(self.size)))

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class UpSampling2D(BaseUpSampling):
    """Upsampling of rows and columns by ``size``: "nearest" repeats, the other interpolations resize as
    Keras 3 does (``resize.resize_nchw``; "area" is not supported)."""

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, **kwargs)
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"`interpolation` argument should be one of: {_INTERPOLATIONS}. "
                             f"Received: interpolation={interpolation!r}")
        if interpolation == "area":
            raise NotImplementedError("UpSampling2D(interpolation='area') is not supported by graphc")
        self.interpolation = interpolation

    def call(self, inputs):
        if self.interpolation == "nearest":
            return super().call(inputs)
        from .resize import resize_nchw

        def fn(x):
            size = (x.shape[2] * self.size[0], x.shape[3] * self.size[1]) if None not in x.shape[2:] else None
            if size is None:
                raise ValueError(f"UpSampling2D needs the input's height and width to be known, received shape "
                                 f"{tuple(x.shape)}")
            return resize_nchw(x, size, self.interpolation, False, self.name)
        return in_channels_first(inputs, self.data_format, fn)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(BaseUpSampling):
    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)
