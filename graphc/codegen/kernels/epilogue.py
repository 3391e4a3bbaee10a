"""GEMM epilogues: an elementwise chain applied to each finished tile of a matrix product.

An op with an epilogue (``graphc.WithEpilogue``, made by passes/fuse_epilogue) computes a
product ``P`` (rows x cols: a Gemm's (M, N), a MatMul's output with its batch dims folded into
the rows) and then ``outs = body(P, extra inputs...)`` elementwise. The body is a
``graphc.Fused`` program whose slot 0 is ``P`` and whose slots 1..E are the extra inputs. The
GEMM helper calls the callback built here on every finished MR x NR tile, so the body runs on
data still in L1.

Each extra input is read with a layout relative to the (rows, cols) view of the output:

- ``full``: the output's own shape (element (i, j) at ``i * cols + j``);
- ``col``: one value per column (a Dense bias of shape (N,) or (1, N)): ``j``;
- ``row``: one value per row ((M, 1), or (..., 1) with the output's leading dims): ``i``;
- ``scalar``: one element: ``0``.

Anything else does not fuse (:func:`layout` returns None).
"""
from __future__ import annotations

import math

from llvmlite import ir

from ...ir import Op
from ..loops import I32, I64, const, for_range
from ..scalar import ScalarEmitter, lltype
from .gemm import EP_TYPE, PTR

LAYOUTS = ("full", "col", "row", "scalar")


def _static(shape):
    return all(isinstance(d, int) for d in shape)


def layout(in_shape, out_shape):
    """How an input of ``in_shape`` broadcasts onto an output of ``out_shape`` seen as
    (prod(leading dims), last dim): one of LAYOUTS, or None when it is none of them."""
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    if len(in_shape) > len(out_shape) or not out_shape:
        return None
    pad = (1,) * (len(out_shape) - len(in_shape)) + in_shape
    if pad == out_shape:
        return "full"
    if _static(pad) and math.prod(pad) == 1:
        return "scalar"
    if all(d == 1 for d in pad[:-1]) and pad[-1] == out_shape[-1]:
        return "col"
    if pad[-1] == 1 and pad[:-1] == out_shape[:-1]:
        return "row"
    return None


def body_op(attrs, name="epilogue"):
    """The ``graphc.Fused`` op that evaluates an epilogue's body (slot 0 = the product)."""
    return Op(name, "Fused", {"body": attrs["body"], "outputs": attrs["outputs"], "dtype": attrs["dtype"]}, "graphc")


class Epilogue:
    """The callback and its data for one kernel.

    ``extras``/``extra_types``: the extra input pointers and types; ``outs``/``out_types``: the
    op's outputs, ``outs[0]`` being the buffer the GEMM writes (the product or, when the product
    is not an output itself, the epilogue's first output, computed in place over it);
    ``raw_out``: whether ``outs[0]`` is the product itself (then the body's results start at
    ``outs[1]``).
    """

    def __init__(self, k, attrs, extras, extra_types, out_types, raw_out):
        self.k, self.dtype = k, attrs["dtype"]
        self.op = body_op(attrs, f"{k.fn.name}.ep")
        self.extras, self.outs, self.raw_out = list(extras), list(k.outputs[:len(out_types)]), raw_out
        out_shape = out_types[0].shape
        self.layouts = [layout(t.shape, out_shape) for t in extra_types]
        if None in self.layouts:
            raise ValueError(f"{k.op.name}: an epilogue input does not broadcast onto {out_shape} as a row, column or scalar")
        self.cols = k.dim(out_types[0], out_types[0].rank - 1)

    def args(self):
        """``(ep, ep_data)`` for the GEMM call: the callback and a struct holding every pointer and
        the output's row length, filled in the kernel's entry block."""
        b = self.k.b
        ptrs = self.extras + self.outs[1:]
        st = ir.LiteralStructType([PTR] * len(ptrs) + [I64])
        with b.goto_entry_block():
            b.position_at_start(self.k.fn.entry_basic_block)
            data = b.alloca(st, name="ep.data")
            data.type = PTR
        for i, p in enumerate(ptrs + [self.cols]):
            b.store(p, b.gep(data, [const(0, I32), const(i, I32)], source_etype=st))
        return self._function(st), data

    def _function(self, st):
        fn = ir.Function(self.k.module, EP_TYPE, self.op.name)
        fn.linkage = "internal"
        fn.attributes.add("nounwind")
        data, c, ldc, row0, col0, mr, nr = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        ty = lltype(self.dtype)
        fields = [b.load(b.gep(data, [const(0, I32), const(i, I32)], source_etype=st), typ=t)
                  for i, t in enumerate(st.elements)]
        n_ex = len(self.extras)
        ex, outs, cols = fields[:n_ex], fields[n_ex:-1], fields[-1]
        s = ScalarEmitter(b, self.dtype)
        from ...ops.registry import get
        fused = get("Fused", "graphc")

        def at(p, idx):
            return b.gep(p, [idx], source_etype=ty, inbounds=True)

        with for_range(b, mr, name="epr") as r:
            gi = b.add(row0, r)
            crow = b.mul(r, ldc)
            orow = b.mul(gi, cols)
            with for_range(b, nr, name="epc") as j:
                gj = b.add(col0, j)
                idx = {"full": b.add(orow, gj), "col": gj, "row": gi, "scalar": const(0)}
                xs = [b.load(at(c, b.add(crow, j)), typ=ty)]
                xs += [b.load(at(p, idx[lay]), typ=ty) for p, lay in zip(ex, self.layouts)]
                res = fused.scalar(s, self.op, *xs)
                if self.raw_out:
                    res = res[1:]
                else:
                    b.store(res[0], at(c, b.add(crow, j)))
                    res = res[1:]
                for v, p in zip(res, outs):
                    b.store(v, at(p, idx["full"]))
        b.ret_void()
        return fn
