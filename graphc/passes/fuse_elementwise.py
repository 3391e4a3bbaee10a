"""Loop fusion: connected elementwise ops of one output shape and dtype become one graphc.Fused op.

Requires: a typed graph (run after autodiff, folding and layout passes). Guarantees: every
group of >= 2 fusible ops (pattern ELEMWISE/BROADCAST with a ``scalar`` emitter, one float
dtype, the same output shape) is replaced by one Fused op computing all of them in one loop;
values used outside the group (consumers, graph outputs, in-place updates) stay materialized
under the same names; the graph stays acyclic (an op joins a group only if no path from the
group to it leaves the group). An optimizer's whole update of one parameter (slots and the
parameter itself) thus becomes one loop.
"""
from __future__ import annotations

import networkx as nx

from ..ir import FLOAT_DTYPES
from ..ops import registry
from ..ops.registry import BROADCAST, ELEMWISE


def _fusible(g, op):
    opdef = registry.get(op.op_type, op.domain)
    if opdef.pattern not in (ELEMWISE, BROADCAST) or opdef.scalar is None:
        return None
    outs = [g.value(v).type for v in g.op_outputs(op)]
    ins = [g.value(v).type for v in g.op_inputs(op) if v is not None]
    dtypes = {t.dtype for t in outs + ins}
    if len(dtypes) != 1 or next(iter(dtypes)) not in FLOAT_DTYPES or len({t.shape for t in outs}) != 1:
        return None
    return outs[0].dtype, outs[0].shape


def _groups(g):
    """Greedy grouping in topological order. An op joins the group(s) of its producers with the same
    key; when its producers sit in several such groups and the union stays convex, they merge
    (an optimizer's slot updates and the parameter update it feeds become one loop)."""
    members, keys, group_of = [], [], {}
    for op in g.ops():
        key = _fusible(g, op)
        if key is None:
            continue
        candidates = sorted({group_of[p.name] for v in g.op_inputs(op) if v is not None
                             for p in [g.producer(v)] if p is not None and p.name in group_of
                             and keys[group_of[p.name]] == key}, reverse=True)
        chosen = None
        for gid in candidates:
            if chosen is None:
                if _convex(g, members[gid] | {op.name}):
                    chosen = gid
            elif _convex(g, members[chosen] | members[gid] | {op.name}):
                for name in members[gid]:
                    group_of[name] = chosen
                members[chosen] |= members[gid]
                members[gid] = set()
        if chosen is None:
            chosen = len(members)
            members.append(set())
            keys.append(key)
        members[chosen].add(op.name)
        group_of[op.name] = chosen
    return [(m, k) for m, k in zip(members, keys) if len(m) > 1]


def _fuse(g, names, dtype, order):
    ops = sorted((g.op(n) for n in names), key=lambda op: order[op.name])
    produced = {v for op in ops for v in g.op_outputs(op)}
    slot, inputs, body = {}, [], []
    for op in ops:
        for v in g.op_inputs(op):
            if v is not None and v not in produced and v not in slot:
                slot[v] = len(inputs)
                inputs.append(v)
    n = len(inputs)
    for op in ops:
        for v in g.op_outputs(op):
            slot[v] = n
            n += 1
    for op in ops:
        body.append((op.op_type, op.domain, tuple(sorted(op.attrs.items())),
                     tuple(-1 if v is None else slot[v] for v in g.op_inputs(op)),
                     tuple(slot[v] for v in g.op_outputs(op))))
    keep = set(g.outputs) | set(g.aliases)
    outputs = [v for v in produced if v in keep or any(c.name not in names for c in g.consumers(v))]
    outputs.sort(key=lambda v: slot[v])
    for op in ops:
        g.remove_op(op)
    for v in produced - set(outputs):
        g.remove_value(v)
    g.add_op("Fused", inputs, outputs, {"body": tuple(body), "outputs": tuple(slot[v] for v in outputs),
                                        "dtype": dtype}, name=f"fused_{ops[0].name}", domain="graphc")


def _convex(g, names):
    """No path leaves the group and comes back (so contracting it keeps the graph acyclic)."""
    outside = {v for n in names for v in g.op_inputs(n) if v is not None
               and (g.producer(v) is None or g.producer(v).name not in names)}
    return all(not (nx.ancestors(g.nx, v) & names) for v in outside)


def fuse_elementwise(g):
    # each group is convex when formed; fusing one can make another non-convex (a path through
    # the new Fused op), so every group is checked again against the current graph
    # one topological order for all groups: contracting a group never reorders another's members
    # (sorting the whole graph per group was quadratic: seconds on a DenseNet)
    order = {op.name: i for i, op in enumerate(g.ops())}
    for names, (dtype, _) in _groups(g):
        if _convex(g, names):
            _fuse(g, names, dtype, order)
    return g
