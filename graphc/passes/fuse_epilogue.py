"""Epilogue fusion: a product's elementwise consumer runs on the product's tiles, in one kernel.

Requires: a typed graph after fuse_elementwise (so a chain is one ``graphc.Fused`` op).
Guarantees: an op whose registry pattern is OUT_EWISE_FUSABLE and whose OpDef accepts an
epilogue (``epilogue_ok``: Gemm, 2-D MatMul, Conv), with an elementwise consumer (a ``graphc.Fused``
op or one ELEMWISE/BROADCAST op with a ``scalar``) of the same output shape and dtype, becomes
one ``graphc.WithEpilogue`` op: the bias, the activation (forward) or the activation's gradient
mask (backward: ``ReluGrad(dY W^T, y)``) is computed on each finished GEMM tile while it is in
cache. The consumer's other inputs must broadcast as a full tensor, a per-row or per-column
vector (per-channel for Conv) or a scalar (codegen/kernels/epilogue.py). The product stays materialized (the
op's first output) when anything else reads it; the graph stays acyclic (no other input of the
consumer depends on the product); consumers that update a buffer in place are left alone.
"""
from __future__ import annotations

import networkx as nx

from ..codegen.kernels.epilogue import layout
from ..ir import FLOAT_DTYPES
from ..ops import registry
from ..ops.registry import BROADCAST, ELEMWISE, OUT_EWISE_FUSABLE


def _consumer_ok(g, c, y, t, view):
    """Whether ``c`` can run as the epilogue of the product ``y`` (type ``t``)."""
    opdef = registry.get(c.op_type, c.domain)
    if opdef.pattern not in (ELEMWISE, BROADCAST) or opdef.scalar is None:
        return False
    outs = g.op_outputs(c)
    if any(g.value(o).type != t for o in outs):
        return False
    if set(g.aliases).intersection(outs):  # an in-place update: its output buffer is an input's
        return False
    for v in g.op_inputs(c):
        if v is None or v == y:
            continue
        vt = g.value(v).type
        if vt.dtype != t.dtype or layout(vt.shape, t.shape, view) is None:
            return False
    return True


def _body(g, c, y, extras):
    """The consumer as an epilogue body: slot 0 = ``y``, 1..E = ``extras``, results after them."""
    slot = {y: 0, **{v: 1 + i for i, v in enumerate(extras)}}
    ins = g.op_inputs(c)
    if registry.is_op(c, "Fused", "graphc"):
        n_in, base = len(ins), 1 + len(extras)

        def remap(a):
            return -1 if a < 0 else (slot[ins[a]] if a < n_in else a - n_in + base)
        body = tuple((t, d, at, tuple(remap(a) for a in args), tuple(remap(r) for r in res))
                     for t, d, at, args, res in c.attrs["body"])
        return body, tuple(remap(o) for o in c.attrs["outputs"])
    base = 1 + len(extras)
    res = tuple(range(base, base + len(g.op_outputs(c))))
    step = (c.op_type, c.domain, tuple(sorted(c.attrs.items())),
            tuple(-1 if v is None else slot[v] for v in ins), res)
    return (step,), res


def _fuse_one(g, op):
    opdef = registry.get(op.op_type, op.domain)
    if opdef.pattern != OUT_EWISE_FUSABLE or getattr(opdef, "epilogue_ok", None) is None:
        return False
    outs = g.op_outputs(op)
    ins = list(g.op_inputs(op))
    while ins and ins[-1] is None:
        ins.pop()
    if len(outs) != 1 or None in ins:
        return False
    y = outs[0]
    t = g.value(y).type
    if t.dtype not in FLOAT_DTYPES or t.rank < 1 or y in g.aliases:
        return False
    if not opdef.epilogue_ok(op, [g.value(v).type for v in ins], t):
        return False
    for c in g.consumers(y):
        if not _consumer_ok(g, c, y, t, getattr(opdef, "epilogue_view", "matrix")):
            continue
        extras = list(dict.fromkeys(v for v in g.op_inputs(c) if v is not None and v != y))
        # an extra input computed from the product would make the fused op its own ancestor
        if any(op.name in nx.ancestors(g.nx, v) for v in extras):
            continue
        body, ep_outs = _body(g, c, y, extras)
        keep_raw = y in g.outputs or any(o.name != c.name for o in g.consumers(y))
        c_outs = g.op_outputs(c)
        new_outs = ([y] if keep_raw else []) + list(c_outs)
        ep_outs = ((0,) if keep_raw else ()) + ep_outs
        attrs = {"producer": (op.op_type, op.domain, tuple(sorted(op.attrs.items()))), "n_producer": len(ins),
                 "body": body, "outputs": ep_outs, "dtype": t.dtype}
        name, meta = op.name, dict(op.meta)
        g.remove_op(op)
        g.remove_op(c)
        if not keep_raw:
            g.remove_value(y)
        g.add_op("WithEpilogue", ins + extras, new_outs, attrs, name=f"{name}_ep", domain="graphc", **meta)
        return True
    return False


def fuse_epilogue(g):
    for op in g.ops():
        if op.name in g.nx:  # (a consumer fused earlier is gone)
            _fuse_one(g, op)
    return g
