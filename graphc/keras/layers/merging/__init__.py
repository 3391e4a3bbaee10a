"""Merge layers (Add, Concatenate, Multiply, ...) and their functional forms."""
from __future__ import annotations

import numpy as np

from ... import ops
from ...engine.layer import Layer
from ...engine.masking import mask_or


class Merge(Layer):
    """Base of elementwise merges: inputs are a list of tensors of broadcast-compatible shapes.

    The output mask is the OR of the inputs' masks (None if any input is unmasked), as Keras's
    base Merge.compute_mask; masked values themselves are merged as they are.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        return mask_or(list(mask))

    def _merge(self, a, b):
        raise NotImplementedError

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: input_shape={input_shape}")
        if len(input_shape) < 1:
            raise ValueError(f"A merge layer should be called on a list of at least 1 input. Got {len(input_shape)} inputs.")
        self.built = True

    def call(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return out


class Add(Merge):
    def _merge(self, a, b):
        return ops.add(a, b)


class Subtract(Merge):
    def _merge(self, a, b):
        return ops.subtract(a, b)


class Multiply(Merge):
    def _merge(self, a, b):
        return ops.multiply(a, b)


class Maximum(Merge):
    def _merge(self, a, b):
        return ops.maximum(a, b)


class Minimum(Merge):
    def _merge(self, a, b):
        return ops.minimum(a, b)


class Average(Merge):
    _merge = Add._merge

    def call(self, inputs):
        return ops.divide(super().call(inputs), float(len(inputs)))


class Concatenate(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """Keras: masks (ones for unmasked inputs) broadcast to the inputs, concatenated, any() over the
        last axis."""
        if mask is None or all(m is None for m in mask):
            return None
        rank = inputs[0].ndim
        axis = self.axis % rank
        if axis == rank - 1:  # every position of a step concatenates: OR of the step masks
            return None if any(m is None for m in mask) else mask_or(list(mask))
        from ...ops.core import emit
        parts = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = emit("ExpandAs", [np.ones((1,) * (rank - 1), x.dtype), ops.max(x, axis=-1)], domain="graphc")
            parts.append(m)
        return ops.concatenate(parts, axis=axis)

    def call(self, inputs):
        return ops.concatenate(list(inputs), axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def add(inputs, **kwargs): return Add(**kwargs)(inputs)
def subtract(inputs, **kwargs): return Subtract(**kwargs)(inputs)
def multiply(inputs, **kwargs): return Multiply(**kwargs)(inputs)
def maximum(inputs, **kwargs): return Maximum(**kwargs)(inputs)
def minimum(inputs, **kwargs): return Minimum(**kwargs)(inputs)
def average(inputs, **kwargs): return Average(**kwargs)(inputs)
def concatenate(inputs, axis=-1, **kwargs): return Concatenate(axis=axis, **kwargs)(inputs)


# --- Dot ------------------------------------------------------------------------------------
def _l2_normalize(x, axis):
    sq = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.divide(x, ops.sqrt(ops.maximum(sq, 1e-12)))


class Dot(Layer):
    """Dot product of two samples-wise tensors along ``axes`` (Keras's batch_dot); with
    ``normalize=True`` the inputs are L2-normalized along those axes first (cosine proximity).
    Inputs of rank 2 or 3 (batch included)."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)) or len(axes) != 2 or not all(isinstance(a, int) for a in axes):
                raise TypeError("Invalid type for argument `axes`: it should be a list/tuple of 2 ints or an int. "
                                f"Received: axes={axes}")
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = True

    def _resolved_axes(self, shapes):
        axes = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        return [a % len(s) if a < 0 else a for a, s in zip(axes, shapes)]

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or \
                not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. Received: input_shape={input_shape}")
        s1, s2 = input_shape
        a1, a2 = self._resolved_axes(input_shape)
        for s in (s1, s2):
            if len(s) not in (2, 3):
                raise ValueError(f"Layer {self.name!r}: graphc's Dot supports inputs of rank 2 or 3; received "
                                 f"shapes {tuple(s1)} and {tuple(s2)}")
        if a1 == 0 or a2 == 0:
            raise ValueError(f"Layer {self.name!r}: Dot cannot contract the batch axis (axes={self.axes})")
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(f"Incompatible input shapes: axis values {s1[a1]} (at axis {a1}) != {s2[a2]} "
                             f"(at axis {a2}). Full input shapes: {tuple(s1)}, {tuple(s2)}")
        self.built = True

    def call(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"A `Dot` layer should be called on exactly 2 inputs. Received: inputs={inputs}")
        x, y = inputs
        a1, a2 = self._resolved_axes([x.shape, y.shape])
        if self.normalize:
            x, y = _l2_normalize(x, a1), _l2_normalize(y, a2)
        if x.ndim == 2 and y.ndim == 2:
            return ops.sum(ops.multiply(x, y), axis=1, keepdims=True)
        # x -> (N, P, K) with the contracted axis last; y -> (N, K, Q) with it first
        squeeze = []
        if x.ndim == 2:
            x, squeeze = ops.expand_dims(x, 1), squeeze + [1]
        elif a1 == 1:
            x = ops.transpose(x, (0, 2, 1))
        if y.ndim == 2:
            y, squeeze = ops.expand_dims(y, 2), squeeze + [2]
        elif a2 == 2:
            y = ops.transpose(y, (0, 2, 1))
        out = ops.matmul(x, y)
        return ops.squeeze(out, axis=squeeze) if squeeze else out

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def dot(inputs, axes=-1, **kwargs): return Dot(axes=axes, **kwargs)(inputs)
