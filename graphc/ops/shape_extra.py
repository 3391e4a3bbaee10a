"""CastLike and Size (data-movement ops beside shape.py's).

CastLike(x, like) is Cast to ``like``'s element type (like's values are not read). Size is
the element count as an int64 scalar; constant folding computes it from a static input type
(``fold_from_types``), and the kernel multiplies the run-time dims otherwise.
"""
from __future__ import annotations

import numpy as np

from ..ir import TensorType, onnx_dtype
from .registry import INJECTIVE, register_op
from .shape import Cast, DataMovement, const


@register_op("CastLike", pattern=INJECTIVE)
class CastLike(Cast):
    def infer(self, op, in_types, g):
        return [TensorType(in_types[1].dtype, in_types[0].shape)]

    def reference(self, op, x, like):
        return x.astype(like.dtype)

    @staticmethod
    def grad(ctx, op, dys):
        x_t, dy = ctx.type(ctx.inputs[0]), dys[0]
        dx = dy if ctx.type(dy).dtype == x_t.dtype else ctx.emit("Cast", [dy], to=onnx_dtype(x_t.dtype))
        return [dx, None]


@register_op("Size", pattern=INJECTIVE)
class Size(DataMovement):
    def infer(self, op, in_types, g):
        return [TensorType("int64", ())]

    def reference(self, op, x):
        return np.array(x.size, dtype=np.int64)

    def fold_from_types(self, op, in_types):
        dims = in_types[0].shape
        return None if any(isinstance(d, str) for d in dims) else np.array(int(np.prod(dims)), dtype=np.int64)

    def emit(self, k, op):
        k.store(k.numel(k.in_types[0]), k.outputs[0], const(0), "int64")
        k.b.ret_void()

