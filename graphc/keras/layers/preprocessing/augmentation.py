"""Keras 3's data-augmentation layers: identities at inference (``predict``, ``evaluate``), random
transforms while training. RandomFlip trains here (a per-image coin from ``graphc.RandomDropout``
chooses between the image and its mirror); the geometric and colour transforms of the others need
random warps or per-image uniform factors that graphc's random ops do not draw, so training through
them raises a clear error instead of silently training without augmentation."""
from __future__ import annotations

import numpy as np

from ....errors import UnsupportedOpError
from ... import config, ops
from ...engine.layer import Layer


class _Augmentation(Layer):
    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.data_format = data_format or config.image_data_format()
        from ... import utils
        self._seed = int(seed) if seed is not None else utils.make_default_seed()
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=True):
        if not training:
            return inputs
        return self._augment(inputs)

    def _augment(self, x):
        raise UnsupportedOpError(f"Layer {self.name!r} ({type(self).__name__}): training through this augmentation "
                                 "is not supported by graphc (it needs random image warps / per-image random "
                                 "factors); it is the identity at inference, as in Keras. Apply the augmentation "
                                 "to the data before fit, or leave the layer out of the trained model")

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "seed": self.seed}


class RandomFlip(_Augmentation):
    """Flips each image horizontally and/or vertically with probability 1/2 while training."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument {mode}")
        self.mode = mode

    def _augment(self, x):
        from ...engine.trace import current
        from ...ops.core import emit
        tracer = current()
        counter = tracer.step_counter if tracer.step_counter is not None else tracer.const(np.int64(0))
        rank = len(x.shape)
        h_axis, w_axis = (rank - 3, rank - 2) if self.data_format == "channels_last" else (rank - 2, rank - 1)
        axes = ([w_axis] if "horizontal" in self.mode else []) + ([h_axis] if "vertical" in self.mode else [])
        # one 0/1 coin per image (the batch axis; all other axes share it)
        one = ops.add(ops.multiply(ops.get_item(x, (slice(None),) + (slice(0, 1),) * (rank - 1)), 0.0), 1.0)
        for k, axis in enumerate(axes):
            _, coin = emit("RandomDropout", [one, counter], n_out=2, domain="graphc", rate=0.5,
                           seed=self._seed + 7919 * k, noise_shape=None)
            flipped = ops.get_item(x, tuple(slice(None, None, -1) if a == axis else slice(None) for a in range(rank)))
            x = ops.add(ops.multiply(coin, flipped), ops.multiply(ops.subtract(1.0, coin), x))
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def _factor_pair(factor, name):
    if isinstance(factor, (tuple, list)):
        return tuple(factor)
    return (-factor, factor)


class RandomRotation(_Augmentation):
    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair(factor, "factor")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "interpolation": self.interpolation}


class _FactorAugmentation(_Augmentation):
    """RandomZoom / RandomTranslation: height and width factors, fill mode and interpolation."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor,
                "fill_mode": self.fill_mode, "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomZoom(_FactorAugmentation):
    pass


class RandomTranslation(_FactorAugmentation):
    def __init__(self, height_factor, width_factor, *args, **kwargs):  # both factors required, as in Keras
        super().__init__(height_factor, width_factor, *args, **kwargs)


class RandomContrast(_Augmentation):
    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = tuple(factor) if isinstance(factor, (tuple, list)) else (0, factor)
        self.value_range = tuple(value_range)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomBrightness(_Augmentation):
    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_pair(factor, "factor")
        self.value_range = list(value_range)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}
