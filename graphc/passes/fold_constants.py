"""Constant folding: ops whose results are known at compile time become consts.

An op folds when all its inputs are consts (evaluated with its numpy reference), or when its
registry entry computes its result from the input *types* alone (``OpDef.fold_from_types``:
Shape of a tensor whose dims are static), or when its outputs are shape arithmetic whose entries
are all known ints (``ops.symbolic``: ``Gather(Shape(x), 1)`` with ``x: [N, 6, 4]`` is 6). So the Shape -> Gather -> Unsqueeze -> Concat ->
Reshape / ConstantOfShape chains that exporters write fold away when the shapes are static.

Requires: typed graph. Params, states and inputs are never folded: they change at run time.
Guarantees: no op reads only consts (unless its reference raised); the folded values are
consts with the same names and types.
"""
import numpy as np

from ..ir import CONST, TensorType, dtype_name
from ..ops import registry
from ..ops.symbolic import is_known, shape_value


def _known_shape_values(g, op, opdef):
    """The outputs of shape arithmetic whose entries are all known ints although an input is computed
    at run time (``Gather(Shape(x), 1)`` of an ``x`` typed ``[N, 6, 4]`` is 6), else None."""
    if opdef.symbolic is None:
        return None
    outs = [shape_value(g, v) for v in g.op_outputs(op)]
    if not all(is_known(r) for r in outs):
        return None
    return tuple(np.asarray(r.tolist() if r.dtype == object else r, dtype=np.dtype(g.value(v).type.dtype))
                 for r, v in zip(outs, g.op_outputs(op)))


def fold_op(g, op) -> bool:
    """Fold one op in place if its outputs are compile-time constants; returns whether it did."""
    ins = g.op_inputs(op)
    opdef = registry.get(op.op_type, op.domain)
    if ins and all(v is None or g.value(v).role == CONST for v in ins):
        arrays = [None if v is None else g.value(v).data for v in ins]
        while arrays and arrays[-1] is None:
            arrays.pop()
        try:
            results = registry.run_reference(op, arrays)
        except NotImplementedError:
            return False
    else:
        results = opdef.fold_from_types(op, [None if v is None else g.value(v).type for v in ins])
        if results is None:
            results = _known_shape_values(g, op, opdef)
        if results is None:
            return False
        results = tuple(np.asarray(r) for r in registry.as_tuple(results))
    outs = g.op_outputs(op)
    g.remove_op(op)
    for v, r in zip(outs, results):
        val = g.value(v)
        r = np.array(r, dtype=r.dtype if val.type is None else np.dtype(val.type.dtype), order="C")  # keeps 0-d
        val.role, val.data, val.type = CONST, r, TensorType(dtype_name(r.dtype), r.shape)
    return True


def fold_constants(g):
    for op in g.ops():
        fold_op(g, op)
    return g
