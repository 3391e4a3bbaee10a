"""Helpers shared by ZeroPadding, Cropping and UpSampling: Keras's argument normalization and the
spatial axes of a data_format."""
from __future__ import annotations

import numpy as np

from ... import ops


def pair(value, what):
    """int -> (v, v); a pair of non-negative ints -> itself (Keras's standardize_tuple(allow_zero=True))."""
    t = (value, value) if isinstance(value, int) else tuple(value) if hasattr(value, "__len__") else None
    if t is None or len(t) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 0 for v in t):
        raise ValueError(f"The `{what}` argument must be a tuple of 2 non-negative integers. Received: {value}")
    return tuple(int(v) for v in t)


def pairs(value, rank, what):
    """Keras's 2-D/3-D padding/cropping argument: an int (same on every axis), ``rank`` ints (symmetric per
    axis) or ``rank`` pairs ((before, after) per axis) -> a tuple of ``rank`` pairs."""
    if isinstance(value, (int, np.integer)):
        if value < 0:
            raise ValueError(f"`{what}` cannot be negative. Received: {what}={value}.")
        return ((int(value), int(value)),) * rank
    if not hasattr(value, "__len__") or len(value) != rank:
        raise ValueError(f"`{what}` should be an int, a tuple of {rank} ints or a tuple of {rank} tuples of 2 ints. "
                         f"Received: {what}={value}.")
    return tuple(pair(v, f"entry {i + 1} of {what}") for i, v in enumerate(value))


def spatial_axes(rank, data_format, ndim=None):
    """Axes of the ``rank`` spatial dims of a (batch, ..., channels) or (batch, channels, ...) tensor."""
    first = 2 if data_format == "channels_first" else 1
    return list(range(first, first + rank))


def int_const(x, values):
    return x.tracer.const(np.asarray(values, dtype=np.int64))


def in_channels_first(x, data_format, fn):
    """``fn`` applied to ``x`` in the IR's NCHW layout: a channels_last tensor is transposed there and back,
    so the layout pass cancels these Transposes against those of neighbouring conv/pool layers."""
    if data_format == "channels_first":
        return fn(x)
    return ops.to_channels_last(fn(ops.to_channels_first(x)))
