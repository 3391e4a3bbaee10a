"""graphc.Fused: a group of elementwise ops computed in ONE loop (made by passes/fuse_elementwise).

``body`` is a small program over value slots: slots 0..n_in-1 are the op's inputs; each step
``(op_type, domain, attrs, args, results)`` applies a registered elementwise op's ``scalar`` to
the slots ``args`` (-1 = an absent optional input) and writes ``results``; ``outputs`` lists
the slots that leave the loop. The body is part of the attributes, so it is printed and keys
the compile cache.
"""
from __future__ import annotations

import numpy as np

from ..ir import Op, TensorType
from .common import broadcast_shapes
from .registry import ELEMWISE, OpDef, get, register_op, run_reference


def _steps(op):
    for op_type, domain, attrs, args, results in op.attrs["body"]:
        yield get(op_type, domain), Op(f"{op.name}/{op_type}", op_type, dict(attrs), domain), args, results


@register_op("Fused", pattern=ELEMWISE, domain="graphc", schema=False)
class Fused(OpDef):
    dtypes = ("float32", "float64", "int64", "int32")  # a group's ops share its dtype and each supports it
    num_inputs = (1, 1024)
    num_outputs = (1, 1024)
    attr_defaults = {"body": None, "outputs": None, "dtype": "float32"}

    def infer(self, op, in_types, g):
        shape = broadcast_shapes(*(t.shape for t in in_types if t is not None), where=f"op {op.name!r} (Fused)")
        return [TensorType(op.attrs["dtype"], shape) for _ in op.attrs["outputs"]]

    def reference(self, op, *arrays):
        env = list(arrays)
        for opdef, sub, args, results in _steps(op):
            outs = run_reference(sub, [None if a < 0 else env[a] for a in args])
            env.extend([None] * (max(results) + 1 - len(env)))
            for r, v in zip(results, outs):
                env[r] = v
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays if a is not None))
        return tuple(np.broadcast_to(env[i], shape).astype(op.attrs["dtype"]) for i in op.attrs["outputs"])

    def scalar(self, s, op, *xs):
        env = list(xs)
        for opdef, sub, args, results in _steps(op):
            res = opdef.scalar(s, sub, *[None if a < 0 else env[a] for a in args])
            res = res if isinstance(res, (list, tuple)) else [res]
            env.extend([None] * (max(results) + 1 - len(env)))
            for r, v in zip(results, res):
                env[r] = v
        return [env[i] for i in op.attrs["outputs"]]
