"""Prepack the weights of inference GEMMs (as ONNX Runtime prepacks its MatMul weights).

Requires: a typed inference graph (no in-place updates: a train step changes its weights every
call, so a packed copy would cost a pack per step). A product whose op defines ``packed_b``
(MatMul with a 2-D right operand, Gemm) and whose right operand is *weight-only* (a param, state
or const, or computed from those alone) while its left operand is not, becomes
``graphc.GemmPackedB(a, graphc.PackGemmB(w)[, c])`` with the same output value.
Guarantees: ``PackGemmB`` reads weights only, so codegen hoists it into the prologue (run once per
weight change); the product's value is unchanged up to the GEMM's summation order, and the
epilogue fusion that runs next treats ``GemmPackedB`` as it treats MatMul and Gemm.
"""
from __future__ import annotations

from ..ir import GraphBuilder
from ..ops import registry
from .match import weight_only_values


def pack_weights(g):
    if g.aliases:
        return g
    weight = weight_only_values(g)
    b = GraphBuilder(g)
    for op in g.ops():
        opdef = registry.get(op.op_type, op.domain)
        ins = g.op_inputs(op)
        if opdef.packed_b is None or len(ins) < 2 or ins[1] not in weight or ins[0] in weight:
            continue
        form = opdef.packed_b(g, op)
        if form is None:
            continue
        b.scope = dict(op.meta)
        packed = b.op("PackGemmB", [form["b"]], name=f"{op.name}_packb", domain="graphc", **form["pack"])
        out = g.op_outputs(op)[0]
        g.remove_op(op)
        gp = registry.get("GemmPackedB", "graphc")
        g.add_op("GemmPackedB", [ins[0], packed] + ([form["c"]] if form["c"] is not None else []), [out],
                 gp.full_attrs(form["attrs"]), name=op.name, domain="graphc", **op.meta)
    b.scope = {}
    return g
