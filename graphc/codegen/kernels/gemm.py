"""The GEMM helper every matrix product calls: one LLVM function per dtype, any shape.

``gemm(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, alpha, beta)`` computes
``C[i, j] = alpha * sum_k A[i*rsa + k*csa] * B[k*rsb + j*csb] + beta * C[i, j]``
(C is not read when beta == 0). Row/column strides express transposed operands without
copying them. The inner loop runs over j, contiguous in C and (for csb == 1) in B, so LLVM
vectorizes it into FMAs; the packed, register-blocked micro-kernel replaces this body later
without changing the interface.
"""
from __future__ import annotations

from llvmlite import ir

from ..kernel import PTR
from ..loops import I64, for_range
from ..scalar import ScalarEmitter, lltype


def gemm_function(k, dtype: str):
    ty = lltype(dtype)
    ftype = ir.FunctionType(ir.VoidType(), [I64, I64, I64, PTR, I64, I64, PTR, I64, I64, PTR, I64, ty, ty])
    return k.helper(f"gc_gemm_{dtype}", ftype, lambda fn: _build(fn, dtype))


def _build(fn, dtype):
    M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, alpha, beta = fn.args
    for p in (A, B, C):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    s = ScalarEmitter(b, dtype)
    ty = s.ty

    def at(ptr, idx):
        return b.gep(ptr, [idx], source_etype=ty, inbounds=True)

    beta_zero = s.cmp("==", beta, 0.0)
    with for_range(b, M, name="i") as i:
        crow = b.mul(i, ldc)
        with for_range(b, N, name="j0") as j:
            p = at(C, b.add(crow, j))
            old = b.load(p, typ=ty)
            b.store(s.select(beta_zero, 0.0, s.mul(old, beta)), p)
        with for_range(b, K, name="k") as kk:
            a = s.mul(b.load(at(A, b.add(b.mul(i, rsa), b.mul(kk, csa))), typ=ty), alpha)
            brow = b.mul(kk, rsb)
            with for_range(b, N, name="j") as j:
                p = at(C, b.add(crow, j))
                bv = b.load(at(B, b.add(brow, b.mul(j, csb))), typ=ty)
                b.store(s.fma(a, bv, b.load(p, typ=ty)), p)
    b.ret_void()
