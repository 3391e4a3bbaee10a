"""graphc.WithEpilogue: a product (Gemm, MatMul) whose elementwise consumers run on its tiles.

Made by passes/fuse_epilogue. Inputs: the producer's inputs (``producer`` = (op_type, domain,
attrs) says which op and ``n_producer`` how many inputs it takes), then the epilogue's extra
inputs. ``body``/``outputs``/``dtype`` are a ``graphc.Fused`` program whose slot 0 is the
product and slots 1..E the extra inputs (see codegen/kernels/epilogue.py for how each extra
input may broadcast). The op's outputs are the body's ``outputs``; when slot 0 (the product
itself) is one of them it comes first.

The producer's OpDef provides ``epilogue_ok(op, in_types, out_type)`` (whether its kernel can
take an epilogue), ``emit(k, op, epilogue, n_in)`` and optionally ``epilogue_view`` ("matrix",
the default, or "channels" for NCHW Conv: how extra inputs broadcast).
"""
from __future__ import annotations

import numpy as np

from ..codegen.kernels.epilogue import Epilogue, body_op, layout
from ..ir import Op, TensorType
from .registry import OUT_EWISE_FUSABLE, OpDef, get, register_op, run_reference


def producer_op(op):
    op_type, domain, attrs = op.attrs["producer"]
    return Op(f"{op.name}/{op_type}", op_type, dict(attrs), domain)


@register_op("WithEpilogue", pattern=OUT_EWISE_FUSABLE, domain="graphc", schema=False)
class WithEpilogue(OpDef):
    dtypes = ("float32", "float64")
    num_inputs = (1, 1024)
    num_outputs = (1, 1024)
    attr_defaults = {"producer": None, "n_producer": 0, "body": None, "outputs": None, "dtype": "float32"}

    def infer(self, op, in_types, g):
        prod = producer_op(op)
        n = op.attrs["n_producer"]
        t = get(prod.op_type, prod.domain).infer_types(prod, in_types[:n], g)[0]
        return [TensorType(op.attrs["dtype"], t.shape) for _ in op.attrs["outputs"]]

    def workspace(self, op, in_types):
        prod = producer_op(op)
        return get(prod.op_type, prod.domain).workspace(prod, in_types[:op.attrs["n_producer"]])

    def reference(self, op, *arrays):
        prod = producer_op(op)
        n = op.attrs["n_producer"]
        split = getattr(get(prod.op_type, prod.domain), "split_pool", None)
        prod, post = split(prod) if split is not None else (prod, None)  # a fused pool runs after the body
        (y,) = run_reference(prod, arrays[:n])
        outs = run_reference(body_op(op.attrs), [y] + list(arrays[n:]))
        outs = tuple(np.broadcast_to(o, y.shape).astype(op.attrs["dtype"]) for o in outs)
        return outs if post is None else tuple(post(o) for o in outs)

    def with_pool(self, op, pool, in_types):
        """New attributes computing ``pool(body(product))`` in the producer's kernel (passes/fuse_pool),
        or None: the producer must take a pool, and the body must have one result and read only
        per-channel or scalar extra inputs (a full-size input has no pooled counterpart)."""
        prod = producer_op(op)
        opdef = get(prod.op_type, prod.domain)
        hook = getattr(opdef, "with_pool", None)
        n = op.attrs["n_producer"]
        if hook is None or len(op.attrs["outputs"]) != 1 or op.attrs["outputs"][0] == 0:
            return None
        out_t = opdef.infer_types(prod, in_types[:n])[0]
        view = getattr(opdef, "epilogue_view", "matrix")
        if any(layout(t.shape, out_t.shape, view) not in ("row", "scalar") for t in in_types[n:]):
            return None
        attrs = hook(prod, pool, in_types[:n])
        if attrs is None:
            return None
        return {**op.attrs, "producer": (prod.op_type, prod.domain, tuple(sorted(attrs.items())))}

    def emit(self, k, op):
        prod = producer_op(op)
        n = op.attrs["n_producer"]
        raw_out = op.attrs["outputs"][0] == 0
        opdef = get(prod.op_type, prod.domain)
        ep = Epilogue(k, op.attrs, k.inputs[n:], k.in_types[n:], k.out_types, raw_out,
                      getattr(opdef, "epilogue_view", "matrix"))
        opdef.emit(k, prod, epilogue=ep, n_in=n)
