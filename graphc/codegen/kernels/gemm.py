"""The GEMM helper every matrix product calls: one LLVM function per dtype, any shape.

``gemm(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, alpha, beta)`` computes
``C[i, j] = alpha * sum_k A[i*rsa + k*csa] * B[k*rsb + j*csb] + beta * C[i, j]``
(C is not read when beta == 0). Row/column strides express transposed operands (``A^T B``,
``A B^T``) without copying them.

Algorithm (BLIS/GotoBLAS): loops over column blocks of NC, depth blocks of KC and row blocks of
MC; each depth block of B (and of a transposed A, see below) is packed into an aligned stack buffer
as micro-panels (NR resp. MR wide, k-major, zero-padded to full panels and to a multiple of the
k-unroll), so the micro-kernel always computes a full MR x NR tile with no remainder path. The
micro-kernel is explicit vector IR: MR x (NR / W) accumulators of ``<W x float>`` in registers
(8 x 32 fp32 in zmm registers with AVX-512, 6 x 16 in ymm registers with AVX2), one broadcast
of A per row and ``llvm.fma`` per accumulator. A tile's C is read and written with masked vector
moves (the valid ``mr x nr`` part; full tiles have every lane set), so full and edge tiles run the
same operations and every element's value is independent of where its tile lies; the thread split
(see :mod:`graphc.codegen.threads`) only changes which thread computes a tile, so 1 and N threads
give bit-identical results. With beta == 0 a depth block after the first starts its accumulators
from the C the previous one stored, and alpha applies after the last: each element is one FMA chain
over the whole depth, whatever the blocking, so a prepacked B (longer depth blocks, below) and the
plain path give the same bits. With beta != 0 each block adds ``alpha * acc`` to C (beta scales
the first), in the plain path's blocks on both paths.

When A's depth is contiguous (``A B``, ``A B^T``: every forward product) the micro-kernel reads A in
place instead of packing it (MLAS does the same); only a transposed A (``A^T B``, weight gradients)
is packed. A product with at most W columns (a 10-class Dense layer) runs a narrow micro-kernel that
multiplies one vector of B per depth step.

Very small products (few rows or a tiny total) skip packing: :mod:`.gemm_small` reads the
operands in place with register-blocked accumulators (split across threads along N when large).

Epilogues: ``gc_gemm_ep_<dtype>(..., ep, ep_data, row0, col0)`` takes four more arguments. When
``ep`` is not null it is called as ``ep(ep_data, c, ldc, i, j, mr, nr)`` on every finished tile
(after the last depth block, while the tile is in L1): ``c`` points at ``C[i, j]`` and ``i, j``
are the tile's global row and column (``row0``/``col0`` offset them; the thread split passes
each chunk's offset), so an elementwise chain (bias, activation, an activation's gradient) runs
on the product while it is hot instead of as a separate loop over memory (see
:mod:`graphc.codegen.kernels.epilogue`). The direct path calls it once on the whole product.
``gc_gemm_<dtype>`` is the same function without an epilogue.
"""
from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from ..kernel import PTR
from ..loops import I32, I64, ceil_div, const, for_range, imin, phi_loop
from ..scalar import lltype
from .. import threads
from .conv import opaque

# below this many multiply-adds a product takes the direct path (packing would dominate)
SMALL_MACS = 4096
# fewer rows than this: the direct path (packing B would cost more than it saves)
FEW_ROWS = 4


@dataclass(frozen=True)
class Blocking:
    """Register and cache blocking for one dtype and vector width."""
    w: int   # lanes per vector
    mr: int  # rows per micro-tile (broadcasts of A)
    nr: int  # columns per micro-tile (vectors of B), a multiple of w
    kc: int  # depth block (packed panels hold kc x mr and kc x nr)
    mc: int  # rows per packed A block
    nc: int  # columns per packed B block
    ku: int  # k unroll of the micro-kernel; packed depth is padded to a multiple of it
    kc_pre: int  # depth block when B is prepacked (then only A's buffer bounds it)
    nc_pre: int  # columns per block when B is prepacked (a transposed A is packed once per column block)


def blocking(dtype: str, bits: int) -> Blocking:
    """Measured on Zen 5 (AVX-512): 8 x 32 fp32 tiles (16 zmm accumulators) reach 80-88 % of the FMA
    peak; 12 x 32, 14 x 32 and 6 x 64 were no faster and pad small M more. AVX2 keeps 6 x 16
    (12 ymm accumulators + 2 B vectors + 1 broadcast of the 16 registers). The packed buffers take
    (mc + nc) * kc elements of stack, at most 320 KB.

    With a prepacked B nothing bounds the depth block but A's buffer, and every depth block costs a
    read-modify-write of C and every column block another packing of A (then still done for every A): depth blocks of up to 1024
    fp32 (4 KB per row of A, 256 KB of stack) and 16 panels per column block took the MLP's
    256 x 784 x 512 product from 0.97-0.98x onnxruntime's MLAS to 1.00x in interleaved runs."""
    size = 4 if dtype == "float32" else 8
    w = max(bits // (8 * size), 2)
    mr = 8 if bits >= 512 else 6
    nr = 2 * w
    kc = 1024 // size
    return Blocking(w=w, mr=mr, nr=nr, kc=kc, mc=mr * 8, nc=nr * 8 if bits >= 512 else nr * 16, ku=4,
                    kc_pre=4 * kc, nc_pre=nr * 16)


def vector_bits(features: str | None = None) -> int:
    """The SIMD width to emit for: 512 with AVX-512F, 256 with AVX, else 128 (SSE2)."""
    if features is None:
        from ..llvm import host_cpu
        features = host_cpu()[1]
    flags = set(features.split(","))
    if "+avx512f" in flags:
        return 512
    if "+avx" in flags:
        return 256
    return 128


def gemm_function(k, dtype: str):
    """The module's GEMM helper for ``dtype`` (built once per module)."""
    return declare_gemm(k.module, dtype)


def declare_gemm(module, dtype: str, bits: int | None = None):
    """``gc_gemm_<dtype>`` in ``module``, for vectors of ``bits`` (default: the host's)."""
    name = f"gc_gemm_{dtype}"
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    ty = lltype(dtype)
    ep = declare_gemm_ep(module, dtype, bits)
    fn = ir.Function(module, _gemm_type(ty), name)
    fn.linkage = "internal"
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    b.call(ep, list(fn.args) + [ir.Constant(PTR, None), ir.Constant(PTR, None), const(0), const(0)])
    b.ret_void()
    return fn


def gemm_ep_function(k, dtype: str):
    """The module's GEMM helper with an epilogue callback (see the module docstring)."""
    return declare_gemm_ep(k.module, dtype)


def declare_gemm_ep(module, dtype: str, bits: int | None = None, prepacked: bool = False):
    """``gc_gemm_ep_<dtype>``, or with ``prepacked`` ``gc_gemm_packedb_ep_<dtype>``: the GEMM-with-epilogue
    signature, but B is the panel layout that ``packed_b_shape`` describes, passed with ``rsb = NR`` and
    ``csb = Kp`` (so that B's address for a column ``j`` that starts a panel is ``B + j * csb``, as the
    thread split shifts it)."""
    name = f"gc_gemm_{'packedb_' if prepacked else ''}ep_{dtype}"
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    bl = blocking(dtype, vector_bits() if bits is None else bits)
    fn = ir.Function(module, _gemm_ep_type(lltype(dtype)), name)
    fn.linkage = "internal"
    _build_public(fn, dtype, bl, prepacked)
    return fn


def packed_gemm_ep_function(k, dtype: str):
    """The module's GEMM helper for a prepacked B (see ``packed_b_shape``), with the epilogue arguments."""
    return declare_gemm_ep(k.module, dtype, prepacked=True)


def packed_b_shape(K: int, N: int, dtype: str, bits: int | None = None) -> tuple[int, int, int]:
    """The layout of a prepacked B (K x N): ``(panels, Kp, NR)`` with ``panels = ceil(N / NR)`` and ``Kp``
    K rounded up to the micro-kernel's depth unroll; ``[p, k, r]`` holds ``B[k, p * NR + r]``, zero past
    K and N. These are the micro-panels the blocked path packs on every call, made once: a weight that
    only changes between calls (inference) is packed by the hoisted prologue, and the blocked path and
    the few-rows path stream its panels contiguously."""
    bl = blocking(dtype, vector_bits() if bits is None else bits)
    return (-(-N // bl.nr), -(-K // bl.ku) * bl.ku, bl.nr)


def _gemm_type(ty):
    return ir.FunctionType(ir.VoidType(), [I64, I64, I64, PTR, I64, I64, PTR, I64, I64, PTR, I64, ty, ty])


def _gemm_ep_type(ty):
    """The GEMM arguments, then the epilogue: callback (or null), its data, the global row/column offset."""
    return ir.FunctionType(ir.VoidType(), list(_gemm_type(ty).args) + [PTR, PTR, I64, I64])


# ep(data, c, ldc, row, col, mr, nr)
EP_TYPE = ir.FunctionType(ir.VoidType(), [PTR, PTR, I64, I64, I64, I64, I64])


def call_epilogue(b, ep, args):
    """``ep(*args)`` when the callback pointer ``ep`` is not null."""
    slot = _alloca(b, PTR, 1, "ep.slot")  # through memory: llvmlite calls only typed function pointers
    b.store(ep, slot)
    with b.if_then(b.icmp_unsigned("!=", ep, ir.Constant(PTR, None)), likely=False):
        b.call(b.load(slot, typ=EP_TYPE.as_pointer()), args)


def _internal(module, name, ftype, build, *attrs):
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, ftype, name)
        fn.linkage = "internal"
        for a in ("nounwind",) + attrs:
            fn.attributes.add(a)
        build(fn)
    return fn


class _V:
    """Vector helpers over one builder."""

    def __init__(self, b, ty, w):
        self.b, self.ty, self.w = b, ty, w
        self.vt = ir.VectorType(ty, w)
        self.size = 4 if isinstance(ty, ir.FloatType) else 8
        mod = b.module
        fname = f"llvm.fma.v{w}{'f32' if self.size == 4 else 'f64'}"
        self.fma_fn = mod.globals.get(fname) or ir.Function(mod, ir.FunctionType(self.vt, [self.vt] * 3), fname)

    def at(self, ptr, idx):
        return self.b.gep(ptr, [idx], source_etype=self.ty, inbounds=True)

    def load(self, ptr, idx, align=None):
        return self.b.load(self.at(ptr, idx), typ=self.vt, align=align or self.size)

    def store(self, v, ptr, idx, align=None):
        self.b.store(v, self.at(ptr, idx), align=align or self.size)

    def _masked_fn(self, kind):
        """llvm.masked.load / llvm.masked.store for this vector type (they lower to masked moves: AVX-512
        ``{k}`` masks, AVX ``vmaskmov``; never a library call). The explicit alignment operand is the form
        this LLVM's parser accepts."""
        mod, suffix = self.b.module, f"v{self.w}{'f32' if self.size == 4 else 'f64'}.p0"
        mask_t = ir.VectorType(ir.IntType(1), self.w)
        name = f"llvm.masked.{kind}.{suffix}"
        fn = mod.globals.get(name)
        if fn is None:
            ftype = (ir.FunctionType(self.vt, [PTR, I32, mask_t, self.vt]) if kind == "load" else
                     ir.FunctionType(ir.VoidType(), [self.vt, PTR, I32, mask_t]))
            fn = ir.Function(mod, ftype, name)
        return fn

    def lanes_below(self, n, first=0):
        """The mask of lanes ``first + i < n`` (``n`` an i64)."""
        lanes = ir.Constant(ir.VectorType(I64, self.w), list(range(first, first + self.w)))
        return self.b.icmp_signed("<", lanes, self.splat(n))

    def masked_load(self, ptr, idx, mask):
        """The lanes of ``mask`` from ``ptr[idx:]``, zero elsewhere; masked-off lanes are never read."""
        return self.b.call(self._masked_fn("load"), [self.at(ptr, idx), const(self.size, I32), mask,
                                                     ir.Constant(self.vt, [0.0] * self.w)])

    def masked_store(self, v, ptr, idx, mask):
        self.b.call(self._masked_fn("store"), [v, self.at(ptr, idx), const(self.size, I32), mask])

    def splat(self, x):
        """``x`` (a scalar of any type: an element, an i64, an i1 condition as a mask) on every lane."""
        vt = ir.VectorType(x.type, self.w)
        v = self.b.insert_element(ir.Constant(vt, ir.Undefined), x, const(0, I32))
        return self.b.shuffle_vector(v, ir.Constant(vt, ir.Undefined), ir.Constant(ir.VectorType(I32, self.w), [0] * self.w))

    def fma(self, a, b, c):
        return self.b.call(self.fma_fn, [a, b, c])


def _alloca(b, ty, n, name):
    with b.goto_entry_block():
        b.position_at_start(b.function.entry_basic_block)
        slot = b.alloca(ir.ArrayType(ty, n), name=name)
        slot.align = 64
        slot.type = PTR  # an opaque pointer like every other buffer (loads and stores name their type)
    return slot


# --- packing ----------------------------------------------------------------------------
def _pack_function(module, dtype, r_lanes, ku):
    """``pack(src, rs, cs, rows, kc, kcp, dst)``: rows x kc of ``src`` (element (i, k) at
    ``src[i*rs + k*cs]``) into panels of ``r_lanes`` rows: ``dst[p][k][r] = src[p*R + r, k]``,
    zero for rows past ``rows`` and for ``kc <= k < kcp``."""
    ty = lltype(dtype)
    ftype = ir.FunctionType(ir.VoidType(), [PTR, I64, I64, I64, I64, I64, PTR])
    return _internal(module, f"gc_gemm_pack{r_lanes}_{dtype}", ftype, lambda f: _build_pack(f, ty, r_lanes, ku),
                     "noinline", "optsize")


def _concat(b, vecs):
    """One vector holding ``vecs`` (equal types) end to end (undef lanes pad an odd count)."""
    while len(vecs) > 1:
        if len(vecs) % 2:
            vecs = vecs + [ir.Constant(vecs[0].type, ir.Undefined)]
        n = vecs[0].type.count
        mask = ir.Constant(ir.VectorType(I32, 2 * n), list(range(2 * n)))
        vecs = [b.shuffle_vector(vecs[i], vecs[i + 1], mask) for i in range(0, len(vecs), 2)]
    return vecs[0]


def _transpose(b, rows, R, U):
    """``rows`` (R vectors of U lanes: row r holds k = 0..U-1) -> one vector of U*R lanes,
    k-major: lane ``u*R + r`` = ``rows[r][u]`` (a packed panel's U consecutive depth steps)."""
    big = _concat(b, rows)
    mask = ir.Constant(ir.VectorType(I32, U * R), [r * U + u for u in range(U) for r in range(R)])
    return b.shuffle_vector(big, ir.Constant(big.type, ir.Undefined), mask)


def _build_pack(fn, ty, R, U=4):
    """Full panels whose R rows are consecutive (rs == 1) copy one R-vector per k. Otherwise each
    row is read U depth steps at a time (one U-vector when cs == 1) and U x R blocks are
    transposed in registers (shuffles), so every store is a whole vector; the last panel's
    missing rows and the depth remainder (up to ``kcp``, a multiple of U) read a clamped valid
    element and store zero. Every loop body is explicit vector code: no loop is left for LLVM to
    vectorize with gathers or scatters."""
    src, rs, cs, rows, kc, kcp, dst = fn.args
    for p in (src, dst):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    size = 4 if isinstance(ty, ir.FloatType) else 8
    rvt, uvt = ir.VectorType(ty, R), ir.VectorType(ty, U)
    zero_u = ir.Constant(uvt, [0.0] * U)

    def at(ptr, idx):
        return b.gep(ptr, [idx], source_etype=ty, inbounds=True)

    def scalar_steps(rowp, okr, k0, k1):
        """dst[k, r] for k0 <= k < k1 by scalar loads (rows past ``nv`` and steps past kc are 0)."""
        with for_range(b, opaque(b, const(R)), name="sr") as r:
            row = at(sp, b.mul(imin(b, r, last), rs))
            ok_r = b.icmp_signed("<", r, nv)
            with for_range(b, k1, start=k0, name="sk") as kk:
                ok = b.and_(ok_r, b.icmp_signed("<", kk, kc))
                x = b.load(at(row, b.mul(imin(b, kk, b.sub(kc, const(1))), cs)), typ=ty)
                b.store(b.select(ok, x, ir.Constant(ty, 0.0)), at(dp, b.add(b.mul(kk, const(R)), r)))

    with for_range(b, ceil_div(b, rows, R), name="p") as p:
        r0 = b.mul(p, const(R))
        nv = imin(b, const(R), b.sub(rows, r0))
        sp = at(src, b.mul(r0, rs))
        dp = at(dst, b.mul(r0, kcp))
        last = b.sub(nv, const(1))
        full = b.icmp_signed("==", nv, const(R))
        with b.if_else(b.and_(full, b.icmp_signed("==", rs, const(1)))) as (contiguous, other):
            with contiguous:  # each k: R consecutive source elements -> one vector copy
                with for_range(b, kc, name="kv") as kk:
                    v = b.load(at(sp, b.mul(kk, cs)), typ=rvt, align=size)
                    b.store(v, at(dp, b.mul(kk, const(R))), align=size)
                with for_range(b, kcp, start=kc, name="kt") as kk:
                    b.store(ir.Constant(rvt, [0.0] * R), at(dp, b.mul(kk, const(R))), align=size)
            with other:
                okr = [b.icmp_signed("<", const(r), nv) for r in range(R)]
                rowp = [at(sp, b.mul(b.select(okr[r], const(r), last), rs)) for r in range(R)]
                kfull = b.select(b.icmp_signed("==", cs, const(1)), b.mul(b.sdiv(kc, const(U)), const(U)), const(0))
                with for_range(b, kfull, step=U, name="ku") as kb:  # cs == 1: U-vectors, transposed
                    vs = [b.select(okr[r], b.load(at(rowp[r], kb), typ=uvt, align=size), zero_u) for r in range(R)]
                    b.store(_transpose(b, vs, R, U), at(dp, b.mul(kb, const(R))), align=size)
                scalar_steps(rowp, okr, kfull, kcp)  # the rest (all of it when cs != 1), zero-padded
    b.ret_void()


# --- micro-kernel -----------------------------------------------------------------------
def _micro_function(module, dtype, bl, narrow=False, direct=False):
    """``micro(kc, ap, bp, c, ldc, mr, nr, alpha, beta, load, rsa)``: the MR x NR tile of
    ``alpha * (acc0 + Ap Bp) + beta * C`` (B a packed panel, depth ``kc``), stored to its ``mr x nr``
    valid part (C not read when beta == 0). ``acc0`` is 0, or with ``load`` != 0 the tile's current C:
    the multiply-adds then continue the chain an earlier depth block stored, so the result does not
    depend on where depth blocks end.

    ``ap`` is a packed A micro-panel (depth padded to the unroll; ``rsa`` unused), or with ``direct`` A
    itself: row ``r`` at ``ap + r * rsa``, its depth contiguous (rows past ``mr`` read row ``mr - 1``,
    steps past ``kc`` are never read). Reading A in place beat packing it on every shape measured
    (interleaved, Zen 5): +1-5 % with A in cache, +4-5 % on the MLP's 256 x 784 x 512 with a new A
    each call (the packing pass stalled on memory; the micro-kernel's eight row streams overlap it
    with the FMAs), +26-30 % on 256 x 784 x 64. ``narrow``: the variant for a product with at most W
    columns (a 10-class Dense layer), which multiplies only the panel's first vector (MR x W
    multiply-adds per depth step instead of MR x NR); it always reads A in place."""
    ty = lltype(dtype)
    ftype = ir.FunctionType(ir.VoidType(), [I64, PTR, PTR, PTR, I64, I64, I64, ty, ty, I64, I64])
    direct = direct or narrow
    name = f"gc_gemm_micro{'_narrow' if narrow else ''}{'_direct' if direct and not narrow else ''}_{dtype}"
    return _internal(module, name, ftype, lambda f: _build_micro(f, ty, bl, 1 if narrow else bl.nr // bl.w, direct),
                     "noinline")


def _build_micro(fn, ty, bl, nv, direct=False):
    """The tile's first ``nv`` vectors of columns (the packed panels stay NR wide)."""
    kc, ap, bp, c, ldc, mr, nr, alpha, beta, load, rsa = fn.args
    for p in (ap, bp, c):
        p.add_attribute("noalias")
    MR, NR, W, KU = bl.mr, bl.nr, bl.w, bl.ku
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    v = _V(b, ty, W)
    # C's valid part as masks (full tiles have all lanes set: one code path, and masked-off lanes are never
    # read or written); rows past mr point at row mr - 1 with an empty mask
    last = b.sub(mr, const(1))
    cols = [v.lanes_below(nr, j * W) for j in range(nv)]
    masks = [[b.and_(cols[j], v.splat(b.icmp_signed("<", const(r), mr))) for j in range(nv)] for r in range(MR)]
    crow = [b.mul(imin(b, const(r), last), ldc) for r in range(MR)]
    at_c = [[b.add(crow[r], const(j * W)) for j in range(nv)] for r in range(MR)]
    loading = v.splat(b.icmp_signed("!=", load, const(0)))
    accs = [v.masked_load(c, at_c[r][j], b.and_(masks[r][j], loading)) for r in range(MR) for j in range(nv)]
    if direct:  # A's rows in place (clamped to the valid ones)
        rows = [v.at(ap, b.mul(imin(b, const(r), last), rsa)) for r in range(MR)]

    def a_at(pa, k, u, r):
        """A[r, k + u]: in place, or at the packed panel's step ``u`` (``pa`` = step k's column)."""
        return b.load(v.at(rows[r], b.add(k, const(u))) if direct else v.at(pa, const(u * MR + r)), typ=ty)

    def steps(k, vals, units):
        """``units`` depth steps from step ``k`` (``vals`` = B's and packed A's pointers, then the
        accumulators)."""
        pb, pa, cur = vals[0], vals[1], list(vals[2:])
        for u in range(units):
            # B panels are only element-aligned when prepacked into a caller's buffer (GemmPackedB)
            bvec = [v.load(pb, const(u * NR + j * W)) for j in range(nv)]
            for r in range(MR):
                a = v.splat(a_at(pa, k, u, r))
                for j in range(nv):
                    cur[r * nv + j] = v.fma(a, bvec[j], cur[r * nv + j])
        return [v.at(pb, const(units * NR)), v.at(pa, const(units * MR))] + cur

    # a packed A's depth is padded to the unroll; in place, A's depth is read one step at a time
    units = 1 if direct else KU
    vals = phi_loop(b, kc, units, [bp, ap] + accs, lambda k, xs: steps(k, xs, units), "k")
    cur = [vals[2 + r * nv:2 + (r + 1) * nv] for r in range(MR)]

    reading = v.splat(b.fcmp_ordered("!=", beta, ir.Constant(ty, 0.0)))
    valpha, vbeta = v.splat(alpha), v.splat(beta)
    for r in range(MR):
        for j in range(nv):
            old = b.fmul(vbeta, v.masked_load(c, at_c[r][j], b.and_(masks[r][j], reading)))
            v.masked_store(b.fadd(b.fmul(valpha, cur[r][j]), old), c, at_c[r][j], masks[r][j])
    b.ret_void()


# --- the blocked driver ------------------------------------------------------------------
def _serial_function(module, dtype, bl, prepacked=False):
    ty = lltype(dtype)
    name = f"gc_gemm_blocked{'_packedb' if prepacked else ''}_{dtype}"
    return _internal(module, name, _gemm_ep_type(ty), lambda f: _build_serial(f, dtype, bl, prepacked), "noinline")


def _build_serial(fn, dtype, bl, prepacked=False):
    M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, alpha, beta, ep, ep_data, row0, col0 = fn.args
    for p in (A, B, C):
        p.add_attribute("noalias")
    ty = lltype(dtype)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    kc_max, nc_max = (bl.kc_pre, bl.nc_pre) if prepacked else (bl.kc, bl.nc)
    ap = _alloca(b, ty, bl.mc * kc_max, "apack")
    bp = None if prepacked else _alloca(b, ty, bl.kc * bl.nc, "bpack")
    pack_a = _pack_function(b.module, dtype, bl.mr, bl.ku)
    pack_b = None if prepacked else _pack_function(b.module, dtype, bl.nr, bl.ku)
    micro = _micro_function(b.module, dtype, bl)
    micro_narrow = _micro_function(b.module, dtype, bl, narrow=True)
    micro_direct = _micro_function(b.module, dtype, bl, direct=True)
    # A's depth contiguous (A B, A B^T): the micro-kernels read A in place, no packing
    direct = b.icmp_signed("==", csa, const(1))
    chosen = b.select(direct, b.select(b.icmp_signed("<=", N, const(bl.w)), micro_narrow, micro_direct), micro)
    micro_slot = _alloca(b, PTR, 1, "micro.slot")  # through memory: llvmlite calls only typed pointers
    b.store(chosen, micro_slot)

    def at(ptr, idx):
        return b.gep(ptr, [idx], source_etype=ty, inbounds=True)

    one, fzero = ir.Constant(ty, 1.0), ir.Constant(ty, 0.0)
    # With beta == 0 every depth block continues the multiply-add chain the previous one stored in C
    # (the micro-kernel's ``load``) and alpha applies once, after the last: the result is the same for
    # any depth blocking, so a prepacked B's longer blocks give the bits of the plain path's. With
    # beta != 0 (a Gemm's C) the original C is needed at the end: each block adds alpha * its sum to C,
    # in blocks of the plain path's kc on both paths.
    chain = b.fcmp_ordered("==", beta, fzero)
    kc_lim = b.select(chain, const(kc_max), const(bl.kc))
    # depth blocks of equal size (a multiple of ku, at most kc): no short last block
    kstep = b.mul(ceil_div(b, ceil_div(b, K, ceil_div(b, K, kc_lim)), bl.ku), const(bl.ku))
    with for_range(b, N, step=nc_max, name="jc") as jc:
        nc = imin(b, const(nc_max), b.sub(N, jc))
        with for_range(b, K, step=kstep, name="pc") as pc:
            kc = imin(b, kstep, b.sub(K, pc))
            kcp = b.mul(ceil_div(b, kc, bl.ku), const(bl.ku))
            first, last = b.icmp_signed("==", pc, const(0)), b.icmp_signed(">=", b.add(pc, kc), K)
            alpha_eff = b.select(b.or_(last, b.not_(chain)), alpha, one)
            beta_eff = b.select(chain, fzero, b.select(first, beta, one))
            load = b.zext(b.and_(chain, b.not_(first)), I64)
            # the epilogue runs on each tile after its last depth block
            ep_now = b.select(last, ep, ir.Constant(PTR, None))
            if not prepacked:
                b.call(pack_b, [at(B, b.add(b.mul(pc, rsb), b.mul(jc, csb))), csb, rsb, nc, kc, kcp, bp])
            with for_range(b, M, step=bl.mc, name="ic") as ic:
                mc = imin(b, const(bl.mc), b.sub(M, ic))
                # (no rows to pack when the micro-kernel reads A in place: no branch to unswitch)
                b.call(pack_a, [at(A, b.add(b.mul(ic, rsa), b.mul(pc, csa))), rsa, csa,
                                b.select(direct, const(0), mc), kc, kcp, ap])
                with for_range(b, nc, step=bl.nr, name="jr") as jr:
                    nr = imin(b, const(bl.nr), b.sub(nc, jr))
                    # a prepacked B (see ``packed_b_shape``) holds every panel already: rsb = NR, csb = Kp
                    bpanel = (at(B, b.add(b.mul(b.add(jc, jr), csb), b.mul(pc, rsb))) if prepacked
                              else at(bp, b.mul(jr, kcp)))
                    cbase = b.add(jc, jr)
                    with for_range(b, mc, step=bl.mr, name="ir") as ir_:
                        mr = imin(b, const(bl.mr), b.sub(mc, ir_))
                        crow = b.mul(b.add(ic, ir_), ldc)
                        ctile = at(C, b.add(crow, cbase))
                        # one call through a selected pointer: a branch here, LLVM would unswitch
                        # the loop nest into two copies (compile time in every module with a GEMM)
                        a_tile = b.select(direct, at(A, b.add(b.mul(b.add(ic, ir_), rsa), pc)),
                                          at(ap, b.mul(ir_, kcp)))
                        b.call(b.load(micro_slot, typ=micro.function_type.as_pointer()),
                               [b.select(direct, kc, kcp), a_tile, bpanel, ctile, ldc, mr, nr, alpha_eff, beta_eff,
                                load, rsa])
                        call_epilogue(b, ep_now, [ep_data, ctile, ldc, b.add(row0, b.add(ic, ir_)),
                                                  b.add(col0, cbase), mr, nr])
    b.ret_void()


def _scalar_fma(module, ty):
    name = f"llvm.fma.{'f32' if isinstance(ty, ir.FloatType) else 'f64'}"
    return module.globals.get(name) or ir.Function(module, ir.FunctionType(ty, [ty] * 3), name)


# --- the public entry: size dispatch and the thread split -----------------------------------
def _build_public(fn, dtype, bl, prepacked=False):
    M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, alpha, beta = fn.args[:13]
    for p in (A, B, C):
        p.add_attribute("noalias")
    module = fn.module
    ty = lltype(dtype)
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def at(ptr, idx):
        return b.gep(ptr, [idx], source_etype=ty, inbounds=True)

    empty = b.or_(b.icmp_signed("<=", M, const(0)), b.icmp_signed("<=", N, const(0)))
    with b.if_then(empty):
        b.ret_void()
    args = list(fn.args)
    macs = b.mul(b.mul(M, N), K)
    # (K <= 0 is tiny too: the direct path then computes C = beta * C)
    # B's rows contiguous, or B's columns and A's rows contiguous: the unpacked loops stream them
    streams = b.or_(b.icmp_signed("==", csb, const(1)),
                    b.and_(b.icmp_signed("==", rsb, const(1)), b.icmp_signed("==", csa, const(1))))
    few_rows = b.icmp_signed("<", M, const(FEW_ROWS))
    if not prepacked:
        few_rows = b.and_(few_rows, streams)
    tiny = b.or_(b.icmp_signed("<", macs, const(SMALL_MACS)), few_rows)
    with b.if_then(tiny):
        from .gemm_small import direct_function  # it builds on this module's helpers
        direct = direct_function(module, dtype, bl, prepacked)
        threads.emit_parallel_split(b, direct, args, 1, bl.nr, threads.PARALLEL_MACS)
        b.call(direct, args)
        b.ret_void()
    serial = _serial_function(module, dtype, bl, prepacked)
    threads.emit_parallel_split(b, serial, args, bl.mr, bl.nr, threads.PARALLEL_MACS)
    b.call(serial, args)
    b.ret_void()
