"""Pool fusion: a max pool computed in the kernel of the convolution that produces its input.

Requires: a typed graph after fuse_epilogue. Guarantees: a pool whose OpDef names a fusable
window (``fusable_window(op, x)``: MaxPool with non-overlapping 2-D windows) and whose input is
read by nothing else (not a graph output, not aliased) and produced by a single-output op whose
OpDef accepts the window (``with_pool(op, window, in_types)`` returns new attributes: DirectConv,
or a graphc.WithEpilogue over it) is removed; the producer, with the new attributes, writes the
pool's output directly. The convolution's full-size result is never written: for the issue-6 CNN
the first layer's 26x26x32 map per image (86 KB) never leaves the cache.
"""
from __future__ import annotations

from ..ops import registry
from .match import single_use


def _fuse_one(g, pool):
    window = getattr(registry.get(pool.op_type, pool.domain), "fusable_window", None)
    ins, outs = g.op_inputs(pool), g.op_outputs(pool)
    if window is None or len(ins) != 1 or len(outs) != 1:
        return False
    v = ins[0]
    prod = g.producer(v)
    if prod is None or not single_use(g, v) or len(g.op_outputs(prod)) != 1:
        return False
    hook = getattr(registry.get(prod.op_type, prod.domain), "with_pool", None)
    win = window(pool, g.value(v).type)
    if hook is None or win is None:
        return False
    p_ins = g.op_inputs(prod)
    attrs = hook(prod, tuple(win), [None if u is None else g.value(u).type for u in p_ins])
    if attrs is None:
        return False
    name, meta, op_type, domain = prod.name, dict(prod.meta), prod.op_type, prod.domain
    g.remove_op(pool)
    g.remove_op(prod)
    g.remove_value(v)
    g.add_op(op_type, p_ins, outs, attrs, name=name, domain=domain, **meta)
    return True


def fuse_pool(g):
    for op in g.ops():
        if op.name in g.nx:
            _fuse_one(g, op)
    return g
