"""Prepacked weights for inference GEMMs: ``graphc.PackGemmB`` and ``graphc.GemmPackedB``.

The blocked GEMM packs B into micro-panels on every call, and the few-rows path (batch-1
inference) streams B row by row. When B is a weight of an inference graph, the ``pack_weights``
pass rewrites ``MatMul(A, W)`` / ``Gemm(A, W, C)`` into ``GemmPackedB(A, PackGemmB(W), C)``:
``PackGemmB`` reads only weights, so codegen hoists it into ``gc_prologue`` and it runs once per
weight change; ``GemmPackedB`` skips the packing and reads each panel as one contiguous stream
(ONNX Runtime prepacks its MatMul weights the same way). The layout is the micro-kernel's
(:func:`graphc.codegen.kernels.gemm.packed_b_shape`), fixed by the host's vector width when
the pass runs; the kernel checks it again when it is compiled.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir

from ..codegen.kernel import PTR
from ..codegen.kernels.gemm import packed_b_shape, packed_gemm_ep_function
from ..codegen.loops import const, dot, imin, loop_nest
from ..errors import CompileError, ShapeError
from ..ir import TensorType
from .gemm import Gemm, MatMul, gemm_reference, prefill_c
from .registry import OPAQUE, OUT_EWISE_FUSABLE, OpDef, register_op

DOMAIN = "graphc"


def pack_reference(w: np.ndarray, trans: int, nr: int, kp: int) -> np.ndarray:
    """numpy: B = w (K x N), or w.T when ``trans``, as ``(ceil(N/nr), kp, nr)`` panels, zero-padded."""
    bmat = w.T if trans else w
    K, N = bmat.shape
    panels = -(-N // nr)
    full = np.zeros((kp, panels * nr), dtype=w.dtype)
    full[:K, :N] = bmat
    return np.ascontiguousarray(full.reshape(kp, panels, nr).transpose(1, 0, 2))


def unpack_reference(bp: np.ndarray, K: int, N: int) -> np.ndarray:
    return bp.transpose(1, 0, 2).reshape(bp.shape[1], -1)[:K, :N]


@register_op("PackGemmB", pattern=OPAQUE, domain=DOMAIN, schema=False)
class PackGemmB(OpDef):
    """PackGemmB(w) -> (panels, Kp, NR): B = w (``trans=0``, w is K x N) or w^T (``trans=1``) in the
    GEMM micro-kernel's panel layout (``[p, k, r] = B[k, p*NR + r]``, zero past K and N)."""
    attr_defaults = {"trans": 0, "nr": 0, "kp": 0}

    def infer(self, op, in_types, g):
        w = in_types[0]
        if w.rank != 2 or not all(isinstance(d, int) for d in w.shape):
            raise ShapeError(f"op {op.name!r} (PackGemmB): expected a 2-D weight of static shape, got {w}")
        K, N = w.shape[::-1] if op.attrs["trans"] else w.shape
        nr, kp = op.attrs["nr"], op.attrs["kp"]
        if nr <= 0 or kp < K:
            raise ShapeError(f"op {op.name!r} (PackGemmB): panel width nr={nr} and depth kp={kp} must cover K={K}")
        return [TensorType(w.dtype, (-(-N // nr), kp, nr))]

    def reference(self, op, w):
        return pack_reference(w, op.attrs["trans"], op.attrs["nr"], op.attrs["kp"])

    def emit(self, k, op):
        b, w_t, y_t = k.b, k.in_types[0], k.out_types[0]
        dtype = y_t.dtype
        P, KP, NR = y_t.shape
        K, N = w_t.shape[::-1] if op.attrs["trans"] else w_t.shape
        # element (kk, j) of B: w[kk, j] or w[j, kk]
        rs, cs = (1, K) if op.attrs["trans"] else (N, 1)
        zero = k.scalar(dtype).c(0.0)
        with loop_nest(b, [const(P), const(KP), const(NR)], name="pk") as (p, kk, r):
            j = b.add(b.mul(p, const(NR)), r)
            ok = b.and_(b.icmp_signed("<", kk, const(K)), b.icmp_signed("<", j, const(N)))
            src = b.add(b.mul(imin(b, kk, const(K - 1)), const(rs)), b.mul(imin(b, j, const(N - 1)), const(cs)))
            x = k.load(k.inputs[0], src, dtype)
            k.store(b.select(ok, x, zero), k.outputs[0], dot(b, [p, kk, r], [const(KP * NR), const(NR), const(1)]),
                    dtype)
        b.ret_void()


@register_op("GemmPackedB", pattern=OUT_EWISE_FUSABLE, domain=DOMAIN, schema=False)
class GemmPackedB(OpDef):
    """GemmPackedB(a, bp[, c]) = alpha * A' @ B + beta * c, B (K x N) given as PackGemmB panels.

    A' is ``a`` with its leading dims folded into the rows (MatMul with a 2-D right operand: Dense,
    also on a sequence), or ``a^T`` for a 2-D ``a`` with ``transA``; ``c`` broadcasts to the output.
    ``k`` and ``n`` are B's true sizes (the panels are padded)."""
    attr_defaults = {"transA": 0, "alpha": 1.0, "beta": 1.0, "k": 0, "n": 0}
    num_inputs = (2, 3)
    channel_axis = -1

    def infer(self, op, in_types, g):
        a, bp = in_types[0], in_types[1]
        K, N = op.attrs["k"], op.attrs["n"]
        if op.attrs["transA"]:
            if a.rank != 2:
                raise ShapeError(f"op {op.name!r} (GemmPackedB): transA needs a 2-D A, got {a}")
            lead, ka = (a.shape[1],), a.shape[0]
        else:
            if a.rank < 2:
                raise ShapeError(f"op {op.name!r} (GemmPackedB): A must have rank >= 2, got {a}")
            lead, ka = a.shape[:-1], a.shape[-1]
        if len(in_types) > 2 and in_types[2] is not None and len(lead) != 1:
            raise ShapeError(f"op {op.name!r} (GemmPackedB): a bias C needs a 2-D A, got {a}")
        if ka != K or bp.rank != 3 or bp.shape[0] * bp.shape[2] < N or bp.shape[1] < K:
            raise ShapeError(f"op {op.name!r} (GemmPackedB): A {a} and packed B {bp} do not hold a K={K} x N={N} product")
        return [TensorType(a.dtype, tuple(lead) + (N,))]

    def reference(self, op, a, bp, c=None):
        return gemm_reference(op, a.T if op.attrs["transA"] else a, unpack_reference(bp, op.attrs["k"], op.attrs["n"]), c)

    def epilogue_ok(self, op, in_types, out_type):
        return True

    def emit(self, k, op, epilogue=None, n_in=None):
        b = k.b
        a_t, bp_t, y_t = k.in_types[0], k.in_types[1], k.out_types[0]
        dtype = y_t.dtype
        s = k.scalar(dtype)
        n_in = len(k.inputs) if n_in is None else n_in
        P, KP, NR = bp_t.shape
        want = packed_b_shape(op.attrs["k"], op.attrs["n"], dtype)
        if (P, KP, NR) != want:
            raise CompileError(f"op {op.name!r} (GemmPackedB): B was packed as {(P, KP, NR)} panels but this CPU's "
                               f"GEMM reads {want}; rerun the passes on this machine")
        N, K = const(op.attrs["n"]), const(op.attrs["k"])
        if op.attrs["transA"]:
            M, rsa, csa = k.dim(a_t, 1), const(1), k.dim(a_t, 1)
        else:
            M, rsa, csa = k.numel(a_t, 0, a_t.rank - 1), K, const(1)
        Y = k.outputs[0]
        beta = prefill_c(k, op, M, N) if n_in > 2 else 0.0  # C only comes with a 2-D output
        args = [M, N, K, k.inputs[0], rsa, csa, k.inputs[1], const(NR), const(KP), Y, N,
                s.c(op.attrs["alpha"]), s.c(beta)]
        ep = list(epilogue.args()) if epilogue is not None else [ir.Constant(PTR, None)] * 2
        b.call(packed_gemm_ep_function(k, dtype), args + ep + [const(0), const(0)])
        b.ret_void()


def _packed(g, op, K, N, trans, c, attrs) -> dict:
    a_t = g.value(g.op_inputs(op)[0]).type
    _, kp, nr = packed_b_shape(K, N, a_t.dtype)
    return {"b": g.op_inputs(op)[1], "c": c, "pack": {"trans": trans, "nr": nr, "kp": kp}, "attrs": dict(attrs, k=K, n=N)}


def _static_weight(g, op):
    a_t, w_t = (g.value(v).type for v in g.op_inputs(op)[:2])
    return w_t.rank == 2 and all(isinstance(d, int) for d in w_t.shape) and a_t.dtype in GemmPackedB.dtypes


def _matmul_packed_b(g, op):
    """MatMul(a, w), 2-D w, a of rank >= 2 (Dense, also on a sequence)."""
    if not _static_weight(g, op) or g.value(g.op_inputs(op)[0]).type.rank < 2:
        return None
    K, N = g.value(g.op_inputs(op)[1]).type.shape
    return _packed(g, op, K, N, 0, None, {"transA": 0, "alpha": 1.0, "beta": 1.0})


def _gemm_packed_b(g, op):
    ins = g.op_inputs(op)
    c = ins[2] if len(ins) > 2 else None
    if not _static_weight(g, op) or (c is not None and g.value(c).type.rank > 2):
        return None
    tb = op.attrs["transB"]
    K, N = g.value(ins[1]).type.shape[::-1] if tb else g.value(ins[1]).type.shape
    return _packed(g, op, K, N, tb, c, {"transA": op.attrs["transA"], "alpha": op.attrs["alpha"],
                                         "beta": op.attrs["beta"]})


MatMul.packed_b = staticmethod(_matmul_packed_b)
Gemm.packed_b = staticmethod(_gemm_packed_b)
