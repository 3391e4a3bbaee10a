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

The ``channels`` view (Conv, NCHW) sees each image as (channels, positions): a ``row`` input is
per channel ((C, 1, 1) or (1, C, 1, 1), a Conv bias), ``full`` inputs are offset by the image
(``set_base``), and the producer passes the channel as the row. Conv's unfolded path computes
several images per GEMM into a workspace and applies the epilogue while copying the result out
(:meth:`Epilogue.inline`), still one pass instead of two.
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


def layout(in_shape, out_shape, view="matrix"):
    """How an input of ``in_shape`` broadcasts onto an output of ``out_shape`` seen as
    (prod(leading dims), last dim) (``view="matrix"``) or as per-image (channels, positions)
    (``view="channels"``): one of LAYOUTS, or None when it is none of them."""
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    if len(in_shape) > len(out_shape) or not out_shape:
        return None
    pad = (1,) * (len(out_shape) - len(in_shape)) + in_shape
    if pad == out_shape:
        return "full"
    if _static(pad) and math.prod(pad) == 1:
        return "scalar"
    if view == "channels":
        ok = len(out_shape) > 2 and pad[1] == out_shape[1] and all(d == 1 for i, d in enumerate(pad) if i != 1)
        return "row" if ok else None
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

    def __init__(self, k, attrs, extras, extra_types, out_types, raw_out, view="matrix"):
        self.k, self.dtype = k, attrs["dtype"]
        self.op = body_op(attrs, f"{k.fn.name}.ep")
        self.extras, self.outs, self.raw_out = list(extras), list(k.outputs[:len(out_types)]), raw_out
        out_t = out_types[0]
        self.layouts = [layout(t.shape, out_t.shape, view) for t in extra_types]
        if None in self.layouts:
            raise ValueError(f"{k.op.name}: an epilogue input does not broadcast onto {out_t.shape} as a row, column or scalar")
        # elements per row of the (rows, cols) view: the last dim, or an image's positions
        self.cols = k.dim(out_t, out_t.rank - 1) if view == "matrix" else k.numel(out_t, 2)
        self._data = self._st = None

    def set_base(self, base):
        """The element offset of ``full`` inputs and outputs for the next GEMM call (an image's start)."""
        b = self.k.b
        b.store(base, b.gep(self._data, [const(0, I32), const(len(self._st.elements) - 1, I32)], source_etype=self._st))

    def inline(self, value, idx, row):
        """Apply the body to ``value`` (the product at flat output index ``idx``, row/channel ``row``)
        in the kernel itself: store every other output and return what ``outs[0]`` gets."""
        b, k = self.k.b, self.k
        ty = lltype(self.dtype)
        s = ScalarEmitter(b, self.dtype)
        from ...ops.registry import get
        at = {"full": idx, "row": row, "scalar": const(0)}
        xs = [value] + [b.load(b.gep(p, [at[lay]], source_etype=ty, inbounds=True), typ=ty)
                        for p, lay in zip(self.extras, self.layouts)]
        res = get("Fused", "graphc").scalar(s, self.op, *xs)
        for v, p in zip(res[1:], self.outs[1:]):
            b.store(v, b.gep(p, [idx], source_etype=ty, inbounds=True))
        return res[0]

    def args(self):
        """``(ep, ep_data)`` for the GEMM call: the callback and a struct holding every pointer and
        the output's row length, filled in the kernel's entry block."""
        b = self.k.b
        ptrs = self.extras + self.outs[1:]
        st = ir.LiteralStructType([PTR] * len(ptrs) + [I64, I64])
        with b.goto_entry_block():
            b.position_at_start(self.k.fn.entry_basic_block)
            data = b.alloca(st, name="ep.data")
            data.type = PTR
        for i, p in enumerate(ptrs + [self.cols, const(0)]):
            b.store(p, b.gep(data, [const(0, I32), const(i, I32)], source_etype=st))
        self._data, self._st = data, st
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
        ex, outs, cols, base = fields[:n_ex], fields[n_ex:-2], fields[-2], fields[-1]
        s = ScalarEmitter(b, self.dtype)
        from ...ops.registry import get
        fused = get("Fused", "graphc")

        def at(p, idx):
            return b.gep(p, [idx], source_etype=ty, inbounds=True)

        with for_range(b, mr, name="epr") as r:
            gi = b.add(row0, r)
            crow = b.mul(r, ldc)
            orow = b.add(base, b.mul(gi, cols))
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
