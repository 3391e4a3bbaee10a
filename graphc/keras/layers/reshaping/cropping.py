from __future__ import annotations

from ... import config
from ...engine.input_spec import InputSpec
from ...engine.layer import Layer
from ...ops.core import emit
from .spatial import in_channels_first, int_const, pair, pairs, spatial_axes

_END = 2 ** 62  # "to the end" for ONNX Slice


class BaseCropping(Layer):
    """Drops rows before and after each spatial axis (ONNX Slice on the spatial axes only)."""

    rank = 2

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or config.image_data_format()
        self.cropping = pair(cropping, "cropping") if self.rank == 1 else pairs(cropping, self.rank, "cropping")
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _pairs(self):
        return (self.cropping,) if self.rank == 1 else self.cropping

    def call(self, inputs):
        for a, (c0, c1) in zip(spatial_axes(self.rank, self.data_format), self._pairs()):
            d = inputs.shape[a]
            if d is not None and c0 + c1 >= d:
                raise ValueError(f"Layer {self.name!r}: values in `cropping` argument should be smaller than the "
                                 f"corresponding spatial dimension of the input. Received: "
                                 f"inputs.shape={tuple(inputs.shape)}, cropping={self.cropping}")
        return in_channels_first(inputs, self.data_format, self._crop)

    def _crop(self, x):
        crops = self._pairs()
        return emit("Slice", [x, int_const(x, [c0 for c0, _ in crops]),
                              int_const(x, [-c1 if c1 else _END for _, c1 in crops]),
                              int_const(x, spatial_axes(self.rank, "channels_first"))])

    def get_config(self):
        cfg = {**super().get_config(), "cropping": self.cropping}
        if self.rank > 1:
            cfg["data_format"] = self.data_format
        return cfg


class Cropping1D(BaseCropping):
    """cropping: int (both ends) or (start, end) steps to drop; input (batch, steps, features)."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, "channels_last", **kwargs)


class Cropping2D(BaseCropping):
    """cropping: int, (symmetric_height, symmetric_width) or ((top, bottom), (left, right))."""

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(BaseCropping):
    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
