"""Data-movement ops: Transpose (more shape ops join this family)."""
from __future__ import annotations

import numpy as np

from ..codegen.loops import dot, loop_nest
from ..codegen.kernels.elementwise import strides
from ..errors import ShapeError
from ..ir import TensorType
from .registry import INJECTIVE, OpDef, register_op


@register_op("Transpose", pattern=INJECTIVE)
class Transpose(OpDef):
    dtypes = ("float32", "float64", "int64", "int32", "bool")

    def perm(self, op, rank):
        p = op.attrs["perm"]
        return list(reversed(range(rank))) if p is None else list(p)

    def infer(self, op, in_types, g):
        x = in_types[0]
        p = self.perm(op, x.rank)
        if sorted(p) != list(range(x.rank)):
            raise ShapeError(f"op {op.name!r} (Transpose): perm {p} is not a permutation of {x.rank} axes")
        return [TensorType(x.dtype, tuple(x.shape[a] for a in p))]

    def reference(self, op, x):
        return np.transpose(x, self.perm(op, x.ndim))

    def emit(self, k, op):
        x_t, y_t = k.in_types[0], k.out_types[0]
        p = self.perm(op, x_t.rank)
        xs = strides(k, x_t, x_t.rank, [False] * x_t.rank)
        ys = strides(k, y_t, y_t.rank, [False] * y_t.rank)
        with loop_nest(k.b, k.shape(y_t), name="t") as idx:
            v = k.load(k.inputs[0], dot(k.b, idx, [xs[a] for a in p]), x_t.dtype)
            k.store(v, k.outputs[0], dot(k.b, idx, ys), y_t.dtype)
        k.b.ret_void()
