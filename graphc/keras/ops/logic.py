"""Comparisons, logical functions and ``where`` of ``keras.ops``; results are bool as in Keras.

In eager mode the array arguments are computed in the float dtype like every ``keras.ops`` function
(see dispatch.py): bool arrays become 0/1 and are cast back to bool (nonzero is True), integer arrays
compare as floats (exact up to 2**24 in float32).
"""
from __future__ import annotations

from .core import cast, convert_to_tensor, emit
from .dispatch import keras_op

__all__ = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
           "logical_not", "where"]


def _bool(x):
    from ..engine.trace import SymbolicValue
    return cast(x, "bool") if isinstance(x, SymbolicValue) else x


@keras_op("x1", "x2")
def equal(x1, x2): return emit("Equal", [x1, x2])
@keras_op("x1", "x2")
def not_equal(x1, x2): return emit("Not", [emit("Equal", [x1, x2])])
@keras_op("x1", "x2")
def less(x1, x2): return emit("Less", [x1, x2])
@keras_op("x1", "x2")
def less_equal(x1, x2): return emit("LessOrEqual", [x1, x2])
@keras_op("x1", "x2")
def greater(x1, x2): return emit("Greater", [x1, x2])
@keras_op("x1", "x2")
def greater_equal(x1, x2): return emit("GreaterOrEqual", [x1, x2])
@keras_op("x1", "x2")
def logical_and(x1, x2): return emit("And", [_bool(x1), _bool(x2)])
@keras_op("x1", "x2")
def logical_or(x1, x2): return emit("Or", [_bool(x1), _bool(x2)])
@keras_op("x")
def logical_not(x): return emit("Not", [_bool(x)])


@keras_op("condition", "x1", "x2")
def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2`` (both required: graphc has no nonzero())."""
    if x1 is None or x2 is None:
        raise ValueError("keras.ops.where(condition) without x1 and x2 (the nonzero indices) is not supported by "
                         "graphc: pass both x1 and x2")
    from ..engine.trace import SymbolicValue
    from ..engine.variable import Variable
    # the branches' dtype comes from a tensor branch (not from the bool condition); scalars take it
    dtype = next((v.dtype for v in (x1, x2) if isinstance(v, (SymbolicValue, Variable))), "float32")
    x1, x2 = (v if isinstance(v, SymbolicValue) else convert_to_tensor(v, dtype=dtype) for v in (x1, x2))
    return emit("Where", [_bool(condition), x1, x2])
