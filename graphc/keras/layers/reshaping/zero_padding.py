from __future__ import annotations

from ... import config
from ...engine.input_spec import InputSpec
from ...engine.layer import Layer
from ...ops.core import emit
from .spatial import in_channels_first, int_const, pair, pairs, spatial_axes


class BaseZeroPadding(Layer):
    """Zeros before and after each spatial axis (ONNX Pad, mode constant, on the spatial axes only)."""

    rank = 2

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or config.image_data_format()
        self.padding = pair(padding, "padding") if self.rank == 1 else pairs(padding, self.rank, "padding")
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _pairs(self):
        return (self.padding,) if self.rank == 1 else self.padding

    def call(self, inputs):
        return in_channels_first(inputs, self.data_format, self._pad)

    def _pad(self, x):
        # pads for every axis, no `axes` input: onnxruntime's transpose optimizer mishandles Pad's axes
        begin, end = [0] * x.ndim, [0] * x.ndim
        for a, (p0, p1) in zip(spatial_axes(self.rank, "channels_first"), self._pairs()):
            begin[a], end[a] = p0, p1
        return emit("Pad", [x, int_const(x, begin + end)], mode="constant")

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding1D(BaseZeroPadding):
    """padding: int (both ends) or (before, after); config stores the pair."""

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(BaseZeroPadding):
    """padding: int, (symmetric_height, symmetric_width) or ((top, bottom), (left, right))."""

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(BaseZeroPadding):
    """padding: int, 3 symmetric ints or 3 (before, after) pairs."""

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)
