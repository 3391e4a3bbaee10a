"""Shape and type inference over the whole graph.

Requires: graph inputs, params, states and consts typed; every op registered.
Guarantees: every value has a TensorType; a value that already had one and disagrees raises
ShapeError naming the op (so a front end's shapes are checked against the registry's).
"""
from ..errors import ShapeError
from ..ops import registry


def infer_shapes(g):
    for op in g.ops():
        opdef = registry.get(op.op_type, op.domain)
        in_types = [None if v is None else g.value(v).type for v in g.op_inputs(op)]
        if any(t is None for v, t in zip(g.op_inputs(op), in_types) if v is not None):
            raise ShapeError(f"op {op.name!r} ({op.op_type}): an input has no type: {g.op_inputs(op)}")
        for v, t in zip(g.op_outputs(op), opdef.infer_types(op, in_types, g)):
            old = g.value(v).type
            if old is not None and (old.dtype != t.dtype or len(old.shape) != len(t.shape) or any(
                    a != b for a, b in zip(old.shape, t.shape) if isinstance(a, int) and isinstance(b, int))):
                raise ShapeError(f"op {op.name!r} ({op.op_type}): output {v!r} was typed {old} but infers as {t}")
            g.value(v).type = t
    return g
