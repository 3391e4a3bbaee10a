"""Comparisons (Equal, Less, LessOrEqual, Greater, GreaterOrEqual -> bool), Not/And/Or on bools and
Where(cond, x, y), with numpy broadcasting.

Their outputs (or, for Where, the condition) are bool while the other operands are float or int, so
they have their own kernels over ``emit_elementwise`` instead of a same-dtype ``scalar`` (loop fusion
keeps to one float dtype and leaves them alone). Comparisons are ordered (false on NaN; keras.ops
not_equal is Not(Equal), true on NaN as numpy). Comparisons and
logic have no gradient (zero almost everywhere); Where routes dy to x where cond holds, to y elsewhere.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir

from ..codegen.kernels.elementwise import emit_elementwise
from ..codegen.scalar import lltype
from ..errors import ShapeError
from ..ir import TensorType
from .common import broadcast_shapes
from .registry import BROADCAST, OpDef, register_op

NUMERIC = ("float32", "float64", "int64", "int32")
BOOL = lltype("bool")


def _bool(b, bit):
    return b.zext(bit, BOOL)


def _truth(b, v):
    return b.icmp_unsigned("!=", v, ir.Constant(BOOL, 0))


def _where(op, in_types):
    return f"op {op.name!r} ({op.op_type})"


class _Compare(OpDef):
    dtypes = NUMERIC + ("bool",)
    pred = None
    ufunc = None

    def infer(self, op, in_types, g):
        a, b = in_types
        if a.dtype != b.dtype:
            raise ShapeError(f"{_where(op, in_types)}: inputs must share a dtype, got {a.dtype} and {b.dtype}")
        return [TensorType("bool", broadcast_shapes(a.shape, b.shape, where=_where(op, in_types)))]

    def reference(self, op, x, y):
        return type(self).ufunc(x, y)

    def emit(self, k, op):
        dt, pred = k.in_types[0].dtype, type(self).pred

        def body(s, x, y):
            if dt.startswith("float"):
                return _bool(k.b, k.b.fcmp_ordered(pred, x, y))
            cmp = k.b.icmp_unsigned if dt == "bool" else k.b.icmp_signed
            return _bool(k.b, cmp(pred, x, y))
        emit_elementwise(k, op, body)

    @staticmethod
    def grad(ctx, op, dys):
        return [None, None]


for _name, _pred, _ufunc in (("Equal", "==", np.equal), ("Less", "<", np.less), ("LessOrEqual", "<=", np.less_equal),
                             ("Greater", ">", np.greater), ("GreaterOrEqual", ">=", np.greater_equal)):
    register_op(_name, pattern=BROADCAST)(type(_name, (_Compare,), {"pred": _pred, "ufunc": staticmethod(_ufunc)}))


class _Logic(OpDef):
    dtypes = ("bool",)

    def infer(self, op, in_types, g):
        for t in in_types:
            if t.dtype != "bool":
                raise ShapeError(f"{_where(op, in_types)}: inputs must be bool, got {t.dtype}")
        return [TensorType("bool", broadcast_shapes(*(t.shape for t in in_types), where=_where(op, in_types)))]

    @staticmethod
    def grad(ctx, op, dys):
        return [None] * len(ctx.inputs)


@register_op("Not", pattern=BROADCAST)
class Not(_Logic):
    def reference(self, op, x):
        return np.logical_not(x)

    def emit(self, k, op):
        emit_elementwise(k, op, lambda s, x: _bool(k.b, k.b.not_(_truth(k.b, x))))


@register_op("And", pattern=BROADCAST)
class And(_Logic):
    def reference(self, op, x, y):
        return np.logical_and(x, y)

    def emit(self, k, op):
        emit_elementwise(k, op, lambda s, x, y: _bool(k.b, k.b.and_(_truth(k.b, x), _truth(k.b, y))))


@register_op("Or", pattern=BROADCAST)
class Or(_Logic):
    def reference(self, op, x, y):
        return np.logical_or(x, y)

    def emit(self, k, op):
        emit_elementwise(k, op, lambda s, x, y: _bool(k.b, k.b.or_(_truth(k.b, x), _truth(k.b, y))))


@register_op("Where", pattern=BROADCAST)
class Where(OpDef):
    dtypes = NUMERIC + ("bool",)

    def infer(self, op, in_types, g):
        c, x, y = in_types
        where = _where(op, in_types)
        if c.dtype != "bool":
            raise ShapeError(f"{where}: the condition must be bool, got {c.dtype}")
        if x.dtype != y.dtype:
            raise ShapeError(f"{where}: x and y must share a dtype, got {x.dtype} and {y.dtype}")
        return [TensorType(x.dtype, broadcast_shapes(c.shape, x.shape, y.shape, where=where))]

    def reference(self, op, c, x, y):
        return np.where(c, x, y)

    def emit(self, k, op):
        emit_elementwise(k, op, lambda s, c, x, y: k.b.select(_truth(k.b, c), x, y))

    @staticmethod
    def grad(ctx, op, dys):
        c, x, y = ctx.inputs
        dy = dys[0]
        zero = ctx.emit("Mul", [dy, ctx.const(0.0, ctx.type(dy).dtype)])
        dx = ctx.unbroadcast(ctx.emit("Where", [c, dy, zero]), x) if ctx.needs[1] else None
        dyy = ctx.unbroadcast(ctx.emit("Where", [c, zero, dy]), y) if ctx.needs[2] else None
        return [None, dx, dyy]
