"""Normalization: (x - mean) / max(sqrt(variance), epsilon) per kept axis, with ``adapt(data)`` (Keras 3)."""
from __future__ import annotations

import numpy as np

from ... import config, ops
from ...engine.layer import Layer


class Normalization(Layer):
    """Feature-wise standardization. ``axis`` are the axes that keep their own statistics (default the
    last; None: one mean and variance for everything). The statistics come from ``mean``/``variance``
    (constants, no weights) or from ``adapt(data)`` into the non-trainable weights ``mean``,
    ``variance`` and ``count`` (int32), as Keras 3 stores them. ``invert=True`` undoes it."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        axis = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. "
                             f"Received: mean={mean} and variance={variance}")
        self.input_mean, self.input_variance, self.invert = mean, variance, bool(invert)
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                             f"ndim={ndim}, while axis={self.axis}")
        keep = tuple(sorted(a % ndim for a in self.axis))
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. Received axis={self.axis}, "
                                 f"inputs.shape={tuple(input_shape)}, with unknown axis at index {d}")
        self._keep_axis = keep
        self._reduce_axis = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast_shape = [input_shape[d] if d in keep else 1 for d in range(ndim)]
        shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=shape, initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=shape, initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int32", initializer="zeros",
                                         trainable=False)
        else:
            self._const_mean = self._broadcast(self.input_mean)
            self._const_variance = self._broadcast(self.input_variance)
        self.built = True

    def _broadcast(self, value):
        """A user-given mean/variance placed on the kept axes (right to left, as Keras) and broadcast."""
        v = np.asarray(value, dtype=self.dtype)
        expanded = [1] * len(self._broadcast_shape)
        for i in range(1, v.ndim + 1):
            expanded[self._keep_axis[-i]] = v.shape[-i]
        return np.broadcast_to(v.reshape(expanded), self._broadcast_shape).astype(self.dtype)

    def adapt(self, data):
        """Mean and variance of ``data`` (an array, or an iterable of batches) over the reduced axes."""
        if hasattr(data, "shape"):
            batches = [np.asarray(data)]
        else:
            arr = np.asarray(data) if isinstance(data, (list, tuple)) else None
            batches = [arr] if arr is not None and arr.dtype != object else [np.asarray(b) for b in data]
        if not self.built:
            self._maybe_build((None,) + batches[0].shape[1:])
        if self.input_mean is not None:  # Keras refuses too
            raise ValueError(f"Cannot `adapt` a Normalization layer that is initialized with static `mean` and "
                             f"`variance`, you passed mean {self.input_mean} and variance {self.input_variance}.")
        x = np.concatenate([b.astype(np.float64) for b in batches], axis=0)
        self.adapt_mean.assign(x.mean(axis=self._reduce_axis).astype(self.dtype))
        self.adapt_variance.assign(x.var(axis=self._reduce_axis).astype(self.dtype))
        self.count.assign(np.asarray(int(np.prod([x.shape[a] for a in self._reduce_axis])), dtype="int32"))

    def call(self, inputs):
        x = ops.cast(inputs, self.dtype) if inputs.dtype != self.dtype else inputs
        if self.input_mean is None:
            mean = ops.reshape(ops.convert_to_tensor(self.adapt_mean), self._broadcast_shape)
            var = ops.reshape(ops.convert_to_tensor(self.adapt_variance), self._broadcast_shape)
        else:
            mean, var = self._const_mean, self._const_variance
        std = ops.maximum(ops.sqrt(var), float(config.epsilon()))
        if self.invert:
            return ops.add(mean, ops.multiply(x, std))
        return ops.divide(ops.subtract(x, mean), std)

    def get_config(self):
        def plain(v):
            return np.asarray(v).tolist() if v is not None and not isinstance(v, (int, float)) else v
        return {**super().get_config(), "axis": self.axis, "invert": self.invert, "mean": plain(self.input_mean),
                "variance": plain(self.input_variance)}
