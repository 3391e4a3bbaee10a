"""Tiny pattern helpers for local rewrites (TVM dpl / tinygrad UPat in miniature)."""
from ..ir import CONST, PARAM, STATE
from ..ops.registry import is_op


def producer_if(g, v, op_type, domain=""):
    """The op producing ``v`` when it is an ``op_type`` op, else None."""
    p = g.producer(v) if v is not None else None
    return p if is_op(p, op_type, domain) else None


def single_use(g, v):
    return len(g.consumers(v)) == 1 and v not in g.outputs and v not in g.aliases.values()


def weight_only_values(g) -> set:
    """Params, states, consts and the values computed from them alone (what codegen can hoist)."""
    weight = {v.name for v in g.values() if v.role in (PARAM, STATE, CONST)}
    for op in g.ops():
        ins = [v for v in g.op_inputs(op) if v is not None]
        if ins and all(v in weight for v in ins):
            weight.update(g.op_outputs(op))
    return weight
