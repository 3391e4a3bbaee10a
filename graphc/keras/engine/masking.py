"""Keras masks in traced graphs: a mask rides on the tensor it describes, as ``_keras_mask``.

Keras 3 attaches a boolean mask of shape ``x.shape[:-1]`` to a tensor (``backend.set_keras_mask``)
and ``Layer.__call__`` passes the first argument's mask to ``call(..., mask=)`` and sets
``compute_mask(inputs, previous_mask)`` on the outputs when the layer ``supports_masking``.
graphc does the same on the SymbolicValues of a trace; a traced mask is a *float* tensor
(1.0 = keep, 0.0 = masked, in the layer's dtype), which is what the recurrent ops take and what
arithmetic on masks needs (and = Mul, or = Max). On KerasTensors the mask is a KerasTensor of
dtype bool and shape ``x.shape[:-1]`` (shape information only).
"""
from __future__ import annotations

import numpy as np

from .node import flatten, map_structure


def get_mask(x):
    return getattr(x, "_keras_mask", None)


def set_mask(x, mask):
    try:
        x._keras_mask = mask
    except AttributeError:  # plain Python values cannot carry a mask
        pass


def float_mask(mask, dtype="float32"):
    """A mask given by the user (bool / int / float array or SymbolicValue) as a float SymbolicValue."""
    from .. import ops
    from .trace import SymbolicValue
    if mask is None:
        return None
    if isinstance(mask, SymbolicValue):
        return ops.cast(mask, dtype) if mask.dtype != dtype else mask
    return ops.convert_to_tensor(np.asarray(mask).astype(dtype))


def mask_and(a, b):
    from .. import ops
    if a is None:
        return b
    if b is None:
        return a
    return ops.multiply(a, b)


def mask_or(masks):
    """Logical OR of float masks (None when any is None, as Keras's merge layers)."""
    from .. import ops
    if not masks or any(m is None for m in masks):
        return None
    out = masks[0]
    for m in masks[1:]:
        out = ops.maximum(out, m)
    return out


def any_mask(structure):
    return any(m is not None for m in flatten(map_structure(get_mask, structure)))
