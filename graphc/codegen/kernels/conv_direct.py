"""The direct convolution kernel (``graphc.DirectConv``): no im2col, no packing.

Y (N, M, OH, OW) = conv(X (N, C, H, W), Wk (KH, KW, C, M)) + B, with an optional fused
elementwise epilogue and an optional fused non-overlapping max pool. The register tile is the
GEMM micro-kernel's (:func:`graphc.codegen.kernels.gemm.blocking`: MR rows x NR columns, e.g.
8 x 32 fp32 with AVX-512), but its operands come straight from memory:

- the tile's rows are MR output positions anywhere in the batch (the batch's positions are one
  flat row space, so a late layer with a 3x3 output still fills whole tiles); row ``t`` reads
  the input at ``X + x_base[t] + tap[k]`` for depth ``k = (ky, kx, c)``, broadcast. The tap
  offsets (``c*H*W + ky*dh*W + kx*dw``) and each position's offset (``oy*sh*W + ox*sw``) are
  static tables (constant globals);
- the columns are NR consecutive output channels of one row of Wk (a Keras kernel's own
  layout, so a Keras model needs no weight transpose at all), read as vectors.

After the depth loop the bias is added in registers. A fused epilogue of plain arithmetic with
per-channel or scalar inputs (an activation, BN after it) runs there too, on vectors
(:class:`VectorEmitter`); any other runs over the tile in a stack buffer with the channel as the
row of the ``channels`` view. Then, with a pool, each group of ph*pw rows (one pooling window:
the tile's rows are ordered window by window) is reduced with the same ``max`` fold as MaxPool's
kernel, on whole vectors, and only the pooled values are stored. In NCHW a channel's values are
the contiguous ones: a float32 tile of eight consecutive positions of one image (no pool) is
transposed in registers and stored as one 8-wide vector per channel; other tiles (crossing an
image boundary, pooled, part-vector channel blocks) store lane by lane (a vectorizer would make
those scatters). Rows left over after whole tiles (at the end of the batch) run as tiles of one unit.

Every output element is one sequential fma chain over k, whatever the tile and the thread, so
results do not depend on the batch size or the thread count. Threads split the tiles.
"""
from __future__ import annotations

import math

from llvmlite import ir

from .. import threads
from ..kernel import PTR
from ..loops import I32, I64, ceil_div, const, for_range, imin, phi_loop
from ..scalar import ScalarEmitter, lltype
from .conv import opaque
from .gemm import _V, blocking, vector_bits
from .norm import VectorEmitter


def tile_rows(pool_size: int, dtype: str = "float32", bits: int | None = None) -> int:
    """Rows per register tile: the GEMM's MR rounded down to whole pooling windows (at least one)."""
    mr = blocking(dtype, vector_bits() if bits is None else bits).mr
    return pool_size * max(1, mr // pool_size)


def row_offsets(geo, pool):
    """Input offset of every tile row of one image: output positions in row-major order, or with
    ``pool`` (ph, pw) the positions of each pooling window (row-major inside it), window by window."""
    (_, W), (sh, sw) = geo.inp, geo.strides
    oh, ow = geo.out
    if pool is None:
        return [oy * sh * W + ox * sw for oy in range(oh) for ox in range(ow)]
    ph, pw = pool
    return [(py * ph + dy) * sh * W + (px * pw + dx) * sw
            for py in range(oh // ph) for px in range(ow // pw) for dy in range(ph) for dx in range(pw)]


def tap_offsets(geo, c):
    """Input offset of every depth step k = (ky, kx, channel), Wk's row order."""
    (H, W), (kh, kw), (dh, dw) = geo.inp, geo.kernel, geo.dilations
    return [ch * H * W + ky * dh * W + kx * dw for ky in range(kh) for kx in range(kw) for ch in range(c)]


class _Emitter:
    def __init__(self, fn, geo, c, m, pool, dtype, epilogue, vector_epilogue=False):
        self.fn, self.geo, self.c, self.m, self.pool, self.dtype = fn, geo, c, m, pool, dtype
        self.ep = epilogue
        self.vector_ep = vector_epilogue and epilogue is not None
        bl = blocking(dtype, vector_bits())
        self.w, self.nr = bl.w, bl.nr
        self.g = 1 if pool is None else pool[0] * pool[1]
        self.mr = tile_rows(self.g, dtype)
        self.rt = row_offsets(geo, pool)
        self.taps = tap_offsets(geo, c)
        self.rp = len(self.rt)          # tile rows per image
        self.op = self.rp // self.g     # stored outputs per image (positions or windows)
        self.img = c * math.prod(geo.inp)
        self.ty = lltype(dtype)
        self.vt = ir.VectorType(self.ty, self.w)
        self.esize = 4 if dtype == "float32" else 8

    # --- helpers ---------------------------------------------------------------------------
    def at(self, p, i):
        return self.b.gep(p, [i], source_etype=self.ty, inbounds=True)

    def table(self, name, values):
        arr = ir.ArrayType(I64, len(values))
        gv = ir.GlobalVariable(self.fn.module, arr, f"{self.fn.name}.{name}")
        gv.initializer = ir.Constant(arr, [int(v) for v in values])
        gv.global_constant = True
        gv.linkage = "internal"
        return gv

    def tab(self, gv, i):
        return self.b.load(self.b.gep(gv, [const(0, I32), i], source_etype=gv.value_type, inbounds=True), typ=I64)

    def splat(self, x):
        return _V(self.b, self.ty, self.w).splat(x)

    def load_vec(self, p, idx, lanes):
        """``lanes`` elements at ``p[idx]``, the rest zero: one vector load when whole (never past the end)."""
        b = self.b
        if lanes == self.w:
            return b.load(self.at(p, idx), typ=self.vt, align=self.esize)
        v = ir.Constant(self.vt, [0.0] * self.w)
        for i in range(lanes):
            v = b.insert_element(v, b.load(self.at(p, b.add(idx, const(i))), typ=self.ty), const(i, I32))
        return v

    # --- the kernel ----------------------------------------------------------------------------
    def body(self, b, X, Wk, B, Y, q_lo, q_hi, total):
        """The tiles of rows [q_lo, q_hi) (q_lo a multiple of MR; q_hi clamped to the batch's rows)."""
        self.b = b
        self.s = ScalarEmitter(b, self.dtype)
        fn = b.function
        with b.goto_entry_block():
            b.position_at_start(fn.entry_basic_block)
            tile = b.alloca(ir.ArrayType(self.ty, self.mr * self.nr), name="tile")
            tile.align = 64
            tile.type = PTR
            ybase = b.alloca(ir.ArrayType(I64, self.mr // self.g), name="ybase")
            ybase.type = PTR
        self.tile, self.ybase = tile, ybase
        rt_g, tap_g = self.table("rows", self.rt), self.table("taps", self.taps)
        full_blocks, rest = divmod(self.m, self.nr)
        # whole MR-row tiles, then the rest (fewer than MR rows, whole units) one unit at a time
        q_tiles = b.add(q_lo, b.mul(b.udiv(b.sub(q_hi, q_lo), const(self.mr)), const(self.mr)))
        passes = [(q_lo, q_tiles, self.mr)] + ([(q_tiles, q_hi, self.g)] if self.mr > self.g else [])
        for start, stop, mr in passes:
            self.cur_mr = mr
            with for_range(b, stop, start=start, step=mr, name="q") as q0:
                bases = []
                for t in range(mr):
                    q = b.add(q0, const(t))
                    n = b.udiv(q, const(self.rp))
                    r = b.sub(q, b.mul(n, const(self.rp)))
                    bases.append(self.at(X, b.add(b.mul(n, const(self.img)), self.tab(rt_g, r))))
                    if t % self.g == 0:  # the unit's output offset Y[n, 0, o]
                        ob = b.add(b.mul(n, const(self.m * self.op)), b.udiv(r, const(self.g)))
                        b.store(ob, b.gep(ybase, [const(t // self.g)], source_etype=I64, inbounds=True))
                if full_blocks:
                    with for_range(b, const(full_blocks * self.nr), step=self.nr, name="jb") as c0:
                        self.block(Wk, B, Y, c0, [self.w] * (self.nr // self.w), bases, tap_g)
                if rest:
                    lanes = [self.w] * (rest // self.w) + ([rest % self.w] if rest % self.w else [])
                    self.block(Wk, B, Y, const(full_blocks * self.nr), lanes, bases, tap_g)

    def fma_tile(self, n, mr, lanes, bases, operands, name):
        """``mr`` x ``len(lanes)`` vector accumulators of ``sum_k splat(bases[t][off_k]) * bvec_k[v]`` over
        ``k < n`` in registers (phis), where ``operands(k)`` gives ``(off_k, bvec_k)``: one shared register
        tile loop for the forward taps and the weight gradient's positions."""
        b, nv, vec = self.b, len(lanes), _V(self.b, self.ty, self.w)

        def body(k, flat):
            off, bv = operands(k)
            out = []
            for t in range(mr):
                a = vec.splat(b.load(self.at(bases[t], off), typ=self.ty))
                out += [vec.fma(a, bv[v], flat[t * nv + v]) for v in range(nv)]
            return out
        flat = phi_loop(b, n, 1, [ir.Constant(self.vt, [0.0] * self.w)] * (mr * nv), body, name)
        return [flat[t * nv:(t + 1) * nv] for t in range(mr)]

    def block(self, Wk, B, Y, c0, lanes, bases, tap_g):
        """One tile (``cur_mr`` rows) x one block of output channels [c0, c0 + sum(lanes))."""
        b, w, nv, mr = self.b, self.w, len(lanes), self.cur_mr

        def tap(kk):
            wrow = b.add(b.mul(kk, const(self.m)), c0)
            return self.tab(tap_g, kk), [self.load_vec(Wk, b.add(wrow, const(v * w)), lanes[v]) for v in range(nv)]
        cur = self.fma_tile(const(len(self.taps)), mr, lanes, bases, tap, "k")
        bias = [self.load_vec(B, b.add(c0, const(v * w)), lanes[v]) for v in range(nv)] if B is not None else None
        if self.vector_ep:  # the epilogue's per-channel and scalar inputs, as vectors
            from ...ops.registry import get
            fused = get("Fused", "graphc")
            vs = VectorEmitter(b, self.dtype, w)
            extras = [[self.load_vec(e, b.add(c0, const(v * w)), lanes[v]) for v in range(nv)] if lay == "row"
                      else [self.splat(b.load(e, typ=self.ty))] * nv for e, lay in zip(self.ep.extras, self.ep.layouts)]
        for t in range(mr):
            for v in range(nv):
                x = cur[t][v] if bias is None else b.fadd(cur[t][v], bias[v])
                if self.vector_ep:
                    x = fused.scalar(vs, self.ep.op, x, *[e[v] for e in extras])[0]
                b.store(x, self.at(self.tile, const(t * self.nr + v * w)), align=self.esize * w)
        cols = sum(lanes)
        if self.ep is not None and not self.vector_ep:
            self.epilogue(c0, cols)
        self.store(Y, c0, lanes)

    def unit_base(self, u):
        return self.b.load(self.b.gep(self.ybase, [u], source_etype=I64, inbounds=True), typ=I64)

    def epilogue(self, c0, cols):
        """The fused elementwise body over the tile, in place (channels view: the channel is the row)."""
        from ...ops.registry import get
        b, s, ep = self.b, self.s, self.ep
        fused = get("Fused", "graphc")
        with for_range(b, const(self.cur_mr), name="ept") as t:
            obase = self.unit_base(b.udiv(t, const(self.g)))
            # (an opaque trip count: LLVM vectorizes this contiguous loop instead of unrolling it and
            # vectorizing the rows with gathers and scatters)
            with for_range(b, opaque(b, const(cols)), name="epj") as j:
                ch = b.add(c0, j)
                idx = {"full": b.add(obase, b.mul(ch, const(self.op))), "row": ch, "scalar": const(0)}
                p = self.at(self.tile, b.add(b.mul(t, const(self.nr)), j))
                xs = [b.load(p, typ=self.ty)] + [b.load(self.at(e, idx[lay]), typ=self.ty)
                                                 for e, lay in zip(ep.extras, ep.layouts)]
                res = fused.scalar(s, ep.op, *xs)
                if not ep.raw_out:  # (with the product kept, res[0] is the product itself)
                    b.store(res[0], p)
                for v, out in zip(res[1:], ep.outs[1:]):
                    b.store(v, self.at(out, idx["full"]))

    def unit_vec(self, u, v):
        """Unit ``u``'s vector ``v`` from the tile (with a pool: the max over its rows, MaxPool's fold
        ``max(acc, x)`` from -inf in the window's row order, on whole vectors)."""
        b, g, w = self.b, self.g, self.w
        row = b.mul(u, const(g * self.nr))

        def row_vec(e):
            return b.load(self.at(self.tile, b.add(row, const(e * self.nr + v * w))), typ=self.vt, align=self.esize * w)
        if self.pool is None:
            return row_vec(0)
        x = ir.Constant(self.vt, [-math.inf] * w)
        for e in range(g):
            x = self.s.max(x, row_vec(e))
        return x

    def store(self, Y, c0, lanes):
        """Each unit's values to Y[n, c0 + j, o] (the channel stride is the image's outputs). Eight
        float32 positions adjacent in Y (one image, no pool) store one vector per channel; two adjacent
        pooling windows store each channel's pair at once; anything else lane by lane (scalar stores,
        where a vectorizer would scatter)."""
        b, w = self.b, self.w
        coff = b.mul(c0, const(self.op))
        units = self.cur_mr // self.g
        if self.g == 1 and units == 8 and self.dtype == "float32" and w % 4 == 0 and all(n == w for n in lanes):
            # eight consecutive positions of one image: each channel's eight values are one vector store
            y0 = self.unit_base(const(0))
            run = b.icmp_signed("==", self.unit_base(const(7)), b.add(y0, const(7)))
            with b.if_else(run) as (contiguous, other):
                with contiguous:
                    self.store_transposed(Y, b.add(y0, coff), len(lanes))
                with other:
                    self.store_lanes(Y, coff, lanes, units)
            return

        if units != 2 or self.dtype != "float32" or any(n != w for n in lanes):
            self.store_lanes(Y, coff, lanes, units)
            return
        y0 = self.unit_base(const(0))
        pair = b.icmp_signed("==", self.unit_base(const(1)), b.add(y0, const(1)))
        h = w // 2
        dt = ir.VectorType(ir.DoubleType(), h)
        with b.if_else(pair) as (both, other):
            with both:
                ybase = b.add(y0, coff)
                for v in range(len(lanes)):
                    a, c = self.unit_vec(const(0), v), self.unit_vec(const(1), v)
                    for half in range(2):
                        mask = [half * h + i + w * j for i in range(h) for j in range(2)]
                        pairs = b.bitcast(b.shuffle_vector(a, c, ir.Constant(ir.VectorType(I32, w), mask)), dt)
                        for i in range(h):
                            b.store(b.extract_element(pairs, const(i, I32)),
                                    self.at(Y, b.add(ybase, const((v * w + half * h + i) * self.op))), align=4)
            with other:
                self.store_lanes(Y, coff, lanes, units)


    def store_lanes(self, Y, coff, lanes, units):
        """Each unit's values lane by lane: ``Y[unit base + (c0 + j) * outputs] = unit[j]``."""
        b, w = self.b, self.w
        with for_range(b, const(units), name="stu") as u:
            ybase = b.add(self.unit_base(u), coff)
            for v, n_lanes in enumerate(lanes):
                x = self.unit_vec(u, v)
                for i in range(n_lanes):
                    b.store(b.extract_element(x, const(i, I32)), self.at(Y, b.add(ybase, const((v * w + i) * self.op))))

    def store_transposed(self, Y, ybase, nv):
        """Eight rows (positions ``ybase .. ybase + 7`` of one image, no pool) x ``nv`` whole vectors of
        channels, transposed in registers (:func:`transpose8`) into one 8-wide vector per channel stored
        at ``Y[ybase + j * outputs]``."""
        b, w = self.b, self.w
        for v in range(nv):
            r = [b.load(self.at(self.tile, const(t * self.nr + v * w)), typ=self.vt, align=self.esize * w)
                 for t in range(8)]
            for j, col in enumerate(transpose8(b, r, w)):
                b.store(col, self.at(Y, b.add(ybase, const((v * w + j) * self.op))), align=4)


def transpose8(b, rows, w):
    """The ``w`` columns (8-element vectors) of eight ``<w x float>`` rows (``w`` a multiple of 4): the
    unpack/shuffle steps of an 8 x 4 transpose inside each 128-bit lane, then the two halves joined."""
    lanes4 = range(w // 4)

    def shuf(x, y, mask):
        return b.shuffle_vector(x, y, ir.Constant(ir.VectorType(I32, len(mask)), mask))
    lo32 = [i for q in lanes4 for i in (4 * q, w + 4 * q, 4 * q + 1, w + 4 * q + 1)]
    hi32 = [i for q in lanes4 for i in (4 * q + 2, w + 4 * q + 2, 4 * q + 3, w + 4 * q + 3)]
    lo64 = [i for q in lanes4 for i in (4 * q, 4 * q + 1, w + 4 * q, w + 4 * q + 1)]
    hi64 = [i for q in lanes4 for i in (4 * q + 2, 4 * q + 3, w + 4 * q + 2, w + 4 * q + 3)]
    t = [shuf(rows[i], rows[i + 1], m) for i in (0, 2, 4, 6) for m in (lo32, hi32)]
    # u[j] (u[4 + j]): column 4 * lane + j of rows 0-3 (4-7) in each 128-bit lane
    u = [shuf(t[a + d], t[a + d + 2], m) for a in (0, 4) for d in (0, 1) for m in (lo64, hi64)]
    cols = [None] * w
    for q in lanes4:
        for j in range(4):
            cols[4 * q + j] = shuf(u[j], u[4 + j], [4 * q + i for i in range(4)] + [w + 4 * q + i for i in range(4)])
    return cols


def emit_direct_conv(k, geo, c, m, pool, dtype, X, Wk, B, Y, epilogue=None, vector_epilogue=False):
    """The kernel (see the module docstring): ``pool`` is None or (ph, pw); ``epilogue`` an Epilogue or None.

    The tile loop is a helper function of this kernel taking (data, first row, last row), run on
    the calling thread or, for big products with threads enabled, on chunks of tiles claimed by
    GOMP workers (:mod:`graphc.codegen.threads`)."""
    b = k.b
    em = _Emitter(k.fn, geo, c, m, pool, dtype, epilogue, vector_epilogue)
    extras = list(epilogue.extras) if epilogue is not None else []
    extra_outs = list(epilogue.outs[1:]) if epilogue is not None else []
    ptrs = [X, Wk, B if B is not None else ir.Constant(PTR, None), Y] + extras + extra_outs
    st = ir.LiteralStructType([PTR] * len(ptrs) + [I64])
    body = ir.Function(k.module, ir.FunctionType(ir.VoidType(), [PTR, I64, I64]), f"{k.fn.name}.tiles")
    body.linkage = "internal"
    body.attributes.add("nounwind")
    bb = ir.IRBuilder(body.append_basic_block("entry"))
    data, lo, hi = body.args
    fields = [bb.load(bb.gep(data, [const(0, I32), const(i, I32)], source_etype=st), typ=t)
              for i, t in enumerate(st.elements)]
    fx, fw, fb, fy = fields[:4]
    fex = fields[4:4 + len(extras)]
    fouts = fields[4 + len(extras):-1]
    total = fields[-1]
    if epilogue is not None:  # the epilogue reads its inputs through this function's arguments
        epilogue.extras, epilogue.outs = fex, [fy] + fouts
    em.body(bb, fx, fw, fb if B is not None else None, fy, lo, imin(bb, hi, total), total)
    bb.ret_void()

    n = k.dim(k.in_types[0], 0)
    total = b.mul(n, const(em.rp))
    with b.goto_entry_block():
        b.position_at_start(k.fn.entry_basic_block)
        dptr = b.alloca(st, name="conv.data")
        dptr.type = PTR
    for i, p in enumerate(ptrs + [total]):
        b.store(p, b.gep(dptr, [const(0, I32), const(i, I32)], source_etype=st))
    run_ranges(k, body, dptr, total, em.mr, b.mul(total, const(len(em.taps) * m)))


def run_ranges(k, body, dptr, total, unit, macs, per_thread=4):
    """Run ``body(dptr, lo, hi)`` over ``[0, total)``: on the calling thread, or, with threads enabled,
    at least ``threads.PARALLEL_MACS`` multiply-adds and two units of work, on chunks of whole ``unit``s (about
    ``per_thread`` per thread) claimed by GOMP workers with an atomic counter. ``body`` clamps ``hi``."""
    b = k.b
    tiles = ceil_div(b, total, unit)
    par, nt = threads.thread_globals(b)
    ok = b.and_(b.icmp_unsigned("!=", par, ir.Constant(PTR, None)), b.icmp_signed(">", nt, const(1)))
    ok = b.and_(ok, b.icmp_signed(">=", macs, const(threads.PARALLEL_MACS)))
    ok = b.and_(ok, b.icmp_signed(">=", tiles, const(2)))
    with b.if_else(ok) as (parallel, serial):
        with parallel:
            chunk = b.mul(ceil_div(b, tiles, b.mul(nt, const(per_thread))), const(unit))
            nchunks = ceil_div(b, total, chunk)
            worker = _worker(k.module, body)
            wst = worker.data_type
            with b.goto_entry_block():
                b.position_at_start(k.fn.entry_basic_block)
                wd = b.alloca(wst, name="conv.par")
                wd.type = PTR
            for i, v in enumerate([dptr, const(0), nchunks, chunk]):
                b.store(v, b.gep(wd, [const(0, I32), const(i, I32)], source_etype=wst))
            threads.call_parallel(b, worker, wd, imin(b, nt, nchunks))
        with serial:
            b.call(body, [dptr, const(0), total])


def _worker(module, body):
    """``worker(data)``: claim chunks of rows from ``data.counter`` and run ``body`` on each."""
    st = ir.LiteralStructType([PTR, I64, I64, I64])
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), f"{body.name}.worker")
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    fn.data_type = st
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def field(i):
        return b.gep(fn.args[0], [const(0, I32), const(i, I32)], source_etype=st)

    data = b.load(field(0), typ=PTR)
    nchunks, chunk = b.load(field(2), typ=I64), b.load(field(3), typ=I64)
    loop, work, done = (fn.append_basic_block(x) for x in ("claim", "work", "done"))
    b.branch(loop)
    b.position_at_end(loop)
    i = b.atomic_rmw("add", field(1), const(1), "monotonic")
    b.cbranch(b.icmp_signed("<", i, nchunks), work, done)
    b.position_at_end(work)
    lo = b.mul(i, chunk)
    b.call(body, [data, lo, b.add(lo, chunk)])
    b.branch(loop)
    b.position_at_end(done)
    b.ret_void()
    return fn
