"""Decompose ops into simpler registered ops where their OpDef knows how (``OpDef.decompose``).

Requires: a typed graph. Guarantees: every op whose ``decompose`` returns replacement values is
gone; its consumers (and the graph outputs) read the replacements, which have the same types.
Used for inference: BatchNormalization becomes a per-channel ``(x - mean) * a + B`` that
elementwise fusion merges into neighbouring loops and ``fold_scales`` folds into a preceding
Conv/Gemm; its per-channel factors depend on weights only, so codegen hoists them.
"""
from __future__ import annotations

from ..errors import GraphError
from ..ir import GraphBuilder
from ..ops import registry


def decompose(g):
    b = GraphBuilder(g)
    for op in g.ops():
        rule = registry.get(op.op_type, op.domain).decompose
        if rule is None:
            continue
        b.scope = dict(op.meta)
        outs = g.op_outputs(op)
        new = rule(b, op, g.op_inputs(op))
        if new is None:
            continue
        for old, v in zip(outs, new):
            if g.value(old).type != g.value(v).type:
                raise GraphError(f"decomposing op {op.name!r} ({op.op_type}) changed {old!r} from "
                                 f"{g.value(old).type} to {g.value(v).type}")
        g.remove_op(op)
        for old, v in zip(outs, new):
            g.adopt(old, v)
    b.scope = {}
    return g
