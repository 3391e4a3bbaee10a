"""Layout pass: push Transposes through elementwise ops and cancel inverse pairs.

Keras is channels_last, ONNX's Conv/Pool are NCHW: Keras layers lower with a Transpose at
each boundary (NHWC->NCHW before, NCHW->NHWC after). Between two such layers the pair
composes to the identity and disappears, so a Conv-Pool-Conv stack runs NCHW throughout and
only the model's first and last boundaries keep a Transpose.

Requires: typed graph. Guarantees: no Transpose feeds only a Transpose; no identity Transpose
remains; an elementwise op whose tensor inputs all come from the same single-use Transpose
(other inputs being scalars) now runs before it.
"""
from ..ir import TensorType
from ..ops import registry
from ..ops.registry import BROADCAST, ELEMWISE
from .match import is_op, producer_if, single_use


def _perm(g, t):
    """A Transpose's permutation (ONNX default when the attribute is absent: reverse the axes)."""
    return tuple(registry.get("Transpose").perm(t, g.value(g.op_inputs(t)[0]).type.rank))


def _is_scalar(g, v):
    t = g.value(v).type
    return t.is_static and t.numel() == 1


def _drop_if_unused(g, op):
    outs = g.op_outputs(op)
    if all(not g.consumers(v) and v not in g.outputs for v in outs):
        g.remove_op(op)
        for v in outs:
            g.remove_value(v)


def _push_through(g, op):
    """op(T(x), T(y), scalar) -> T(op(x, y, scalar))."""
    if len(g.op_outputs(op)) != 1:
        return False
    perm, new_ins, transposes = None, [], []
    for v in g.op_inputs(op):
        if v is None or _is_scalar(g, v):
            new_ins.append(v)
            continue
        t = producer_if(g, v, "Transpose")
        if t is None or not single_use(g, v) or perm not in (None, _perm(g, t)):
            return False
        perm = _perm(g, t)
        new_ins.append(g.op_inputs(t)[0])
        transposes.append(t)
    if perm is None:
        return False
    out = g.op_outputs(op)[0]
    out_t = g.value(out).type
    inner_shape = tuple(out_t.shape[perm.index(a)] for a in range(len(perm)))
    inner = g.add_value(out + "_t", TensorType(out_t.dtype, inner_shape)).name
    g.remove_op(op)
    g.add_op(op.op_type, new_ins, [inner], op.attrs, name=op.name, domain=op.domain, **op.meta)
    g.add_op("Transpose", [inner], [out], {"perm": list(perm)}, name=op.name + "_t")
    for t in transposes:
        if t.name in g.nx:
            _drop_if_unused(g, t)
    return True


def _compose(g, t2):
    src = g.op_inputs(t2)[0]
    t1 = producer_if(g, src, "Transpose")
    if t1 is None:
        return False
    p1, p2 = _perm(g, t1), _perm(g, t2)
    perm = [p1[i] for i in p2]
    x = g.op_inputs(t1)[0]
    out = g.op_outputs(t2)[0]
    g.remove_op(t2)
    if perm == sorted(perm) and out not in g.outputs:
        g.replace_uses(out, x)
        g.remove_value(out)
    elif perm == sorted(perm):
        g.add_op("Identity", [x], [out], name=t2.name)
    else:
        g.add_op("Transpose", [x], [out], {"perm": perm}, name=t2.name)
    _drop_if_unused(g, t1)
    return True


def cancel_transposes(g):
    changed = True
    while changed:
        changed = False
        for op in g.ops():
            if op.name not in g.nx:
                continue
            if is_op(op, "Transpose"):
                changed |= _compose(g, op)
            elif registry.get(op.op_type, op.domain).pattern in (ELEMWISE, BROADCAST):
                changed |= _push_through(g, op)
    return g
