"""More ONNX reductions on reduce.py's machinery: ReduceL1, ReduceL2, ReduceSumSquare,
ReduceLogSum, ReduceProd (same axes/keepdims/noop_with_empty_axes handling and kernel bodies;
each op only says how to accumulate and finish).

Gradients (dY broadcast back over the reduced axes, written E(dY)):
ReduceSumSquare ``2 X E(dY)``; ReduceL1 ``sign(X) E(dY)``; ReduceL2 ``X E(dY / Y)`` (0 where Y
is 0 would need a guard: the rule divides, like TensorFlow's); ReduceLogSum ``E(dY exp(-Y))``.
ReduceProd has no gradient rule (it is not differentiable through zeros without a second pass).
"""
from __future__ import annotations

import numpy as np

from .reduce import Reduce, _reduced_dy
from .registry import REDUCE, get, register_op


def _expand(ctx, op, v):
    return ctx.emit("ExpandAs", [_reduced_dy(ctx, op, v), ctx.inputs[0]], domain="graphc")


def _noop(ctx, op):
    axes_in = ctx.inputs[1] if len(ctx.inputs) > 1 else None
    return get(op.op_type).axes(op, ctx.type(ctx.inputs[0]).rank,
                                None if axes_in is None else ctx.g.value(axes_in).data) is None


@register_op("ReduceSumSquare", pattern=REDUCE)
class ReduceSumSquare(Reduce):
    init = 0.0

    @staticmethod
    def np_reduce(x, axis, keepdims):
        return np.sum(np.square(x), axis=axis, keepdims=keepdims)

    def step(self, s, acc, v):
        return s.fma(v, v, acc)

    def combine(self, s, a, b):
        return s.add(a, b)

    @staticmethod
    def grad(ctx, op, dys):
        x = ctx.inputs[0]
        if _noop(ctx, op):
            return [dys[0]]
        two_x = ctx.emit("Mul", [x, ctx.const(2.0, ctx.type(x).dtype)])
        return [ctx.emit("Mul", [two_x, _expand(ctx, op, dys[0])])]


@register_op("ReduceL1", pattern=REDUCE)
class ReduceL1(Reduce):
    init = 0.0

    @staticmethod
    def np_reduce(x, axis, keepdims):
        return np.sum(np.abs(x), axis=axis, keepdims=keepdims)

    def step(self, s, acc, v):
        return s.add(acc, s.abs(v))

    def combine(self, s, a, b):
        return s.add(a, b)

    @staticmethod
    def grad(ctx, op, dys):
        if _noop(ctx, op):
            return [dys[0]]
        return [ctx.emit("Mul", [ctx.emit("Sign", [ctx.inputs[0]]), _expand(ctx, op, dys[0])])]


@register_op("ReduceL2", pattern=REDUCE)
class ReduceL2(ReduceSumSquare):
    @staticmethod
    def np_reduce(x, axis, keepdims):
        return np.sqrt(np.sum(np.square(x), axis=axis, keepdims=keepdims))

    def finish(self, s, acc, count):
        return s.sqrt(acc)

    @staticmethod
    def grad(ctx, op, dys):
        if _noop(ctx, op):
            return [dys[0]]
        return [ctx.emit("Mul", [ctx.inputs[0], _expand(ctx, op, ctx.emit("Div", [dys[0], ctx.outputs[0]]))])]


@register_op("ReduceLogSum", pattern=REDUCE)
class ReduceLogSum(Reduce):
    init = 0.0

    @staticmethod
    def np_reduce(x, axis, keepdims):
        return np.log(np.sum(x, axis=axis, keepdims=keepdims))

    def step(self, s, acc, v):
        return s.add(acc, v)

    def finish(self, s, acc, count):
        return s.log(acc)

    def reference(self, op, x, axes=None):
        with np.errstate(divide="ignore"):  # an empty sum gives log(0) = -inf, as ONNX says
            return super().reference(op, x, axes)

    @staticmethod
    def grad(ctx, op, dys):
        if _noop(ctx, op):
            return [dys[0]]
        inv = ctx.emit("Exp", [ctx.emit("Neg", [ctx.outputs[0]])])
        return [_expand(ctx, op, ctx.emit("Mul", [dys[0], inv]))]


@register_op("ReduceProd", pattern=REDUCE)
class ReduceProd(Reduce):
    init = 1.0
    np_reduce = staticmethod(np.prod)

    def step(self, s, acc, v):
        return s.mul(acc, v)
