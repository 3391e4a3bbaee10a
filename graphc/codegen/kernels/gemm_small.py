"""The GEMM path without packing: few rows (batch-1 inference, an RNN step at batch 1) and tiny products.

``gc_gemm_direct_<dtype>`` has the GEMM-with-epilogue signature of :mod:`.gemm`. Packing B costs as
much as the product when A has one to three rows, so these loops read the operands in place and keep
register-blocked accumulators instead:

* **B rows contiguous** (``csb == 1``: ``x @ W`` with a row-major kernel): a group of up to
  ``ROWS`` rows of A times a block of ``JB`` vectors of B's columns, the depth loop innermost:
  each step loads the block's B vectors once and broadcasts one A element per row into ``ROWS x JB``
  vector FMAs, so B streams through once per row group and C is written once (the loop that
  updated C in memory at every depth step was store-bound). Columns past the last whole block run
  one vector at a time, the last ``< W`` columns as scalars.
* **B columns contiguous** (``rsb == 1``, ``csa == 1``: ``x @ W.T``, ONNX ``Gemm(transB=1)``):
  dot products vectorized along the depth, ``ROWS x JC`` of them at once, each reduced by a fixed
  shuffle tree and finished by a scalar tail.
* anything else: one scalar dot product per element.

Each element's value depends only on its row of A and column of B (never on the block or chunk it is
computed in), so the thread split along N (:func:`graphc.codegen.threads.emit_parallel_split`) gives
bit-identical results for any number of threads. Every path computes ``C = alpha * acc + beta * C``
(C not read when beta == 0), as the blocked path does.
"""
from __future__ import annotations

from llvmlite import ir

from ..loops import I32, const, for_range, imin, phi_loop
from ..scalar import lltype
from .gemm import _V, _gemm_ep_type, _internal, _scalar_fma, call_epilogue

# rows of A per register block (broadcasts of A times B vectors); the dot products run one row at a time
ROWS, DOT_ROWS = 4, 1
# B rows read ahead of the depth loop by software prefetch
PREFETCH_ROWS = 8


def direct_function(module, dtype, bl, prepacked=False):
    """``gc_gemm_direct_<dtype>`` for the blocking ``bl`` (its vector width and register budget);
    ``prepacked``: B is in the panel layout of :func:`.gemm.packed_b_shape` (``rsb = NR``, ``csb = Kp``)."""
    ty = lltype(dtype)
    name = f"gc_gemm_direct{'_packedb' if prepacked else ''}_{dtype}"
    # optsize: every loop body is explicit vector code already; LLVM's unrolling only adds compile time
    return _internal(module, name, _gemm_ep_type(ty), lambda f: _build(f, ty, bl, prepacked), "optsize")


def _acc_budget(bl):
    """Vector accumulators a block may keep in registers: 16 of AVX-512's 32 (the blocking's 8-row
    tiles mean AVX-512), else 8 of the 16 (AVX2, SSE)."""
    return 16 if bl.mr >= 8 else 8


def _row_groups(b, M, emit, rows):
    """One row of A (M == 1: ``emit(0, 1)``, the widest column blocks), else groups of ``rows``
    (``emit(i0, rows)``; a last, partial group repeats its last row and stores only the valid ones):
    two variants of the loop body, not one per group size, since the code size is compile time."""
    if rows == 1:
        with for_range(b, M, name="i1") as i0:
            emit(i0, 1)
        return
    with b.if_else(b.icmp_signed("==", M, const(1))) as (one, groups):
        with one:
            emit(const(0), 1)
        with groups:
            with for_range(b, M, step=rows, name="ig") as i0:
                emit(i0, rows)


def _build(fn, ty, bl, prepacked):
    M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, alpha, beta, ep, ep_data, row0, col0 = fn.args
    for p in (A, B, C):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = _V(b, ty, bl.w)
    W = bl.w
    budget = _acc_budget(bl)
    zero_s = ir.Constant(ty, 0.0)
    zero_v = ir.Constant(v.vt, [0.0] * W)
    beta_zero = b.fcmp_ordered("==", beta, zero_s)
    valpha, vbeta = v.splat(alpha), v.splat(beta)
    fma = _scalar_fma(b.module, ty)
    prefetch = b.module.globals.get("llvm.prefetch.p0") or ir.Function(
        b.module, ir.FunctionType(ir.VoidType(), [v.at(B, const(0)).type, I32, I32, I32]), "llvm.prefetch.p0")

    def load_s(ptr, idx):
        return b.load(v.at(ptr, idx), typ=ty)

    def store_vec(acc, idx, valid=None):
        """``C[idx:idx+W]`` (its first ``valid`` lanes when given, by masked moves)."""
        if valid is None:
            old = b.select(beta_zero, zero_v, b.fmul(vbeta, v.load(C, idx)))
            v.store(b.fadd(b.fmul(valpha, acc), old), C, idx)
            return
        mask = v.lanes_below(valid)
        old = b.fmul(vbeta, v.masked_load(C, idx, b.and_(mask, v.splat(b.not_(beta_zero)))))
        v.masked_store(b.fadd(b.fmul(valpha, acc), old), C, idx, mask)

    def store_scalar(acc, idx):
        pc = v.at(C, idx)
        old = b.select(beta_zero, zero_s, b.fmul(beta, b.load(pc, typ=ty)))
        b.store(b.fadd(b.fmul(alpha, acc), old), pc)

    def column(j):
        """Where B's column ``j`` starts (row 0); row k is ``k * rsb`` further in either layout."""
        if not prepacked:
            return j
        nr = const(bl.nr)
        inner = b.srem(j, nr)
        return b.add(b.mul(b.sub(j, inner), csb), inner)

    def row(i0, i):
        """Row ``i0 + i`` of a group, clamped to the last row (a partial group computes it twice)."""
        return imin(b, b.add(i0, const(i)), b.sub(M, const(1))) if i else i0

    def stored_rows(i0, r):
        """(i, its row) for the group's rows, inside ``if row < M`` for all but the first."""
        for i in range(r):
            if i == 0:
                yield i, i0
                continue
            with b.if_then(b.icmp_signed("<", b.add(i0, const(i)), M)):
                yield i, b.add(i0, const(i))

    def rows_block(i0, r, j0, nvec, valid=None):
        """C[i0:i0+r, j0:j0+nvec*W] (B rows contiguous): depth innermost, r*nvec accumulators; only
        the first ``valid`` columns are stored when given (a prepacked B's zero-padded last panel)."""
        arows = [b.mul(row(i0, i), rsa) for i in range(r)]
        cols = [column(b.add(j0, const(jb * W))) for jb in range(nvec)]
        ahead = b.mul(const(PREFETCH_ROWS), rsb)

        def step(k, accs):
            brow = b.mul(k, rsb)
            bv = [v.load(B, b.add(brow, cols[jb])) for jb in range(nvec)]
            for jb in range(nvec):  # the rows PREFETCH_ROWS ahead, one request per cache line
                for line in range(0, W * v.size, 64):
                    at = b.add(b.add(brow, ahead), b.add(cols[jb], const(line // v.size)))
                    b.call(prefetch, [v.at(B, at), const(0, I32), const(3, I32), const(1, I32)])
            out = []
            for i in range(r):
                a = v.splat(load_s(A, b.add(arows[i], b.mul(k, csa))))
                out += [v.fma(a, bv[jb], accs[i * nvec + jb]) for jb in range(nvec)]
            return out
        accs = phi_loop(b, K, 1, [zero_v] * (r * nvec), step, "rk")
        for i, ri in stored_rows(i0, r):
            crow = b.add(b.mul(ri, ldc), j0)
            for jb in range(nvec):
                store_vec(accs[i * nvec + jb], b.add(crow, const(jb * W)), valid)

    def rows_scalar(i0, r, j):
        arows = [b.mul(row(i0, i), rsa) for i in range(r)]

        def step(k, accs):
            x = load_s(B, b.add(b.mul(k, rsb), j))
            return [b.call(fma, [load_s(A, b.add(arows[i], b.mul(k, csa))), x, accs[i]]) for i in range(r)]
        accs = phi_loop(b, K, 1, [zero_s] * r, step, "rs")
        for i, ri in stored_rows(i0, r):
            store_scalar(accs[i], b.add(b.mul(ri, ldc), j))

    def rows_group(i0, r):
        jb = max(1, min(8, budget // r))
        wide = jb * W
        jfull = b.mul(b.sdiv(N, const(wide)), const(wide))
        jvec = b.mul(b.sdiv(N, const(W)), const(W))
        with for_range(b, jfull, step=wide, name="jw") as j0:
            rows_block(i0, r, j0, jb)
        if jb > 1:
            with for_range(b, jvec, start=jfull, step=W, name="jv") as j0:
                rows_block(i0, r, j0, 1)
        if prepacked:  # the last panel is zero-padded to whole vectors
            with b.if_then(b.icmp_signed("<", jvec, N)):
                rows_block(i0, r, jvec, 1, valid=b.sub(N, jvec))
        else:
            with for_range(b, N, start=jvec, name="js") as j:
                rows_scalar(i0, r, j)

    def hsum(x):
        """The lanes of ``x`` summed by a fixed halving tree."""
        n = W
        while n > 1:
            n //= 2
            lo = b.shuffle_vector(x, x, ir.Constant(ir.VectorType(I32, n), list(range(n))))
            hi = b.shuffle_vector(x, x, ir.Constant(ir.VectorType(I32, n), list(range(n, 2 * n))))
            x = b.fadd(lo, hi)
        return b.extract_element(x, const(0, I32))

    def dots_block(i0, r, j0, ncol):
        """C[i0:i0+r, j0:j0+ncol] (B columns and A rows contiguous): vector partial sums over depth."""
        arows = [b.mul(b.add(i0, const(i)), rsa) for i in range(r)]
        bcols = [b.mul(b.add(j0, const(c)), csb) for c in range(ncol)]
        kvec = b.mul(b.sdiv(K, const(W)), const(W))

        def step(k, accs):
            av = [v.load(A, b.add(arows[i], k)) for i in range(r)]
            bv = [v.load(B, b.add(bcols[c], k)) for c in range(ncol)]
            return [v.fma(av[i], bv[c], accs[i * ncol + c]) for i in range(r) for c in range(ncol)]
        accs = phi_loop(b, kvec, W, [zero_v] * (r * ncol), step, "dk")
        sums = [hsum(a) for a in accs]
        tail = b.sub(K, kvec)

        def rest(kk, s):
            k = b.add(kvec, kk)
            return [b.call(fma, [load_s(A, b.add(arows[i], k)), load_s(B, b.add(bcols[c], k)), s[i * ncol + c]])
                    for i in range(r) for c in range(ncol)]
        sums = phi_loop(b, tail, 1, sums, rest, "dt")
        for i in range(r):
            crow = b.mul(b.add(i0, const(i)), ldc)
            for c in range(ncol):
                store_scalar(sums[i * ncol + c], b.add(crow, b.add(j0, const(c))))

    def dots_group(i0, r):
        jc = max(1, min(4, budget // r))
        jfull = b.mul(b.sdiv(N, const(jc)), const(jc))
        with for_range(b, jfull, step=jc, name="dj") as j0:
            dots_block(i0, r, j0, jc)
        if jc > 1:
            with for_range(b, N, start=jfull, name="dj1") as j0:
                dots_block(i0, r, j0, 1)

    def scalar_dots():
        with for_range(b, M, name="i") as i:
            with for_range(b, N, name="j") as j:
                def step(k, s):
                    x = load_s(A, b.add(b.mul(i, rsa), b.mul(k, csa)))
                    y = load_s(B, b.add(b.mul(j, csb), b.mul(k, rsb)))
                    return [b.call(fma, [x, y, s[0]])]
                acc, = phi_loop(b, K, 1, [zero_s], step, "sk")
                store_scalar(acc, b.add(b.mul(i, ldc), j))

    one = const(1)
    if prepacked:
        _row_groups(b, M, rows_group, ROWS)
        call_epilogue(b, ep, [ep_data, C, ldc, row0, col0, M, N])
        b.ret_void()
        return
    with b.if_else(b.icmp_signed("==", csb, one)) as (rows, other):
        with rows:
            _row_groups(b, M, rows_group, ROWS)
        with other:
            vec_dots = b.and_(b.icmp_signed("==", rsb, one), b.icmp_signed("==", csa, one))
            with b.if_else(vec_dots) as (dots, generic):
                with dots:
                    _row_groups(b, M, dots_group, DOT_ROWS)
                with generic:
                    scalar_dots()
    call_epilogue(b, ep, [ep_data, C, ldc, row0, col0, M, N])
    b.ret_void()

