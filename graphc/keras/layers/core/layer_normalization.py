from __future__ import annotations

from ... import constraints, initializers, ops, regularizers
from ...engine.layer import Layer


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (mean 0, variance 1), then ``* gamma + beta``.

    Keras 3 formula: ``inv = rsqrt(var + epsilon) * gamma; y = x * inv + (beta - mean * inv)``;
    gamma/beta have shape ``[input_shape[a] for a in axis]``.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError("Expected an int or a list/tuple of ints for the argument 'axis', "
                            f"but received: {axis}")
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _axes(self, rank):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        return sorted(a % rank for a in axes)

    def build(self, input_shape):
        rank = len(input_shape)
        axes = self._axes(rank)
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(f"Layer {self.name!r}: the normalized axes {axes} of the input must be defined; "
                             f"received input shape {tuple(input_shape)}")
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) \
            if self.scale or self.rms_scaling else None
        self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint) \
            if self.center and not self.rms_scaling else None
        self.built = True

    def call(self, inputs):
        rank = inputs.ndim
        axes = self._axes(rank)

        def bcast(w):
            if w is None or axes == [rank - 1]:
                return w
            shape = [1] * rank
            for a in axes:
                shape[a] = inputs.shape[a]
            return ops.reshape(w, shape)

        gamma, beta = bcast(self.gamma), bcast(self.beta)
        if self.rms_scaling:  # Keras 3.15 (deprecated option): x / sqrt(var(x) + eps) * gamma, x not centered
            mean = ops.mean(inputs, axis=axes, keepdims=True)
            var = ops.mean(ops.square(ops.subtract(inputs, mean)), axis=axes, keepdims=True)
            inv = ops.divide(1.0, ops.sqrt(ops.add(var, float(self.epsilon))))
            return ops.multiply(ops.multiply(inputs, inv), gamma)
        mean = ops.mean(inputs, axis=axes, keepdims=True)
        centered = ops.subtract(inputs, mean)
        var = ops.mean(ops.square(centered), axis=axes, keepdims=True)
        inv = ops.divide(1.0, ops.sqrt(ops.add(var, float(self.epsilon))))
        if gamma is not None:
            inv = ops.multiply(inv, gamma)
        y = ops.multiply(centered, inv)
        return y if beta is None else ops.add(y, beta)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": self.rms_scaling,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}


class RMSNormalization(Layer):
    """Root-mean-square normalization (Keras 3): ``x * rsqrt(mean(x^2 over axis) + epsilon) * scale``."""

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon = axis, epsilon
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        axes = sorted(a % rank for a in (self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]))
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(f"Layer {self.name!r}: the normalized axes {axes} of input shape {tuple(input_shape)} "
                             "must be known")
        self._axes = axes
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")
        self.built = True

    def call(self, inputs):
        axes, rank = self._axes, len(inputs.shape)
        ms = ops.mean(ops.square(inputs), axis=axes, keepdims=True)
        y = ops.multiply(inputs, ops.divide(1.0, ops.sqrt(ops.add(ms, float(self.epsilon)))))
        scale = self.scale
        if axes != list(range(rank - len(axes), rank)):  # not the trailing axes: place scale on its axes
            shape = [1] * rank
            for a in axes:
                shape[a] = inputs.shape[a]
            scale = ops.reshape(scale, shape)
        return ops.multiply(y, scale)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
