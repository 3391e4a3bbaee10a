"""Cross-entropy of softmax *probabilities*, fused: Keras's ``from_logits=False`` formula in one kernel.

A tutorial classifier ends in ``Dense(..., activation="softmax")`` and is compiled with
``categorical_crossentropy`` (or the sparse form) on probabilities. Keras 3 computes, per row,
``q = p / sum(p)``, ``c = clip(q, eps, 1 - eps)``, ``loss = -sum(t * log(c))`` with ``p = softmax(z)``:
six elementwise and reduction ops forward and more backward, over a tiny (batch x classes) tensor.
When the traced loss reads a Softmax output, ``keras.ops.categorical_crossentropy`` emits
``graphc.SoftmaxProbCrossEntropy(z, t)`` on the logits instead (the model's Softmax output still
serves predictions and metrics), with the same numbers:

- forward, per row: ``m = max z``, ``s = sum exp(z - m)``, ``p = exp(z - m) / s``, ``s2 = sum p``,
  ``loss = -sum t * log(clip(p / s2, eps, 1 - eps))``;
- gradient ``graphc.SoftmaxProbCrossEntropyGrad(z, t, dy)``: the chain rule through the clip
  (zero where ``p / s2`` is clipped, as ``jnp.clip``'s gradient is away from the bounds), the
  normalization and the softmax collapses to ``dz = p * (g - A / s2) / s2 * dy`` with
  ``g = -t / c`` inside the clip range, 0 outside, and ``A = sum g * p``.
"""
from __future__ import annotations

import numpy as np

from ..codegen.loops import for_range, iadd, imul
from .loss import DOMAIN, DenseLabelsGrad, _row_lse, _RowOp, dense_loss_infer
from .reduce import var
from .registry import OPAQUE, REDUCE, register_op


def _np_probs(x, eps):
    """(p, q = p / sum p, c = clip(q)) as Keras computes them, in x's dtype."""
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        p = e / e.sum(axis=-1, keepdims=True)
        q = p / p.sum(axis=-1, keepdims=True)
    dt = x.dtype.type
    return p, q, np.clip(q, dt(eps), dt(1.0 - eps))


def softmax_logits(g, value, axis):
    """The logits ``z`` when ``value`` is ``Softmax(z)`` over ``axis`` (its last axis), else None."""
    op = g.producer(value)
    if op is None or op.domain != "" or op.op_type != "Softmax":
        return None
    rank = g.value(value).type.rank
    if rank == 0 or op.attrs["axis"] % rank != rank - 1 or axis % rank != rank - 1:
        return None
    return g.op_inputs(op)[0]


class _ProbRows(_RowOp):
    attr_defaults = {"eps": 1e-7}

    def each_row(self, k, s):
        """Yields once, inside the loop over rows: ``(r, base, p, s2, row_sum)`` where ``p(c)`` recomputes
        ``exp(x_c - m) / sum(exp(x - m))`` of row ``r``, ``s2 = sum p`` and ``row_sum(name, term)``
        emits a loop summing ``term(c)`` over the row."""
        b, X, dtype = k.b, k.inputs[0], k.in_types[0].dtype
        R, C = self.rows(k)
        m, acc, tot = (var(k, s.ty, s.c(0.0)) for _ in range(3))

        def row_sum(name, term):
            b.store(s.c(0.0), tot)
            with for_range(b, C, name=name) as c:
                b.store(s.add(b.load(tot, typ=s.ty), term(c)), tot)
            return b.load(tot, typ=s.ty)

        with for_range(b, R, name="r") as r:
            base = imul(b, r, C)
            _row_lse(k, s, X, base, C, dtype, m, acc)
            mv, sv = b.load(m, typ=s.ty), b.load(acc, typ=s.ty)

            def p(c):
                return s.div(s.exp(s.sub(k.load(X, iadd(b, base, c), dtype), mv)), sv)
            yield r, base, p, row_sum("s2", p), row_sum

    def clipped(self, s, op, q):
        eps = op.attrs["eps"]
        return s.min(s.max(q, eps), 1.0 - eps)


@register_op("SoftmaxProbCrossEntropy", pattern=REDUCE, domain=DOMAIN, schema=False)
class SoftmaxProbCrossEntropy(_ProbRows):
    """SoftmaxProbCrossEntropy(z, t) -> -sum(t * log(clip(softmax(z) / sum(softmax(z)), eps, 1 - eps)))
    over the last axis (Keras's categorical cross-entropy of softmax probabilities)."""

    def infer(self, op, in_types, g):
        return dense_loss_infer(op, in_types)

    def reference(self, op, x, t):
        _, _, c = _np_probs(x, op.attrs["eps"])
        return (-(t * np.log(c)).sum(axis=-1)).astype(x.dtype)

    def emit(self, k, op):
        dtype = k.in_types[0].dtype
        s = k.scalar(dtype)
        T, Y = k.inputs[1], k.outputs[0]
        for r, base, p, s2, row_sum in self.each_row(k, s):
            total = row_sum("ce", lambda c: s.mul(k.load(T, iadd(k.b, base, c), dtype),
                                                  s.log(self.clipped(s, op, s.div(p(c), s2)))))
            k.store(s.neg(total), Y, r, dtype)
        k.b.ret_void()

    @staticmethod
    def grad(ctx, op, dys):
        x, t = ctx.inputs
        dy = dys[0]
        eps = op.attrs["eps"]
        dx = ctx.emit("SoftmaxProbCrossEntropyGrad", [x, t, dy], domain=DOMAIN, eps=eps) if ctx.needs[0] else None
        dt = None
        if ctx.needs[1]:  # d/dt = -log(c) * dy
            dtype = ctx.type(x).dtype
            p = ctx.emit("Softmax", [x], axis=-1)
            q = ctx.emit("Div", [p, ctx.emit("ReduceSum", [p, ctx.ints([-1])], keepdims=1)])
            c = ctx.emit("Clip", [q, ctx.const(eps, dtype), ctx.const(1.0 - eps, dtype)])
            dt = ctx.emit("Mul", [ctx.emit("Neg", [ctx.emit("Log", [c])]), ctx.emit("Unsqueeze", [dy, ctx.ints([-1])])])
        return [dx, dt]


@register_op("SoftmaxProbCrossEntropyGrad", pattern=OPAQUE, domain=DOMAIN, schema=False)
class SoftmaxProbCrossEntropyGrad(_ProbRows, DenseLabelsGrad):
    """SoftmaxProbCrossEntropyGrad(z, t, dloss) -> d SoftmaxProbCrossEntropy / dz * dloss (see the module)."""

    def reference(self, op, x, t, dy):
        eps = op.attrs["eps"]
        p, q, c = _np_probs(x, eps)
        s2 = p.sum(axis=-1, keepdims=True)
        dt = x.dtype.type
        gq = np.where((q > dt(eps)) & (q < dt(1.0 - eps)), -t / c, 0)
        a = (gq * p).sum(axis=-1, keepdims=True)
        return (p * (gq - a / s2) / s2 * dy[..., None]).astype(x.dtype)

    def emit(self, k, op):
        b, dtype = k.b, k.in_types[0].dtype
        s = k.scalar(dtype)
        _, T, DY = k.inputs
        DX = k.outputs[0]
        C = self.rows(k)[1]
        eps = op.attrs["eps"]

        def g_of(i, q):
            """-t / clip(q) inside the clip range, 0 where q is clipped."""
            inside = b.and_(s.cmp(">", q, eps), s.cmp("<", q, 1.0 - eps))
            return s.select(inside, s.neg(s.div(k.load(T, i, dtype), self.clipped(s, op, q))), 0.0)

        for r, base, p, s2, row_sum in self.each_row(k, s):
            def ga(c):
                pc = p(c)
                return s.mul(g_of(iadd(b, base, c), s.div(pc, s2)), pc)
            a_s2 = s.div(row_sum("ga", ga), s2)
            scale = s.div(k.load(DY, r, dtype), s2)
            with for_range(b, C, name="dx") as c:
                i = iadd(b, base, c)
                pc = p(c)
                k.store(s.mul(s.mul(pc, s.sub(g_of(i, s.div(pc, s2)), a_s2)), scale), DX, i, dtype)
        b.ret_void()
