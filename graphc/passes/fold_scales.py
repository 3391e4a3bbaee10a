"""Fold per-channel affine factors computed from weights into the preceding linear op.

Inference BatchNormalization (after ``decompose``) is ``((y + (-mean)) * a) + B`` per channel. When
``y`` comes from a Conv/Gemm/MatMul (through bias Adds), the scale and shifts fold into that
op's weights and bias (``OpDef.affine_output``), as inference compilers fold BN into Conv.

Requires: a typed inference graph (no in-place updates). A value is *weight-only* when it is a
param, state or const or computed from those alone: codegen hoists such values out of the
per-call program. Guarantees, applied until nothing changes:
- ``Mul(Add..(L(x), c..), s)``: a chain of single-use Adds of weight-only per-channel ``c`` above a
  single-use linear op ``L`` and a weight-only per-channel ``s`` become ``Add..(L'(x), c * s..)``
  where ``L'`` computes ``L(x) * s``;
- ``Add(Add(u, c1), c2)`` with weight-only ``c1``, ``c2`` and a single-use inner Add becomes
  ``Add(u, c1 + c2)``;
- ``Add(L(x), c)`` with a single-use ``L`` and weight-only per-channel ``c`` becomes ``L'(x)``
  computing ``L(x) + c`` (a Conv's bias, a Gemm's C).
Per-channel means broadcast along the linear op's channel axis only.
"""
from __future__ import annotations

import numpy as np

from ..ir import GraphBuilder
from ..ops import registry
from .match import is_op, single_use, weight_only_values


class _Rewriter:
    def __init__(self, g):
        self.g, self.b = g, GraphBuilder(g)
        self._weight_only = None  # weight_only_values(g), recomputed after each rewrite

    def weight_only(self, v):
        if v is None:
            return True
        if self._weight_only is None:
            self._weight_only = weight_only_values(self.g)
        return v in self._weight_only

    def split(self, op):
        """(dynamic operand, weight-only operand) of a binary op, or None."""
        a, c = self.g.op_inputs(op)
        if self.weight_only(c) and not self.weight_only(a):
            return a, c
        if self.weight_only(a) and not self.weight_only(c):
            return c, a
        return None

    def per_channel(self, c, y, axis) -> bool:
        """Does ``c`` broadcast against ``y`` along its channel ``axis`` only (or is it a scalar)?"""
        ct, yt = self.g.value(c).type, self.g.value(y).type
        if yt.rank == 0 or ct.rank > yt.rank or not ct.is_static or ct.dtype != yt.dtype or not isinstance(yt.shape[axis], int):
            return False
        axis %= yt.rank
        dims = (1,) * (yt.rank - ct.rank) + tuple(ct.shape)
        return all(d == 1 for a, d in enumerate(dims) if a != axis) and dims[axis] in (1, yt.shape[axis])

    def channel_vector(self, c, y, axis):
        """``c`` (per_channel) as a 1-D value of the channel count's length."""
        n = self.g.value(y).type.shape[axis]
        flat = self.b.op("Reshape", [c, self.b.const(np.array([-1], np.int64))])
        if self.g.value(flat).type.shape != (n,):
            flat = self.b.op("Expand", [flat, self.b.const(np.array([n], np.int64))])
        return flat

    def linear(self, v):
        p = self.g.producer(v)
        if p is None or not single_use(self.g, v):
            return None, None
        opdef = registry.get(p.op_type, p.domain)
        return (p, opdef) if opdef.affine_output is not None else (None, None)

    def replace_linear(self, p, opdef, scale=None, shift=None):
        """Rebuild linear op ``p`` to compute ``y * scale + shift``; True when it could."""
        g = self.g
        self.b.scope = dict(p.meta)
        res = opdef.affine_output(self.b, p, g.op_inputs(p), scale, shift)
        if res is None:
            return False
        ins, attrs = res
        out = g.op_outputs(p)[0]
        g.remove_op(p)
        g.add_op(p.op_type, ins, [out], attrs, name=p.name, domain=p.domain, **p.meta)
        return True

    def rebuild(self, op, ins):
        """Replace ``op`` by the same op over ``ins``, keeping its name and output names."""
        outs = self.g.op_outputs(op)
        self.g.remove_op(op)
        self.g.add_op(op.op_type, ins, outs, op.attrs, name=op.name, domain=op.domain, **op.meta)

    def fold_mul(self, op):
        parts = self.split(op) if is_op(op, "Mul") else None
        if parts is None:
            return False
        top, s = parts
        y, chain = top, []  # single-use Adds of weight-only terms between the Mul and the linear op
        while self.linear(y)[0] is None:
            q = self.g.producer(y)
            sub = self.split(q) if is_op(q, "Add") and single_use(self.g, y) else None
            if sub is None:
                return False
            chain.append(q)
            y = sub[0]
        p, opdef = self.linear(y)
        axis = opdef.channel_axis
        if not all(self.per_channel(c, y, axis) for c in [s] + [self.split(q)[1] for q in chain]):
            return False
        if not self.replace_linear(p, opdef, scale=self.channel_vector(s, y, axis)):
            return False
        for q in chain:  # Add(u, c) * s -> Add(u * s, c * s): the scale now sits inside u
            u, c = self.split(q)
            self.rebuild(q, [u, self.b.op("Mul", [c, s])])
        out = self.g.op_outputs(op)[0]
        self.g.remove_op(op)
        self.g.adopt(out, top)
        return True

    def merge_adds(self, op):
        parts = self.split(op) if is_op(op, "Add") else None
        if parts is None:
            return False
        inner, c2 = parts
        q = self.g.producer(inner)
        sub = self.split(q) if is_op(q, "Add") and single_use(self.g, inner) else None
        if sub is None:
            return False
        u, c1 = sub
        out = self.g.op_outputs(op)[0]
        self.g.remove_op(op)
        self.rebuild(q, [u, self.b.op("Add", [c1, c2])])
        self.g.adopt(out, inner)
        return True

    def absorb_add(self, op):
        parts = self.split(op) if is_op(op, "Add") else None
        if parts is None:
            return False
        y, c = parts
        p, opdef = self.linear(y)
        if p is None or self.g.value(self.g.op_outputs(op)[0]).type != self.g.value(y).type:
            return False
        if not self.per_channel(c, y, opdef.channel_axis) or \
                not self.replace_linear(p, opdef, shift=self.channel_vector(c, y, opdef.channel_axis)):
            return False
        out = self.g.op_outputs(op)[0]
        self.g.remove_op(op)
        self.g.adopt(out, y)
        return True


def fold_scales(g):
    if g.aliases:  # training graphs: weights change every step; folding would not save work
        return g
    rw = _Rewriter(g)
    changed = True
    while changed:
        changed = False
        for op in g.ops():
            if op.name not in g.nx:
                continue
            if rw.fold_mul(op) or rw.merge_adds(op) or rw.absorb_add(op):
                changed = True
                rw._weight_only = None
    rw.b.scope = {}
    return g
