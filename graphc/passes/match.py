"""Tiny pattern helpers for local rewrites (TVM dpl / tinygrad UPat in miniature)."""
from ..ops.registry import is_op


def producer_if(g, v, op_type, domain=""):
    """The op producing ``v`` when it is an ``op_type`` op, else None."""
    p = g.producer(v) if v is not None else None
    return p if is_op(p, op_type, domain) else None


def single_use(g, v):
    return len(g.consumers(v)) == 1 and v not in g.outputs and v not in g.aliases.values()
