"""The recurrent products of the RNN/LSTM time loops: R packed once per call, C += A R_packed per step.

A time loop multiplies the state by the same recurrent weights at every step (forward
``h R^T``, backward ``da R``). The shared GEMM would re-pack R (and the state) at every step, and
for one or two batch rows it takes an unpacked path that keeps C in memory (a load and a store of
C per multiply-add). Here R is packed once per call into column panels of ``NP`` columns
(128 bytes; ``P[p][k][c] = R(k, p*NP + c)``, zero past the last column) by ``gc_rnn_pack_<dtype>``,
and ``gc_rnn_rec_<dtype>`` multiplies any number of state rows by it with the accumulators of an
``MR x NP`` tile held in vector registers over the whole depth: the state is read in place (one
broadcast per row and depth step), each depth step of a panel is ``NP / W`` aligned vector loads.

Every element is ``c = C; c = fma(A[i, k], R(k, j), c)`` for k = 0, 1, ..., K-1: the same sum in
the same order whatever the row blocking, the edge handling or the thread split (whole panels
or whole row blocks per thread), so 1 and 2 threads give identical results.
"""
from __future__ import annotations

from llvmlite import ir

from ..kernel import PTR
from ..loops import I32, I64, ceil_div, const, for_range, imin, phi_loop
from ..scalar import lltype
from .. import threads
from .gemm import vector_bits

PANEL_BYTES = 128
DEPTH_UNROLL = 4  # depth steps per transposing pack block


def panel_lanes(dtype: str) -> int:
    """Columns per packed panel (NP)."""
    return PANEL_BYTES // (4 if dtype == "float32" else 8)


def packed_size(K: int, N: int) -> int:
    """Elements a packed K x N operand may take (for either float dtype: float32's wider panels)."""
    np_ = panel_lanes("float32")
    return -(-N // np_) * np_ * K


def padded(n: int) -> int:
    """n rounded up to whole panels (of either float dtype): the length of a bias read by whole panels."""
    np_ = panel_lanes("float32")
    return -(-n // np_) * np_


def _internal(module, name, ftype, build):
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, ftype, name)
        fn.linkage = "internal"
        fn.attributes.add("nounwind")
        fn.attributes.add("noinline")
        build(fn)
    return fn


def pack_function(module, dtype: str):
    """``pack(src, rs, cs, K, N, dst)``: ``dst[p][k][c] = src[k*rs + (p*NP + c)*cs]`` (0 past N).

    A full panel with ``cs == 1`` copies one NP-vector per depth step; with ``rs == 1`` (the
    transposed form, R^T of ``h R^T``) it reads DEPTH_UNROLL depth steps of each column as one
    vector and transposes the block in registers, so no loop is left for LLVM to turn into
    gathers or scatters. Partial panels and the depth remainder are scalar."""
    ty = lltype(dtype)
    ftype = ir.FunctionType(ir.VoidType(), [PTR, I64, I64, I64, I64, PTR])
    return _internal(module, f"gc_rnn_pack_{dtype}", ftype, lambda fn: _build_pack(fn, ty, panel_lanes(dtype)))


def _transpose(b, rows, n, u):
    """``rows`` (n vectors of u lanes) -> u vectors of n lanes: out[k][c] = rows[c][k]."""
    vecs = list(rows)
    while len(vecs) > 1:  # concatenate end to end
        m = vecs[0].type.count
        mask = ir.Constant(ir.VectorType(I32, 2 * m), list(range(2 * m)))
        vecs = [b.shuffle_vector(vecs[i], vecs[i + 1], mask) for i in range(0, len(vecs), 2)]
    big = vecs[0]
    undef = ir.Constant(big.type, ir.Undefined)
    return [b.shuffle_vector(big, undef, ir.Constant(ir.VectorType(I32, n), [c * u + k for c in range(n)]))
            for k in range(u)]


def _build_pack(fn, ty, NP):
    src, rs, cs, K, N, dst = fn.args
    for p in (src, dst):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    size = 4 if isinstance(ty, ir.FloatType) else 8
    U = DEPTH_UNROLL
    pvt, uvt = ir.VectorType(ty, NP), ir.VectorType(ty, U)

    def at(ptr, idx):
        return b.gep(ptr, [idx], source_etype=ty, inbounds=True)

    with for_range(b, ceil_div(b, N, NP), name="p") as p:
        c0 = b.mul(p, const(NP))
        dp = at(dst, b.mul(c0, K))  # panel p starts at p*NP*K
        sp = at(src, b.mul(c0, cs))
        full = b.icmp_signed("<=", b.add(c0, const(NP)), N)
        with b.if_else(b.and_(full, b.icmp_signed("==", cs, const(1)))) as (rowwise, other):
            with rowwise:
                with for_range(b, K, name="kv") as k:
                    b.store(b.load(at(sp, b.mul(k, rs)), typ=pvt, align=size), at(dp, b.mul(k, const(NP))), align=size)
            with other:
                kfull = b.select(b.and_(full, b.icmp_signed("==", rs, const(1))), b.mul(b.sdiv(K, const(U)), const(U)),
                                 const(0))
                with for_range(b, kfull, step=U, name="ku") as k0:
                    rows = [b.load(at(sp, b.add(k0, b.mul(const(c), cs))), typ=uvt, align=size) for c in range(NP)]
                    for k, v in enumerate(_transpose(b, rows, NP, U)):
                        b.store(v, at(dp, b.mul(b.add(k0, const(k)), const(NP))), align=size)
                nv = imin(b, const(NP), b.sub(N, c0))
                with for_range(b, K, start=kfull, name="ks") as k:
                    with for_range(b, const(NP), name="cs") as c:
                        ok = b.icmp_signed("<", c, nv)
                        idx = b.add(b.mul(k, rs), b.mul(b.select(ok, c, const(0)), cs))
                        x = b.select(ok, b.load(at(sp, idx), typ=ty), ir.Constant(ty, 0.0))
                        b.store(x, at(dp, b.add(b.mul(k, const(NP)), c)))
    b.ret_void()


# the second operand of gc_rnn_recx (see rec_function), passed through the GEMM signature's epilogue pointer
XARGS = ir.LiteralStructType([PTR, I64, I64, PTR, PTR])  # X, row stride of X, I, X's packed panels, bias


def rec_function(module, dtype: str, with_x=False, bits: int | None = None):
    """``rec(M, N, K, A, rsa, csa, P, rsb, csb, C, ldc, alpha, beta, xargs, _, row0, col0)``: ``C += A P``
    with A[i, k] at ``A[i*rsa + k*csa]`` and P packed by :func:`pack_function` (``csb`` must be K:
    the offset of column j, a multiple of NP, is j*K; ``rsb``, ``alpha``, ``beta`` are ignored).

    ``with_x`` (``gc_rnn_recx``): ``C = bias + X Pw + A P`` instead, C write-only, where ``xargs``
    points at an :data:`XARGS` struct (X with row stride ``ldx`` and I columns, Pw packed like P
    with depth I, bias padded with zeros to whole panels); ``row0``/``col0`` are the global
    position of this call's C (0 from the caller; the thread split shifts them per chunk).
    Per element: ``c = bias; c = fma(X[i, k], W(k, j), c)`` over k < I, then the same over A and P.

    The signature is the GEMM's (with epilogue) so :func:`threads.emit_parallel_split` splits it
    into whole tiles."""
    name = f"gc_rnn_rec{'x' if with_x else ''}_{dtype}"
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    ty = lltype(dtype)
    bits = vector_bits() if bits is None else bits
    size = 4 if dtype == "float32" else 8
    w = max(bits // (8 * size), 2)
    NP = panel_lanes(dtype)
    nv = NP // w
    mr = max(1, min(8, (24 if bits >= 512 else 12) // nv))  # accumulators: at most 24 of 32 zmm / 12 of 16 ymm
    ftype = ir.FunctionType(ir.VoidType(), [I64, I64, I64, PTR, I64, I64, PTR, I64, I64, PTR, I64, ty, ty,
                                            PTR, PTR, I64, I64])
    serial = _internal(module, f"{name}_serial", ftype, lambda fn: _build_rec(fn, ty, w, NP, mr, with_x))
    # optsize: no unrolled copies of the five tile loop nests (compile time 0.35 -> 0.15 s each, the
    # same speed: the loops are bound by their FMAs and loads, not by the loop branch)
    serial.attributes.add("optsize")
    fn = ir.Function(module, ftype, name)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    threads.emit_parallel_split(b, serial, list(fn.args), mr, NP, threads.PARALLEL_MACS)
    b.call(serial, list(fn.args))
    b.ret_void()
    return fn


def _build_rec(fn, ty, w, NP, mr, with_x):
    M, N, K, A, rsa, csa, P, _rsb, _csb, C, ldc, _alpha, _beta, xargs, _data, row0, col0 = fn.args
    for p in (A, P, C):
        p.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    size = 4 if isinstance(ty, ir.FloatType) else 8
    vt = ir.VectorType(ty, w)
    nv = NP // w
    fname = f"llvm.fma.v{w}{'f32' if size == 4 else 'f64'}"
    fma = b.module.globals.get(fname) or ir.Function(b.module, ir.FunctionType(vt, [vt] * 3), fname)
    with b.goto_entry_block():
        tile = b.alloca(ir.ArrayType(ty, mr * NP), name="tile")
        tile.align = 64
        tile.type = PTR
    if with_x:
        X, ldx, I, PW, bias = (b.load(b.gep(xargs, [const(0, I32), const(i, I32)], source_etype=XARGS), typ=t)
                               for i, t in enumerate(XARGS.elements))
        X = b.gep(X, [b.mul(row0, ldx)], source_etype=ty, inbounds=True)  # this chunk's rows and columns
        PW = b.gep(PW, [b.mul(col0, I)], source_etype=ty, inbounds=True)
        bias = b.gep(bias, [col0], source_etype=ty, inbounds=True)

    def at(ptr, idx):
        return b.gep(ptr, [idx], source_etype=ty, inbounds=True)

    def splat(x):
        v = b.insert_element(ir.Constant(vt, ir.Undefined), x, const(0, I32))
        return b.shuffle_vector(v, ir.Constant(vt, ir.Undefined), ir.Constant(ir.VectorType(I32, w), [0] * w))

    def depth_loop(init, ap, cs, panels, cols, depth):
        """The accumulators after ``acc = fma(a[r][k], panel(k), acc)`` for k < depth (held in registers)."""
        n = len(cols)

        def step(k, flat):
            koff = b.mul(k, const(NP))
            bv = [b.load(at(panels[q], b.add(koff, const(v * w))), typ=vt, align=size) for q, v in cols]
            kcol = b.mul(k, cs)
            out = []
            for r, a_row in enumerate(ap):
                a = splat(b.load(at(a_row, kcol), typ=ty))
                out += [b.call(fma, [a, y, flat[r * n + j]]) for j, y in enumerate(bv)]
            return out
        flat = phi_loop(b, depth, 1, [x for row in init for x in row], step, "k")
        return [flat[r * n:(r + 1) * n] for r in range(len(ap))]

    def block(i0, rows, c0, npan, direct):
        """C[i0:i0+rows, c0:c0+npan*NP] += A P: C's own memory when ``direct``, else (one partial panel)
        the tile buffer. Accumulators: rows x npan x NP/W vectors, held over the whole depth."""
        if direct:
            cp = [at(C, b.add(b.mul(b.add(i0, const(r)), ldc), c0)) for r in range(rows)]
        else:
            cp = [at(tile, const(r * NP)) for r in range(rows)]
        cols = [(q, v) for q in range(npan) for v in range(nv)]
        if with_x:
            accs = [[b.load(at(bias, b.add(c0, const(q * NP + v * w))), typ=vt, align=size) for q, v in cols]
                    for _ in range(rows)]
            accs = depth_loop(accs, [at(X, b.mul(b.add(i0, const(r)), ldx)) for r in range(rows)], const(1),
                              [at(PW, b.mul(b.add(c0, const(q * NP)), I)) for q in range(npan)], cols, I)
        else:
            accs = [[b.load(at(cp[r], const(q * NP + v * w)), typ=vt, align=size) for q, v in cols] for r in range(rows)]
        accs = depth_loop(accs, [at(A, b.mul(b.add(i0, const(r)), rsa)) for r in range(rows)], csa,
                          [at(P, b.mul(b.add(c0, const(q * NP)), K)) for q in range(npan)], cols, K)
        for r in range(rows):
            for (q, v), x in zip(cols, accs[r]):
                b.store(x, at(cp[r], const(q * NP + v * w)), align=size)

    def copy_tile(i0, rows, c0, ncols, into):
        for r in range(rows):
            crow = at(C, b.add(b.mul(b.add(i0, const(r)), ldc), c0))
            with for_range(b, const(NP), name="tc") as c:
                tp = at(tile, b.add(const(r * NP), c))
                ok = b.icmp_signed("<", c, ncols)
                if into:
                    x = b.select(ok, b.load(at(crow, b.select(ok, c, const(0))), typ=ty), ir.Constant(ty, 0.0))
                    b.store(x, tp)
                else:
                    with b.if_then(ok):
                        b.store(b.load(tp, typ=ty), at(crow, c))

    mfull = b.mul(b.sdiv(M, const(mr)), const(mr))
    nfull = b.sdiv(N, const(NP))  # full panels
    # row tiles of mr rows, one panel at a time (the panel stays in L1 across the rows)
    with for_range(b, nfull, name="p") as p:
        with for_range(b, mfull, step=mr, name="i") as i0:
            block(i0, mr, b.mul(p, const(NP)), 1, True)
    # the remaining rows one at a time, mr panels side by side (independent accumulators: a single
    # row's product is otherwise bound by the FMA latency)
    qfull = b.mul(b.sdiv(nfull, const(mr)), const(mr))
    with for_range(b, M, start=mfull, name="ir") as i:
        with for_range(b, qfull, step=mr, name="q") as q:
            block(i, 1, b.mul(q, const(NP)), mr, True)
        with for_range(b, nfull, start=qfull, name="qr") as q:
            block(i, 1, b.mul(q, const(NP)), 1, True)
    # the last, partial panel through the tile buffer
    c0 = b.mul(nfull, const(NP))
    ncols = b.sub(N, c0)
    with b.if_then(b.icmp_signed(">", ncols, const(0))):
        for start, stop, rows in ((const(0), mfull, mr), (mfull, M, 1)):
            with for_range(b, stop, start=start, step=rows, name="ie") as i0:
                copy_tile(i0, rows, c0, ncols, into=True)
                block(i0, rows, c0, 1, False)
                copy_tile(i0, rows, c0, ncols, into=False)
    b.ret_void()
