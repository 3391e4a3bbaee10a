"""Regularization layers besides Dropout: SpatialDropout1D/2D/3D, AlphaDropout, GaussianNoise,
GaussianDropout, ActivityRegularization (Keras 3's arguments, configs and formulas).

All are identities at inference. In training, the spatial and alpha dropouts draw their keep mask
with ``graphc.RandomDropout`` (a fresh mask every step); ActivityRegularization adds its L1/L2
penalty to the loss. GaussianNoise and GaussianDropout need normal noise, which graphc's random
ops do not draw: training through them raises a clear error rather than training silently
without noise.
"""
from __future__ import annotations

import numpy as np

from ....errors import UnsupportedOpError
from ... import ops, regularizers
from ...engine.input_spec import InputSpec
from ...engine.layer import Layer, add_activity_penalty
from .dropout import Dropout


def _check_rate(rate):
    if not 0 <= rate <= 1:
        raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                         f"Received: rate={rate}")


class _SpatialDropout(Dropout):
    rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None, data_format=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        from ... import config
        self.data_format = data_format or config.image_data_format()
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs, training=False):
        ones = [1] * self.rank
        self.noise_shape = (None, *ones, None) if self.data_format == "channels_last" else (None, None, *ones)
        return super().call(inputs, training=training)

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}


class SpatialDropout1D(_SpatialDropout):
    """Drops whole feature channels of (batch, steps, channels) inputs."""
    rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, data_format="channels_last")


class SpatialDropout2D(_SpatialDropout):
    rank = 2

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout3D(_SpatialDropout):
    rank = 3

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class AlphaDropout(Layer):
    """Dropout that keeps the mean and variance of SELU activations: dropped entries become
    -alpha*scale, then ``a * x + b`` restores the moments (Keras 3's formula)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(rate)
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        from ... import utils
        self._seed = int(seed) if seed is not None else utils.make_default_seed()
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        from ...engine.trace import current
        from ...ops.core import emit
        tracer = current()
        counter = tracer.step_counter if tracer.step_counter is not None else tracer.const(np.int64(0))
        noise = None if self.noise_shape is None else [-1 if d is None else int(d) for d in self.noise_shape]
        rate = min(float(self.rate), 1.0 - 1e-7)
        _, keep = emit("RandomDropout", [inputs, counter], n_out=2, domain="graphc", rate=rate, seed=self._seed,
                       noise_shape=noise)
        alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = ops.add(ops.multiply(inputs, keep), ops.multiply(ops.subtract(1.0, keep), alpha_p))
        return ops.add(ops.multiply(x, a), b)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class _NormalNoise(Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.supports_masking = True

    def _active(self, training):
        return bool(training)

    def call(self, inputs, training=False):
        if self._active(training):
            raise UnsupportedOpError(f"Layer {self.name!r} ({type(self).__name__}): training needs Gaussian noise, "
                                     "which graphc's random ops do not draw (inference is the identity, as in Keras)")
        return inputs


class GaussianNoise(_NormalNoise):
    """Adds N(0, stddev) noise in training; the identity at inference."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0 <= stddev <= 1:
            raise ValueError(f"Invalid value received for argument `stddev`. Expected a float value between 0 and 1. "
                             f"Received: stddev={stddev}")
        self.stddev = stddev

    def _active(self, training):
        return bool(training) and self.stddev > 0

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_NormalNoise):
    """Multiplies by N(1, rate / (1 - rate)) noise in training; the identity at inference."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        _check_rate(rate)
        self.rate = rate

    def _active(self, training):
        return bool(training) and 0 < self.rate < 1

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum|x| + l2 * sum x^2`` (per sample, averaged) to the training loss."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(**kwargs)
        self.l1, self.l2 = l1, l2
        self.activity_regularizer = regularizers.L1L2(l1=l1, l2=l2)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return add_activity_penalty(self, inputs)

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


class Identity(Layer):
    """Returns its input unchanged."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs
