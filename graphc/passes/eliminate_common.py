"""Common-subexpression elimination.

Requires: a typed graph. Guarantees: no two consts hold the same small array (same dtype, shape and
bytes), and no two ops of a deterministic kind (``OpDef.deterministic``) compute the same op type,
domain and attributes over the same inputs; the later duplicate's readers read the first one's
outputs. Values that are graph outputs or in-place updates (``Graph.aliases``) keep their own
producer, so the interface and the update schedule do not change.

Optimizers update each parameter with a copy of the same step-dependent scalars (Adam's bias
corrections: ``1 - beta ** t`` per parameter): one copy computes them for all.
"""
from __future__ import annotations

import numpy as np

from ..ir import CONST
from ..ops import registry

# consts up to this many elements are compared by value
MAX_CONST_ELEMENTS = 4096


def _const_key(v):
    a = v.data
    if a is None or a.size > MAX_CONST_ELEMENTS:
        return None
    return ("const", str(a.dtype), a.shape, a.tobytes())


def _frozen(v):
    """A hashable, exact stand-in for an attribute value (numpy arrays by their bytes: their repr elides)."""
    if isinstance(v, np.ndarray):
        return ("ndarray", str(v.dtype), v.shape, v.tobytes())
    if isinstance(v, (list, tuple)):
        return (type(v).__name__,) + tuple(_frozen(x) for x in v)
    if isinstance(v, dict):
        return ("dict",) + tuple(sorted((k, _frozen(x)) for k, x in v.items()))
    return (type(v).__name__, repr(v))


def _attr_key(attrs):
    return tuple(sorted((k, _frozen(v)) for k, v in attrs.items()))


def eliminate_common(g):
    kept = set(g.outputs) | set(g.aliases) | set(g.aliases.values())
    first = {}
    for v in g.values(CONST):
        key = _const_key(v)
        if key is None or v.name in kept:
            continue
        if key in first:
            g.replace_uses(v.name, first[key])
            g.remove_value(v.name)
        else:
            first[key] = v.name
    seen = {}
    for op in g.ops():
        if not registry.get(op.op_type, op.domain).deterministic:
            continue
        outs = g.op_outputs(op)
        if any(o in kept for o in outs):
            continue
        key = (op.domain, op.op_type, _attr_key(op.attrs), tuple(g.op_inputs(op)))
        other = seen.get(key)
        if other is None:
            seen[key] = op
            continue
        for mine, theirs in zip(outs, g.op_outputs(other)):
            g.replace_uses(mine, theirs)
        g.remove_op(op)
        for o in outs:
            g.remove_value(o)
    return g
