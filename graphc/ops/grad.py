"""graphc-domain helper ops used by gradient rules (not ONNX; never exported)."""
from __future__ import annotations

import numpy as np

from ..codegen.loops import const
from ..ir import TensorType
from .registry import BROADCAST, OPAQUE, OpDef, register_op

DOMAIN = "graphc"


@register_op("ExpandAs", pattern=BROADCAST, domain=DOMAIN, schema=False)
class ExpandAs(OpDef):
    """ExpandAs(x, like): broadcast x to like's shape (like's values are never read).

    ONNX's Expand takes the shape as a tensor, which cannot name a symbolic batch; gradients
    of reductions and broadcasts need exactly that.
    """
    num_inputs = (2, 2)

    def infer(self, op, in_types, g):
        return [TensorType(in_types[0].dtype, in_types[1].shape)]

    def reference(self, op, x, like):
        return np.broadcast_to(x, like.shape).copy()

    def scalar(self, s, op, x, like):
        return x


@register_op("SizeRatio", pattern=OPAQUE, domain=DOMAIN, schema=False)
class SizeRatio(OpDef):
    """SizeRatio(a, b) -> scalar numel(a) / numel(b) in a's dtype, from run-time sizes."""
    num_inputs = (2, 2)

    def infer(self, op, in_types, g):
        return [TensorType(in_types[0].dtype, ())]

    def reference(self, op, a, b):
        return np.asarray(a.size / b.size, dtype=a.dtype)

    def emit(self, k, op):
        s = k.scalar(k.out_types[0].dtype)
        num, den = k.numel(k.in_types[0]), k.numel(k.in_types[1])
        k.store(s.div(k.b.sitofp(num, s.ty), k.b.sitofp(den, s.ty)), k.outputs[0], const(0), k.out_types[0].dtype)
        k.b.ret_void()
