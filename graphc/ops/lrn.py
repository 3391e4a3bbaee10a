"""LRN: local response normalization across channels (AlexNet, GoogLeNet, ZFNet).

``Y[n, c] = X[n, c] / (bias + alpha / size * sum_{j in W(c)} X[n, j]^2) ^ beta`` with the
channel window ``W(c) = [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)]`` clipped to
``[0, C)``, on an (N, C, ...) tensor of rank >= 3.

Gradient (composed of ONNX ops): with ``d = bias + alpha/size * S(X^2)`` and ``r = d^-beta``,
``dX = dY * r - 2 * alpha * beta / size * X * S'(dY * X * r / d)``, where ``S`` is the window
sum and ``S'`` its transpose (the mirrored window). Both sums are an AveragePool over the
channel axis of an (N, 1, C, rest) view with ``count_include_pad=1``, times ``size``.
"""
from __future__ import annotations

import numpy as np

from ..codegen.loops import const, for_range, iadd, imax, imin, imul, loop_nest
from ..errors import ShapeError
from ..ir import TensorType
from .registry import OPAQUE, OpDef, register_op


def _window(size):
    return (size - 1) // 2, size - 1 - (size - 1) // 2  # channels before, after


def lrn_reference(x, size, alpha, beta, bias):
    lo, hi = _window(size)
    xd = x.astype(np.float64)
    sq = np.zeros_like(xd)
    C = x.shape[1]
    for c in range(C):
        sq[:, c] = (xd[:, max(0, c - lo):min(C, c + hi + 1)] ** 2).sum(axis=1)
    return (xd / (bias + alpha / size * sq) ** beta).astype(x.dtype)


@register_op("LRN", pattern=OPAQUE)
class LRN(OpDef):
    def infer(self, op, in_types, g):
        x = in_types[0]
        if x.rank < 3:
            raise ShapeError(f"op {op.name!r} (LRN): expected an (N, C, D1, ...) input of rank >= 3, received {x}")
        if op.attrs["size"] < 1:
            raise ShapeError(f"op {op.name!r} (LRN): size must be >= 1, received {op.attrs['size']}")
        return [x]

    def reference(self, op, x):
        a = op.attrs
        return lrn_reference(x, a["size"], a["alpha"], a["beta"], a["bias"])

    def emit(self, k, op):
        b, t = k.b, k.in_types[0]
        s = k.scalar(t.dtype)
        a = op.attrs
        lo, hi = _window(a["size"])
        N, C, P = k.numel(t, 0, 1), k.dim(t, 1), k.numel(t, 2)
        X, Y = k.inputs[0], k.outputs[0]
        acc = b.alloca(s.ty)
        with loop_nest(b, [N, C], name="lrn") as (n, c):
            j0, j1 = imax(b, const(0), b.sub(c, const(lo))), imin(b, C, b.add(c, const(hi + 1)))
            base = imul(b, n, C)
            with for_range(b, P, name="p") as p:
                b.store(s.c(0.0), acc)
                with for_range(b, j1, start=j0, name="j") as j:
                    v = k.load(X, iadd(b, imul(b, iadd(b, base, j), P), p), t.dtype)
                    b.store(s.fma(v, v, b.load(acc)), acc)
                d = s.fma(b.load(acc), a["alpha"] / a["size"], a["bias"])
                idx = iadd(b, imul(b, iadd(b, base, c), P), p)
                r = s.exp(s.mul(s.log(d), -a["beta"]))
                k.store(s.mul(k.load(X, idx, t.dtype), r), Y, idx, t.dtype)
        b.ret_void()

    def grad(self, ctx, op, dys):
        x, dy = ctx.inputs[0], dys[0]
        t = ctx.type(x)
        a = op.attrs
        size, alpha, beta, bias = a["size"], a["alpha"], a["beta"], a["bias"]
        lo, hi = _window(size)
        if any(isinstance(d, str) for d in t.shape[1:]):
            raise ShapeError(f"op {op.name!r} (LRN): the gradient needs static channel and spatial dims, "
                             f"received {t}")
        rest = int(np.prod(t.shape[2:]))
        view = ctx.ints([0, 1, t.shape[1], rest])

        def window_sum(v, before, after):
            v4 = ctx.emit("Reshape", [v, view])
            pooled = ctx.emit("AveragePool", [v4], kernel_shape=[size, 1], pads=[before, 0, after, 0],
                              count_include_pad=1)
            back = ctx.emit("Reshape", [pooled, ctx.ints([0] + [d for d in t.shape[1:]])])
            return ctx.emit("Mul", [back, ctx.const(float(size), t.dtype)])

        c = lambda v: ctx.const(float(np.float32(v)) if t.dtype == "float32" else float(v), t.dtype)  # noqa: E731
        d = ctx.emit("Add", [ctx.emit("Mul", [window_sum(ctx.emit("Mul", [x, x]), lo, hi), c(alpha / size)]), c(bias)])
        r = ctx.emit("Pow", [d, c(-beta)])
        inner = ctx.emit("Div", [ctx.emit("Mul", [ctx.emit("Mul", [dy, x]), r]), d])
        back = window_sum(inner, hi, lo)
        dx = ctx.emit("Sub", [ctx.emit("Mul", [dy, r]),
                              ctx.emit("Mul", [ctx.emit("Mul", [x, back]), c(2 * alpha * beta / size)])])
        return [dx]
