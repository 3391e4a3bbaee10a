"""Rescaling, Resizing and CenterCrop (Keras 3's arguments, configs and numbers)."""
from __future__ import annotations

import numpy as np

from ....errors import UnsupportedOpError
from ... import config, ops
from ...engine.layer import Layer
from ..reshaping.resize import INTERPOLATIONS, resize_nchw
from ..reshaping.spatial import in_channels_first


class Rescaling(Layer):
    """``x * scale + offset`` (scale/offset scalars or per-channel lists), e.g. Rescaling(1. / 255)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        x = ops.cast(inputs, self.dtype) if "float" not in inputs.dtype else inputs
        scale = np.asarray(self.scale, dtype=x.dtype)
        offset = np.asarray(self.offset, dtype=x.dtype)
        # a per-channel list broadcasts over the last axis, as Keras reshapes it to (1, ..., C)
        return ops.add(ops.multiply(x, scale), offset)

    def get_config(self):
        def plain(v):
            return v.tolist() if isinstance(v, np.ndarray) else v
        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}


def _crop_box(height, width, target_h, target_w):
    """Keras's crop_to_aspect_ratio box: (top, left, crop height, crop width)."""
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def _crop_nchw(x, top, left, h, w):
    t = x.tracer
    from ...ops.core import emit
    return emit("Slice", [x, t.const(np.array([top, left], np.int64)), t.const(np.array([top + h, left + w], np.int64)),
                          t.const(np.array([2, 3], np.int64))])


class Resizing(Layer):
    """Resizes images to (height, width) with ``interpolation`` (Keras 3 / jax.image.resize numbers)."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"`interpolation` argument should be one of {INTERPOLATIONS}. Received: "
                             f"interpolation={interpolation!r}")
        if pad_to_aspect_ratio and crop_to_aspect_ratio:
            raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be True.")
        if pad_to_aspect_ratio:
            raise UnsupportedOpError(f"Layer {self.name!r}: Resizing(pad_to_aspect_ratio=True) is not supported by "
                                     "graphc")
        if fill_mode != "constant":
            raise ValueError(f"Invalid value for argument `fill_mode`. Only `'constant'` is supported. Received: "
                             f"fill_mode={fill_mode}")
        self.height, self.width = int(height), int(width)
        self.interpolation, self.antialias = interpolation, bool(antialias)
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = bool(crop_to_aspect_ratio), bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value = fill_mode, fill_value
        self.data_format = data_format or config.image_data_format()
        self.built = True

    def call(self, inputs):
        x = ops.cast(inputs, self.dtype) if "float" not in inputs.dtype else inputs

        def fn(x):
            if self.crop_to_aspect_ratio:
                x = _crop_nchw(x, *_crop_box(x.shape[2], x.shape[3], self.height, self.width))
            return resize_nchw(x, (self.height, self.width), self.interpolation, self.antialias, self.name)
        return in_channels_first(x, self.data_format, fn)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(Layer):
    """The central (height, width) window; a smaller input is resized up to it first (as Keras)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)
        self.data_format = data_format or config.image_data_format()
        self.built = True

    def call(self, inputs):
        x = ops.cast(inputs, self.dtype) if "float" not in inputs.dtype else inputs

        def fn(x):
            h, w = x.shape[2], x.shape[3]
            if h is None or w is None:
                raise UnsupportedOpError(f"Layer {self.name!r}: CenterCrop needs a known height and width, received "
                                         f"shape {tuple(x.shape)}")
            if h < self.height or w < self.width:  # Keras: crop to the aspect ratio, then resize (bilinear)
                x = _crop_nchw(x, *_crop_box(h, w, self.height, self.width))
                return resize_nchw(x, (self.height, self.width), "bilinear", False, self.name)
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return _crop_nchw(x, top, left, self.height, self.width)
        return in_channels_first(x, self.data_format, fn)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "height": self.height, "width": self.width}
