"""PRelu: ``Y = X where X >= 0 else slope * X``, slope broadcast to X (PyTorch's nn.PReLU export).

Gradient: PRelu(x, s) = Relu(x) - s * Relu(-x), so ``dX = ReluGrad(dY, Relu(x)) + s * ReluGrad(dY,
Relu(-x))`` and ``dslope = -dY * Relu(-x)`` summed back to the slope's shape.
"""
from __future__ import annotations

import numpy as np

from .common import broadcast_infer
from .registry import BROADCAST, OpDef, register_op


@register_op("PRelu", pattern=BROADCAST)
class PRelu(OpDef):
    infer = staticmethod(broadcast_infer)

    def reference(self, op, x, slope):
        return np.where(x < 0, slope * x, x).astype(x.dtype)

    def scalar(self, s, op, x, slope):
        return s.select(s.cmp("<", x, 0.0), s.mul(x, slope), x)

    @staticmethod
    def grad(ctx, op, dys):
        dy, (x, slope) = dys[0], ctx.inputs
        neg = ctx.emit("Relu", [ctx.emit("Neg", [x])])
        dx = ds = None
        if ctx.needs[0]:
            pos = ctx.emit("ReluGrad", [dy, ctx.emit("Relu", [x])], domain="graphc")
            negpart = ctx.emit("Mul", [ctx.emit("ReluGrad", [dy, neg], domain="graphc"), slope])
            dx = ctx.unbroadcast(ctx.emit("Add", [pos, negpart]), x)
        if ctx.needs[1]:
            ds = ctx.unbroadcast(ctx.emit("Neg", [ctx.emit("Mul", [dy, neg])]), slope)
        return [dx, ds]
