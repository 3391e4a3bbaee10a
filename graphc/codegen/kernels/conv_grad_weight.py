"""The direct weight-gradient kernel (``graphc.DirectConvGradWeight``): no im2col, no packing.

dWk (KH, KW, C, M)[k, m] = sum over images n and output positions p of
``X[n, c, oy*sh + ky*dh, ox*sw + kx*dw] * dY[n, m, oy, ox]`` for ``k = (ky, kx, c)`` and ``p = (oy, ox)``.
It is DirectConv's implicit GEMM (codegen/kernels/conv_direct.py) with the roles of the tables
swapped: the register tile (the GEMM's MR x NR) takes MR kernel taps (rows, broadcast from X at
``tap[k]``, Wk's row order) times NR output channels (vectors), and the depth runs over output
positions, ``pos(n, p) = n*C*H*W + oy*sh*W + ox*sw`` from a static table.

The batch goes in static chunks of ``chunk_images`` images. Each chunk's dY is first transposed to
channels-last rows (P, M) in a stack buffer (float32: 8 channels x W positions at a time through
registers, :func:`~graphc.codegen.kernels.conv_direct.transpose8`), so a tile's NR channels are
one vector load; then every tap tile passes over the chunk while its X and dY rows are in cache.
Per chunk and tile each element is one sequential fma chain from zero, added to dWk (zeroed
first). The chunking does not depend on the thread count and threads split the tap tiles (one
range per thread, each transposing the chunks itself), so 1 and 2 threads give identical results.
"""
from __future__ import annotations

from llvmlite import ir

from ..kernel import PTR
from ..loops import I32, I64, const, for_range, imin
from ..scalar import ScalarEmitter
from .conv import opaque
from .conv_direct import _Emitter, run_ranges, transpose8

# the X and dY bytes of one chunk of images: they stay in L2 while all the tiles pass over them (the
# transposed dY is a stack buffer of at most this size: ops/conv_grad_direct refuses larger images)
CHUNK_BYTES = 1 << 18


# with 32 vector registers (AVX-512) up to this many taps run as one tile: 2 x 12 accumulators, the
# two dY vectors and a broadcast still fit
MAX_ONE_TILE = 12


def chunk_images(img, positions, m, esize):
    """Images per chunk: as many as fit CHUNK_BYTES (an X image and its dY), 1 to 64."""
    return max(1, min(64, CHUNK_BYTES // (esize * (img + positions * m))))


class _GradWeight(_Emitter):
    def __init__(self, fn, geo, c, m, dtype):
        super().__init__(fn, geo, c, m, None, dtype, None)
        self.k = len(self.taps)
        if self.w * self.esize == 64 and self.mr < self.k <= MAX_ONE_TILE:
            self.mr = self.k  # (a first layer's nine taps: one tile of nine rows, not eight and one)
        self.nb = chunk_images(self.img, self.rp, m, self.esize)

    def body(self, b, X, dY, dWk, t_lo, t_hi, n_img):
        """Tap tiles [t_lo, t_hi) (tile i: taps [i*MR, min(K, (i+1)*MR))) over every chunk of the batch."""
        self.b = b
        self.s = ScalarEmitter(b, self.dtype)
        tap_g = self.table("taps", self.taps)
        pos_g = self.table("pos", [n * self.img + r for n in range(self.nb) for r in self.rt])
        full, tail = divmod(self.k, self.mr)
        with b.goto_entry_block():
            yc = b.alloca(ir.ArrayType(self.ty, self.nb * self.rp * self.m), name="dyt")  # the chunk's dY, (P, M) rows
            yc.align = 64
            yc.type = PTR
        with for_range(b, n_img, step=self.nb, name="n0") as n0:
            cnt = imin(b, const(self.nb), b.sub(n_img, n0))
            depth = b.mul(cnt, const(self.rp))
            xc = self.at(X, b.mul(n0, const(self.img)))
            self.transpose(self.at(dY, b.mul(n0, const(self.rp * self.m))), yc, cnt)
            with for_range(b, imin(b, t_hi, const(full)), start=t_lo, name="ti") as i:
                self.rows(xc, yc, dWk, b.mul(i, const(self.mr)), self.mr, depth, tap_g, pos_g)
            if tail:
                mine = b.and_(b.icmp_signed("<=", t_lo, const(full)), b.icmp_signed(">", t_hi, const(full)))
                with b.if_then(mine):  # the last, partial tile is in this range
                    self.rows(xc, yc, dWk, const(full * self.mr), tail, depth, tap_g, pos_g)

    def transpose(self, src, dst, cnt):
        """``cnt`` images of dY (M, P) into ``dst`` as (P, M) rows: the chunk's dYt. float32 blocks of 8
        channels x W positions go through registers (:func:`transpose8`); the rest element by element."""
        b, m, p, w = self.b, self.m, self.rp, self.w
        vec = self.dtype == "float32" and w % 4 == 0
        mb, pb = (m // 8 * 8, p // w * w) if vec else (0, 0)
        with for_range(b, cnt, name="tn") as n:
            s0 = b.mul(n, const(m * p))
            if mb and pb:
                with for_range(b, opaque(b, const(mb)), step=8, name="tm") as c0:
                    with for_range(b, opaque(b, const(pb)), step=w, name="tp") as q0:
                        sq = b.add(s0, b.add(b.mul(c0, const(p)), q0))
                        rows = [b.load(self.at(src, b.add(sq, const(r * p))), typ=self.vt, align=self.esize)
                                for r in range(8)]
                        dq = b.add(s0, b.add(b.mul(q0, const(m)), c0))  # (n*P + q0)*M + c0
                        for j, col in enumerate(transpose8(b, rows, w)):
                            b.store(col, self.at(dst, b.add(dq, const(j * m))), align=self.esize)
            for c_lo, c_hi, q_lo, q_hi in ((0, mb, pb, p), (mb, m, 0, p)):
                if c_lo == c_hi or q_lo == q_hi:
                    continue
                with for_range(b, opaque(b, const(q_hi)), start=const(q_lo), name="sp") as q:
                    dq = b.add(s0, b.mul(q, const(m)))
                    with for_range(b, opaque(b, const(c_hi)), start=const(c_lo), name="sc") as c:
                        v = b.load(self.at(src, b.add(s0, b.add(b.mul(c, const(p)), q))), typ=self.ty)
                        b.store(v, self.at(dst, b.add(dq, c)))

    def rows(self, xc, yc, dWk, r0, mr, depth, tap_g, pos_g):
        b = self.b
        bases = [self.at(xc, self.tab(tap_g, b.add(r0, const(t)))) for t in range(mr)]
        full_blocks, rest = divmod(self.m, self.nr)
        if full_blocks:
            with for_range(b, const(full_blocks * self.nr), step=self.nr, name="jb") as c0:
                self.block(yc, dWk, r0, mr, c0, [self.w] * (self.nr // self.w), bases, depth, pos_g)
        if rest:
            lanes = [self.w] * (rest // self.w) + ([rest % self.w] if rest % self.w else [])
            self.block(yc, dWk, r0, mr, const(full_blocks * self.nr), lanes, bases, depth, pos_g)

    def block(self, yc, dWk, r0, mr, c0, lanes, bases, depth, pos_g):
        """``mr`` taps from ``r0`` x channels [c0, c0 + sum(lanes)): dWk rows += this chunk's sums."""
        b, w, nv = self.b, self.w, len(lanes)

        def position(d):  # depth >= 1: a chunk holds at least one image of at least one position
            yrow = b.add(b.mul(d, const(self.m)), c0)
            return self.tab(pos_g, d), [self.load_vec(yc, b.add(yrow, const(v * w)), lanes[v]) for v in range(nv)]
        cur = self.fma_tile(depth, mr, lanes, bases, position, "d")
        for t in range(mr):
            row = b.add(b.mul(b.add(r0, const(t)), const(self.m)), c0)
            for v in range(nv):
                idx = b.add(row, const(v * w))
                if lanes[v] == w:
                    p = self.at(dWk, idx)
                    b.store(b.fadd(b.load(p, typ=self.vt, align=self.esize), cur[t][v]), p, align=self.esize)
                    continue
                for i in range(lanes[v]):
                    p = self.at(dWk, b.add(idx, const(i)))
                    b.store(b.fadd(b.load(p, typ=self.ty), b.extract_element(cur[t][v], const(i, I32))), p)


def emit_direct_conv_grad_weight(k, geo, c, m, dtype, X, dY, dWk):
    """The kernel (see the module docstring). The tile loop is a helper function taking (data, first
    tap tile, last tap tile), run on the calling thread or on chunks of tiles on GOMP workers."""
    b = k.b
    em = _GradWeight(k.fn, geo, c, m, dtype)
    tiles = -(-em.k // em.mr)
    n = k.dim(k.in_types[0], 0)
    with for_range(b, const(em.k * m), name="z") as i:
        b.store(ir.Constant(em.ty, 0.0), b.gep(dWk, [i], source_etype=em.ty, inbounds=True))
    st = ir.LiteralStructType([PTR, PTR, PTR, I64])
    body = ir.Function(k.module, ir.FunctionType(ir.VoidType(), [PTR, I64, I64]), f"{k.fn.name}.tiles")
    body.linkage = "internal"
    body.attributes.add("nounwind")
    bb = ir.IRBuilder(body.append_basic_block("entry"))
    data, lo, hi = body.args
    fx, fy, fw, fn_img = [bb.load(bb.gep(data, [const(0, I32), const(i, I32)], source_etype=st), typ=t)
                          for i, t in enumerate(st.elements)]
    em.body(bb, fx, fy, fw, lo, imin(bb, hi, const(tiles)), fn_img)
    bb.ret_void()
    with b.goto_entry_block():
        b.position_at_start(k.fn.entry_basic_block)
        dptr = b.alloca(st, name="cgw.data")
        dptr.type = PTR
    for i, p in enumerate([X, dY, dWk, n]):
        b.store(p, b.gep(dptr, [const(0, I32), const(i, I32)], source_etype=st))
    # one range of tap tiles per thread: each range passes over (and transposes) the whole batch
    run_ranges(k, body, dptr, const(tiles), 1, b.mul(n, const(em.rp * em.k * m)), per_thread=1)
