"""Gemm and MatMul: both call the shared GEMM helper (codegen/kernels/gemm.py)."""
from __future__ import annotations

import numpy as np

from ..codegen.kernels.gemm import gemm_ep_function, gemm_function
from ..codegen.kernels.elementwise import broadcast_flags, strides
from ..codegen.loops import const, dot, imul, loop_nest
from ..errors import ShapeError
from ..ir import TensorType
from .common import broadcast_shapes
from .registry import OUT_EWISE_FUSABLE, OpDef, register_op


def _dims_match(a, b):
    return a == b or isinstance(a, str) != isinstance(b, str)


def gemm_reference(op, a, b, c=None):
    """numpy: ``alpha * a @ b + beta * c`` (a and b already transposed as the op says)."""
    y = op.attrs["alpha"] * (a @ b)
    if c is not None:
        y = y + op.attrs["beta"] * c
    return y.astype(a.dtype)


def prefill_c(k, op, M, N):
    """Gemm's ``beta * C`` (input 2, broadcast to the M x N output) written into the output, which the GEMM
    then accumulates into; returns the beta the GEMM call takes (1)."""
    b, y_t = k.b, k.out_types[0]
    c_t, dtype = k.in_types[2], y_t.dtype
    s = k.scalar(dtype)
    st = strides(k, c_t, 2, broadcast_flags([c_t], y_t)[0])
    with loop_nest(b, [M, N], name="c") as (i, j):
        cv = k.load(k.inputs[2], dot(b, [i, j], st), dtype)
        k.store(s.mul(cv, op.attrs["beta"]), k.outputs[0], b.add(b.mul(i, N), j), dtype)
    return 1.0


@register_op("Gemm", pattern=OUT_EWISE_FUSABLE)
class Gemm(OpDef):
    """Y = alpha * A' @ B' + beta * C, A' = A^T if transA, B' = B^T if transB; C broadcasts."""

    def infer(self, op, in_types, g):
        a, b = in_types[0], in_types[1]
        ta, tb = op.attrs["transA"], op.attrs["transB"]
        if a.rank != 2 or b.rank != 2:
            raise ShapeError(f"op {op.name!r} (Gemm): A and B must be 2-D, got {a} and {b}")
        m, ka = (a.shape[1], a.shape[0]) if ta else a.shape
        kb, n = (b.shape[1], b.shape[0]) if tb else b.shape
        if not _dims_match(ka, kb):
            raise ShapeError(f"op {op.name!r} (Gemm): inner dimensions differ: A {a} (transA={ta}) vs B {b} (transB={tb})")
        if len(in_types) > 2 and in_types[2] is not None:
            broadcast_shapes((m, n), in_types[2].shape, where=f"op {op.name!r} (Gemm) bias")
        return [TensorType(a.dtype, (m, n))]

    channel_axis = -1

    def affine_output(self, b, op, ins, scale, shift):
        """(alpha A'B' + beta C) * s + t: s scales B''s columns and C; t joins C (made beta = 1)."""
        a, w = ins[0], ins[1]
        c = ins[2] if len(ins) > 2 else None
        attrs = dict(op.attrs)
        if c is not None and attrs["beta"] != 1.0:
            c = b.op("Mul", [c, b.const(np.asarray(attrs["beta"], dtype=b.type(c).dtype))])
            attrs["beta"] = 1.0
        if scale is not None:
            # B' = B^T when transB: B's rows are the output columns
            col = b.op("Reshape", [scale, b.const(np.array([-1, 1], np.int64))]) if attrs["transB"] else scale
            w = b.op("Mul", [w, col])
            c = None if c is None else b.op("Mul", [c, scale])
        if shift is not None:
            c = shift if c is None else b.op("Add", [c, shift])
            attrs["beta"] = 1.0
        return [a, w] + ([c] if c is not None else []), attrs

    def reference(self, op, a, b, c=None):
        return gemm_reference(op, a.T if op.attrs["transA"] else a, b.T if op.attrs["transB"] else b, c)

    def epilogue_ok(self, op, in_types, out_type):
        """Whether an elementwise epilogue can run on this op's GEMM tiles (always: one 2-D product)."""
        return True

    def emit(self, k, op, epilogue=None, n_in=None):
        """``epilogue``: an ``Epilogue`` (codegen/kernels/epilogue.py) the GEMM applies to each finished
        tile; then the op's own inputs are the first ``n_in`` of the kernel's."""
        b = k.b
        a_t, b_t, y_t = k.in_types[0], k.in_types[1], k.out_types[0]
        A, B, Y = k.inputs[0], k.inputs[1], k.outputs[0]
        n_in = len(k.inputs) if n_in is None else n_in
        dtype = y_t.dtype
        s = k.scalar(dtype)
        M, N = k.dim(y_t, 0), k.dim(y_t, 1)
        K = k.dim(a_t, 0 if op.attrs["transA"] else 1)
        lda, ldb = k.dim(a_t, 1), k.dim(b_t, 1)
        rsa, csa = (const(1), lda) if op.attrs["transA"] else (lda, const(1))
        rsb, csb = (const(1), ldb) if op.attrs["transB"] else (ldb, const(1))
        beta = prefill_c(k, op, M, N) if n_in > 2 else 0.0
        args = [M, N, K, A, rsa, csa, B, rsb, csb, Y, N, s.c(op.attrs["alpha"]), s.c(beta)]
        if epilogue is None:
            b.call(gemm_function(k, dtype), args)
        else:
            b.call(gemm_ep_function(k, dtype), args + list(epilogue.args()) + [const(0), const(0)])
        b.ret_void()


@register_op("MatMul", pattern=OUT_EWISE_FUSABLE)
class MatMul(OpDef):
    """numpy.matmul semantics: batch dims broadcast; 1-D operands are promoted and squeezed."""

    def infer(self, op, in_types, g):
        a, b = in_types
        if a.rank == 0 or b.rank == 0:
            raise ShapeError(f"op {op.name!r} (MatMul): operands must have rank >= 1, got {a} and {b}")
        ash = a.shape if a.rank > 1 else (1,) + a.shape
        bsh = b.shape if b.rank > 1 else b.shape + (1,)
        if not _dims_match(ash[-1], bsh[-2]):
            raise ShapeError(f"op {op.name!r} (MatMul): inner dimensions differ: {a} @ {b}")
        batch = broadcast_shapes(ash[:-2], bsh[:-2], where=f"op {op.name!r} (MatMul)")
        out = batch + ((ash[-2],) if a.rank > 1 else ()) + ((bsh[-1],) if b.rank > 1 else ())
        return [TensorType(a.dtype, out)]

    channel_axis = -1

    def affine_output(self, b, op, ins, scale, shift):
        """(A @ W) * s == A @ (W * s) for a 2-D W; a shift needs a bias input MatMul lacks."""
        a, w = ins
        if shift is not None or scale is None or b.type(w).rank != 2:
            return None
        return [a, b.op("Mul", [w, scale])], dict(op.attrs)

    def reference(self, op, a, b):
        return np.matmul(a, b)

    def epilogue_ok(self, op, in_types, out_type):
        """A 2-D B (Dense, also on a sequence) is one GEMM whose rows are A's leading dims: an
        epilogue can run on its tiles. Batched products are a GEMM per batch element: not fused."""
        return in_types[1].rank == 2 and in_types[0].rank >= 2

    def emit(self, k, op, epilogue=None, n_in=None):
        b = k.b
        a_t, b_t, y_t = k.in_types[0], k.in_types[1], k.out_types[0]
        dtype = y_t.dtype
        s = k.scalar(dtype)
        ash = list(a_t.shape) if a_t.rank > 1 else [1] + list(a_t.shape)
        bsh = list(b_t.shape) if b_t.rank > 1 else list(b_t.shape) + [1]
        ta, tb = TensorType(dtype, ash), TensorType(dtype, bsh)
        K = k.dim(tb, len(bsh) - 2)
        N = k.dim(tb, len(bsh) - 1)
        gemm = gemm_function(k, dtype)
        one, zero = s.c(1.0), s.c(0.0)
        if len(bsh) == 2:  # fold A's batch dims into M: one GEMM call
            M = k.numel(ta, 0, len(ash) - 1)
            args = [M, N, K, k.inputs[0], K, const(1), k.inputs[1], N, const(1), k.outputs[0], N, one, zero]
            if epilogue is None:
                b.call(gemm, args)
            else:
                b.call(gemm_ep_function(k, dtype), args + list(epilogue.args()) + [const(0), const(0)])
            b.ret_void()
            return
        if epilogue is not None:
            raise ValueError(f"op {op.name!r} (MatMul): a batched product takes no epilogue")
        batch_rank = max(len(ash), len(bsh)) - 2
        yb = TensorType(dtype, broadcast_shapes(tuple(ash[:-2]), tuple(bsh[:-2])))
        a_batch = TensorType(dtype, ash[:-2])
        b_batch = TensorType(dtype, bsh[:-2])
        M = k.dim(ta, len(ash) - 2)
        fa, fb = broadcast_flags([a_batch, b_batch], yb)
        sa = [imul(b, x, b.mul(M, K)) for x in strides(k, a_batch, batch_rank, fa)]
        sb = [imul(b, x, b.mul(K, N)) for x in strides(k, b_batch, batch_rank, fb)]
        sy = [imul(b, x, b.mul(M, N)) for x in strides(k, yb, batch_rank, [False] * batch_rank)]
        with loop_nest(b, k.shape(yb), name="bt") as idx:
            pa = k.gep(k.inputs[0], dot(b, idx, sa), dtype)
            pb = k.gep(k.inputs[1], dot(b, idx, sb), dtype)
            py = k.gep(k.outputs[0], dot(b, idx, sy), dtype)
            b.call(gemm, [M, N, K, pa, K, const(1), pb, N, const(1), py, N, one, zero])
        b.ret_void()


# --- gradient rules ----------------------------------------------------------------------
def _grad_gemm(ctx, op, dys):
    """Y = alpha A'B' + beta C: dA' = alpha dY B'^T, dB' = alpha A'^T dY, written as Gemms whose trans
    flags absorb every transpose (no transposed copies); dC = beta * dY summed to C's shape."""
    dy, (a, b), c = dys[0], ctx.inputs[:2], (ctx.inputs[2] if len(ctx.inputs) > 2 else None)
    ta, tb, alpha, beta = op.attrs["transA"], op.attrs["transB"], op.attrs["alpha"], op.attrs["beta"]
    da = db = dc = None
    if ctx.needs[0]:
        da = (ctx.emit("Gemm", [b, dy], transA=tb, transB=1, alpha=alpha) if ta else
              ctx.emit("Gemm", [dy, b], transB=1 - tb, alpha=alpha))
    if ctx.needs[1]:
        db = (ctx.emit("Gemm", [dy, a], transA=1, transB=ta, alpha=alpha) if tb else
              ctx.emit("Gemm", [a, dy], transA=1 - ta, alpha=alpha))
    if c is not None and ctx.needs[2]:
        dc = ctx.unbroadcast(dy, c)
        if beta != 1.0:
            dc = ctx.emit("Mul", [dc, ctx.const(beta, ctx.type(dy).dtype)])
    return [da, db, dc]


def _swap_last(ctx, v):
    r = ctx.type(v).rank
    return ctx.emit("Transpose", [v], perm=list(range(r - 2)) + [r - 1, r - 2])


def _grad_matmul(ctx, op, dys):
    """numpy matmul: 1-D operands are promoted ((K,) -> (1, K) for a, (K, 1) for b) and dY gets the
    dropped axes back; dA = dY B^T, dB = A^T dY, summed over broadcast batch dims. 2-D x 2-D uses
    Gemm trans flags; a batched A times a 2-D B (Dense on a sequence) folds the batch into one
    GEMM for dB (graphc.MatMulAtB)."""
    from ..passes.autodiff import unbroadcast
    from .shape import reshape_like

    dy, (a, b) = dys[0], ctx.inputs
    at, bt = ctx.type(a), ctx.type(b)
    a2t = TensorType(at.dtype, at.shape if at.rank > 1 else (1,) + at.shape)
    b2t = TensorType(bt.dtype, bt.shape if bt.rank > 1 else bt.shape + (1,))
    lost = ([-2] if at.rank == 1 else []) + ([-1] if bt.rank == 1 else [])
    r2 = ctx.type(dy).rank + len(lost)
    dy2 = ctx.emit("Unsqueeze", [dy, ctx.ints([r2 + x for x in lost])]) if lost else dy
    flat = a2t.rank == b2t.rank == 2
    da = db = None
    if ctx.needs[0]:
        b2 = b if bt.rank > 1 else ctx.emit("Unsqueeze", [b, ctx.ints([1])])
        da = (ctx.emit("Gemm", [dy2, b2], transB=1) if flat else
              unbroadcast(ctx, ctx.emit("MatMul", [dy2, _swap_last(ctx, b2)]), a2t))
        da = reshape_like(ctx, da, a)
    if ctx.needs[1]:
        a2 = a if at.rank > 1 else ctx.emit("Unsqueeze", [a, ctx.ints([0])])
        if flat:
            db = ctx.emit("Gemm", [a2, dy2], transA=1)
        elif b2t.rank == 2:
            db = ctx.emit("MatMulAtB", [a2, dy2], domain="graphc")
        else:
            db = unbroadcast(ctx, ctx.emit("MatMul", [_swap_last(ctx, a2), dy2]), b2t)
        db = reshape_like(ctx, db, b)
    return [da, db]


Gemm.grad = staticmethod(_grad_gemm)
MatMul.grad = staticmethod(_grad_matmul)
