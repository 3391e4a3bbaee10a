"""Multi-tensor fusion: the optimizer's per-parameter update loops become ONE kernel.

Requires: a typed graph after fuse_elementwise (each parameter's update is one ``graphc.Fused``
op). Guarantees: the *sinks* among Fused ops (no op reads their outputs: they are in-place
updates or graph outputs) whose inputs each have the op's output shape or one element are
replaced, when there are at least two, by one ``graphc.MultiFused`` op (ops/multi_fused.py):
members with the same body share one loop over a table of tensors. Every output keeps its
name (the update aliases stay valid). Sinks have no consumers, so merging them cannot make a
cycle; the merged op runs after every gradient it reads, as the last member did.
"""
from __future__ import annotations

import math

from ..ops import registry


def _member_key(g, op):
    if not registry.is_op(op, "Fused", "graphc"):
        return None
    outs = g.op_outputs(op)
    if any(g.consumers(o) for o in outs):
        return None
    ins = g.op_inputs(op)
    if None in ins:
        return None
    shape = g.value(outs[0]).type.shape
    if any(g.value(o).type.shape != shape for o in outs):
        return None
    kinds = []
    for v in ins:
        t = g.value(v).type
        if t.shape == shape:
            kinds.append("full")
        elif all(isinstance(d, int) for d in t.shape) and math.prod(t.shape) == 1:
            kinds.append("scalar")
        else:
            return None
    return (op.attrs["body"], tuple(op.attrs["outputs"]), op.attrs["dtype"], len(ins), tuple(kinds))


def fuse_updates(g):
    cands = [(op, key) for op in g.ops() for key in [_member_key(g, op)] if key is not None]
    # members run one after another: one that reads a buffer another overwrites in place would see
    # the new value, so neither joins
    writes = {op.name: {g.aliases[o] for o in g.op_outputs(op) if o in g.aliases} for op, _ in cands}
    reads = {op.name: {v for v in g.op_inputs(op)} for op, _ in cands}
    clash = {a for a in writes for b in writes if a != b and (writes[a] & reads[b] or writes[b] & reads[a])}
    groups = {}
    for op, key in cands:
        if op.name not in clash:
            groups.setdefault(key, []).append(op)
    if sum(len(m) for m in groups.values()) < 2:
        return g
    ins, outs, attrs = [], [], []
    for (body, outputs, dtype, n_in, _), ops in groups.items():
        attrs.append((body, outputs, dtype, n_in, len(ops)))
        for op in ops:
            ins += g.op_inputs(op)
            outs += g.op_outputs(op)
    first = next(iter(groups.values()))[0]
    for ops in groups.values():
        for op in ops:
            g.remove_op(op)
    g.add_op("MultiFused", ins, outs, {"groups": tuple(attrs)}, name=f"multi_{first.name}", domain="graphc")
    return g
