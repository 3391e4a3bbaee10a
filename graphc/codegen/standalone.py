"""The GEMM helper JIT-compiled on its own (for its tests and ``tools/gemm_gflops.py``).

``jit_gemm(dtype)`` returns ``(engine, f)`` with ``f(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc,
alpha, beta)`` callable from Python; ``call_gemm`` passes numpy arrays (transposes as strides).
``bits``/``cpu``/``features`` build for another vector width or CPU (e.g. AVX2 tiles on an
AVX-512 host); keep ``engine`` alive while ``f`` is used.
"""
from __future__ import annotations

import ctypes

import llvmlite.binding as llvm
from llvmlite import ir

from . import threads
from .kernels.gemm import declare_gemm, declare_gemm_ep
from .llvm import _init, new_target_machine, optimize


def jit_gemm(dtype: str, bits: int | None = None, cpu: str | None = None, features: str | None = None,
             nthreads: int = 1, prepacked: bool = False):
    """``prepacked``: the entry for a B in ``packed_b_shape``'s panel layout (call it with ``call_gemm_packed``)."""
    _init()
    tm = new_target_machine(cpu, features)
    mod = ir.Module("gemm")
    mod.triple, mod.data_layout = tm.triple, str(tm.target_data)
    g = declare_gemm_ep(mod, dtype, bits, prepacked=True) if prepacked else declare_gemm(mod, dtype, bits)
    entry = ir.Function(mod, declare_gemm(mod, dtype, bits).function_type, "gemm")
    b = ir.IRBuilder(entry.append_basic_block())
    no_epilogue = [ir.Constant(t, None if isinstance(t, ir.PointerType) else 0) for t in g.function_type.args[13:]]
    b.call(g, list(entry.args) + (no_epilogue if prepacked else []))
    b.ret_void()
    m = llvm.parse_assembly(str(mod))
    m.verify()
    optimize(m, tm)
    engine = llvm.create_mcjit_compiler(m, tm)
    engine.finalize_object()
    threads.install(engine, nthreads)
    ct = ctypes.c_float if dtype == "float32" else ctypes.c_double
    i64, p = ctypes.c_int64, ctypes.c_void_p
    proto = ctypes.CFUNCTYPE(None, i64, i64, i64, p, i64, i64, p, i64, i64, p, i64, ct, ct)
    return engine, proto(engine.get_function_address("gemm"))


def call_gemm(f, A, B, C, alpha=1.0, beta=0.0, ta=False, tb=False):
    """``C = alpha * op(A) @ op(B) + beta * C``, op = transpose when ``ta``/``tb`` (via strides).

    Shapes are checked here, never in native code."""
    it = C.itemsize
    if not (A.dtype == B.dtype == C.dtype and A.ndim == B.ndim == C.ndim == 2):
        raise ValueError(f"expected 2-D arrays of one dtype, got {A.dtype}{A.shape} {B.dtype}{B.shape} "
                         f"{C.dtype}{C.shape}")
    M, K = (A.shape[1], A.shape[0]) if ta else A.shape
    K2, N = (B.shape[1], B.shape[0]) if tb else B.shape
    if K != K2 or C.shape != (M, N) or C.strides[1] != it:
        raise ValueError(f"shapes do not chain: op(A) {(M, K)}, op(B) {(K2, N)}, C {C.shape} (C rows contiguous)")
    sa, sb = [s // it for s in A.strides], [s // it for s in B.strides]
    rsa, csa = (sa[1], sa[0]) if ta else sa
    rsb, csb = (sb[1], sb[0]) if tb else sb
    f(M, N, K, A.ctypes.data, rsa, csa, B.ctypes.data, rsb, csb, C.ctypes.data, C.strides[0] // it, alpha, beta)


def call_gemm_packed(f, A, bp, K, N, C, alpha=1.0, beta=0.0, ta=False):
    """``C = alpha * op(A) @ B + beta * C`` with B given as prepacked panels ``bp`` (``packed_b_shape``)."""
    it = C.itemsize
    M = A.shape[1] if ta else A.shape[0]
    if (A.shape[0] if ta else A.shape[1]) != K or C.shape != (M, N) or C.strides[1] != it or not bp.flags.c_contiguous:
        raise ValueError(f"shapes do not chain: op(A) {(M, K)}, B {(K, N)}, C {C.shape}, panels {bp.shape}")
    if bp.shape[0] * bp.shape[2] < N or bp.shape[1] < K:
        raise ValueError(f"panels {bp.shape} do not hold a {K} x {N} B")
    sa = [s // it for s in A.strides]
    rsa, csa = (sa[1], sa[0]) if ta else sa
    f(M, N, K, A.ctypes.data, rsa, csa, bp.ctypes.data, bp.shape[2], bp.shape[1], C.ctypes.data, C.strides[0] // it,
      alpha, beta)
