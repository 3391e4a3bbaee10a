"""Symbolic shape values: integer tensors whose entries are known ints or graph symbols.

Exporters compute shapes from the dynamic batch size: PyTorch's LSTM builds its zero initial
state with ``Shape -> Gather -> Unsqueeze -> Concat -> ConstantOfShape``, ``view(x.size(0), -1)``
becomes ``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``, tf2onnx expands the state with
``Shape -> Slice -> Concat -> Expand``. Those tensors are run-time values (the batch is a
symbol), but their entries are known *as symbols*: ``[1, "N", 8]``. ``shape_value(g, v)``
walks a value's producers and returns that array (numpy ``object`` dtype; entries int, symbol
name, or None for an entry nothing here can name, such as ``N*3``), and ``shape_input`` gives the
ops that read a shape (Reshape, Expand, ConstantOfShape) their target as a list of dims, so the
op gets a static-or-symbolic output type while the chain itself still runs at run time (its
kernels are tiny) and the exported graph keeps it as written.

Each op opts in with an ``OpDef.symbolic(op, in_types, vals)`` rule (``vals``: the inputs'
values, a numpy array for consts, an object array for symbolic values, None when unknown),
returning one array (or None) per output. Data-movement ops reuse their numpy reference on the
object arrays; arithmetic and comparisons follow the rules below (a symbol is a dim >= 0, so
``N * 1 = N``, ``N + 0 = N``, ``N - N = 0``, ``N == -1`` is False, ``N * 2`` is unknown).
"""
from __future__ import annotations

import numpy as np

from ..errors import NotConstantError, ShapeError
from ..ir import CONST
from . import registry

_MAX_DEPTH = 64


def shape_value(g, name, _memo=None, _depth=0):
    """The value of integer tensor ``name`` as ints/symbols (an array; object dtype when some entry
    is a symbol or unknown), or None when it is not computable from types and consts."""
    if g is None or name is None:
        return None
    memo = {} if _memo is None else _memo
    if name in memo:
        return memo[name]
    memo[name] = None  # cycles and deep chains give up
    val = g.value(name)
    if val.role == CONST and val.data is not None:
        out = np.asarray(val.data)
        memo[name] = out if out.dtype.kind in "iub" else None
        return memo[name]
    op = g.producer(name)
    if op is None or _depth > _MAX_DEPTH or val.type is None or val.type.dtype not in ("int64", "int32", "bool") \
            or val.type.rank > 1 or not val.type.is_static:
        return None
    rule = registry.get(op.op_type, op.domain).symbolic
    if rule is None:
        return None
    ins = g.op_inputs(op)
    in_types = [None if v is None else g.value(v).type for v in ins]
    vals = [None if v is None else shape_value(g, v, memo, _depth + 1) for v in ins]
    try:
        outs = rule(op, in_types, vals)
    except (ValueError, TypeError, IndexError, ShapeError, ArithmeticError):
        outs = None
    if outs is None:
        return None
    for o, r in zip(g.op_outputs(op), registry.as_tuple(outs)):
        if r is not None:
            r = np.asarray(r, dtype=object if np.asarray(r).dtype == object else None)
            if tuple(r.shape) != tuple(g.value(o).type.shape or ()) and g.value(o).type.is_static:
                r = None  # a rule that disagrees with the inferred type is not trusted
        memo[o] = r
    return memo.get(name)


def is_known(arr) -> bool:
    """Whether every entry is an int (no symbol, nothing unknown)."""
    return arr is not None and (arr.dtype != object or all(isinstance(e, (int, np.integer)) for e in arr.reshape(-1)))


def shape_input(op, in_types, g, slot, what="the shape input"):
    """Input ``slot`` as a list of dims (int, symbol name, or None = unknown). Raises when the input
    is neither a const nor a symbolic shape value."""
    name = g.op_inputs(op)[slot] if g is not None and slot < len(g.op_inputs(op)) else None
    arr = shape_value(g, name)
    where = f"op {op.name!r} ({op.op_type})"
    if arr is None:
        raise NotConstantError(f"{where} input {slot}: {what} {name!r} must be a constant or computed from "
                               f"tensor shapes (Shape/Gather/Concat/... of known or symbolic dims)", name)
    if arr.ndim > 1 or (arr.dtype != object and arr.dtype.kind not in "iu"):
        raise ShapeError(f"{where}: {what} must be a 1-D integer tensor, received {arr.dtype} of shape {arr.shape}")
    return [e if e is None or isinstance(e, str) else int(e) for e in arr.reshape(-1)]


# --- element rules -------------------------------------------------------------------------
def _sym(e):
    return isinstance(e, str)


def _add(a, b):
    if a is None or b is None:
        return None
    if not _sym(a) and not _sym(b):
        return int(a) + int(b)
    return a if b == 0 else b if a == 0 else None


def _sub(a, b):
    if a is None or b is None:
        return None
    if not _sym(a) and not _sym(b):
        return int(a) - int(b)
    return 0 if a == b else a if b == 0 else None


def _mul(a, b):
    if a is None or b is None:
        return None
    if not _sym(a) and not _sym(b):
        return int(a) * int(b)
    return 0 if 0 in (a, b) else a if b == 1 else b if a == 1 else None


def _div(a, b):  # ONNX integer Div truncates toward zero
    if a is None or b is None:
        return None
    if not _sym(a) and not _sym(b):
        return int(np.trunc(int(a) / int(b))) if int(b) else None
    return 1 if a == b else a if b == 1 else None


def _max(a, b):
    if a is None or b is None:
        return None
    if not _sym(a) and not _sym(b):
        return max(int(a), int(b))
    if a == b:
        return a
    s, n = (a, b) if _sym(a) else (b, a)
    return s if not _sym(n) and int(n) <= 0 else None  # symbols are dims >= 0


def _min(a, b):
    if a is None or b is None:
        return None
    if not _sym(a) and not _sym(b):
        return min(int(a), int(b))
    if a == b:
        return a
    s, n = (a, b) if _sym(a) else (b, a)
    return n if not _sym(n) and int(n) <= 0 else None


def _equal(a, b):
    if a is None or b is None:
        return None
    if not _sym(a) and not _sym(b):
        return bool(int(a) == int(b))
    if a == b:
        return True
    n = b if _sym(a) else a
    return False if not _sym(n) and int(n) < 0 else None  # a dim is never negative


def _elementwise(fn, reduce_variadic=False):
    def rule(self, op, in_types, vals):
        if any(v is None for v in vals) or all(v.dtype != object for v in vals):
            return None  # all-const inputs fold through the reference instead
        f = np.frompyfunc(fn, 2, 1)
        out = vals[0].astype(object)
        for v in vals[1:]:
            out = f(out, v.astype(object))
        return [np.asarray(out, dtype=object)]
    return rule


def _by_reference(self, op, in_types, vals):
    """Data movement: the numpy reference moves symbols like numbers. Only the data input may be
    symbolic; axes/indices/starts must be known ints."""
    if any(v is None for v in vals) or any(not is_known(v) for v in vals[1:]):
        return None
    args = [vals[0].astype(object)] + [np.asarray(v) for v in vals[1:]]
    while args and args[-1] is None:
        args.pop()
    return [np.asarray(r, dtype=object) for r in registry.as_tuple(self.reference(op, *args))]


def _concat(self, op, in_types, vals):
    if any(v is None for v in vals):
        return None
    return [np.concatenate([v.astype(object) for v in vals], axis=op.attrs["axis"])]


def _shape(self, op, in_types, vals):
    dims = [in_types[0].shape[a] for a in self.axes(op, in_types[0].rank)]
    return [np.array(dims, dtype=object).reshape(len(dims))]


def _size(self, op, in_types, vals):
    out = 1
    for d in in_types[0].shape:
        out = _mul(out, d)
    return [np.array(out, dtype=object)]


def _cast(self, op, in_types, vals):  # Cast and CastLike
    to = in_types[1].dtype if len(in_types) > 1 else self.to(op)
    if vals[0] is None or to == "bool" or vals[0].dtype != object:
        return None
    return [vals[0].copy()]  # ints and symbols keep their value through int and float types


def _identity(self, op, in_types, vals):
    return None if vals[0] is None else [vals[0].copy()]


def _where(self, op, in_types, vals):
    c, a, b = vals
    if c is None or a is None or b is None or not is_known(c):
        return None
    return [np.where(c.astype(bool), a.astype(object), b.astype(object))]


def _constant_of_shape(self, op, in_types, vals):
    if vals[0] is None or not is_known(vals[0]):
        return None
    return [np.full([int(d) for d in vals[0].reshape(-1)], self.value(op)[0]).astype(object)]


def install():
    """Give the registered ops their rules (``graphc.ops`` calls it once every op is registered)."""
    for t in ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Gather", "Slice", "Transpose", "Expand"):
        type(registry.get(t)).symbolic = _by_reference
    for t, fn in (("Add", _add), ("Sub", _sub), ("Mul", _mul), ("Div", _div), ("Max", _max), ("Min", _min),
                  ("Equal", _equal)):
        type(registry.get(t)).symbolic = _elementwise(fn)
    for t, rule in (("Concat", _concat), ("Shape", _shape), ("Size", _size), ("Cast", _cast), ("CastLike", _cast),
                    ("Identity", _identity), ("Where", _where), ("ConstantOfShape", _constant_of_shape)):
        type(registry.get(t)).symbolic = rule

