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

from ..codegen.kernels.epilogue import Epilogue, body_op
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
        (y,) = run_reference(prod, arrays[:n])
        outs = run_reference(body_op(op.attrs), [y] + list(arrays[n:]))
        return tuple(np.broadcast_to(o, y.shape).astype(op.attrs["dtype"]) for o in outs)

    def emit(self, k, op):
        prod = producer_op(op)
        n = op.attrs["n_producer"]
        raw_out = op.attrs["outputs"][0] == 0
        opdef = get(prod.op_type, prod.domain)
        ep = Epilogue(k, op.attrs, k.inputs[n:], k.in_types[n:], k.out_types, raw_out,
                      getattr(opdef, "epilogue_view", "matrix"))
        opdef.emit(k, prod, epilogue=ep, n_in=n)
