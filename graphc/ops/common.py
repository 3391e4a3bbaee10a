"""Shape-inference helpers shared by op entries."""
from __future__ import annotations

from ..errors import NotConstantError, ShapeError
from ..ir import TensorType


def broadcast_shapes(*shapes, where=""):
    """numpy broadcasting over shapes whose dims may be symbols (a symbol matches only itself or 1)."""
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for a in range(rank):
        dims = [s[a - rank + len(s)] for s in shapes if a - rank + len(s) >= 0]
        real = {d for d in dims if d != 1}
        if len(real) > 1:
            raise ShapeError(f"{where}: shapes {[tuple(s) for s in shapes]} cannot be broadcast (axis {a}: {sorted(map(str, real))})")
        out.append(real.pop() if real else 1)
    return tuple(out)


def same_as_input(op, in_types, g):
    return [in_types[0]]


def broadcast_infer(op, in_types, g):
    present = [t for t in in_types if t is not None]
    dtypes = {t.dtype for t in present}
    if len(dtypes) > 1:
        raise ShapeError(f"op {op.name!r} ({op.op_type}): inputs must share a dtype, got {sorted(dtypes)}")
    return [TensorType(present[0].dtype, broadcast_shapes(*(t.shape for t in present), where=f"op {op.name!r} ({op.op_type})"))]


def norm_axis(axis, rank, where=""):
    if not -rank <= axis < max(rank, 1):
        raise ShapeError(f"{where}: axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def const_value(g, v, where=""):
    """The numpy value of a const input (shape inference needs it for Reshape's shape, ...)."""
    val = g.value(v) if g is not None and v is not None else None
    if val is None or val.role != "const" or val.data is None:
        raise NotConstantError(f"{where}: input {v!r} must be a constant known at compile time", v)
    return val.data
