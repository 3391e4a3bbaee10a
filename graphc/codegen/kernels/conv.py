"""Loop nests for sliding-window ops: im2col and its adjoint col2im (Conv and its input
gradient), windowed and global reductions (pools) and the pools' scatter-add gradients.

Geometry is a static ``graphc.ops.conv.Window`` (spatial dims, kernel, strides, dilations,
pads, output sizes); only the batch (and channel count for row reductions) may be symbolic.
Valid index ranges are computed analytically, so inner loops carry no bounds checks.
"""
from __future__ import annotations

import contextlib
import math

from llvmlite import ir

from ..kernel import PTR
from ..loops import I64, as_value, ceil_div, const, dot, for_range, iadd, imax, imin, imul, loop_nest
from ..scalar import lltype


def _strides(shape):
    return [math.prod(shape[d + 1:]) for d in range(len(shape))]


def opaque(b, v):
    """``v`` (an i64), hidden from LLVM's constant propagation by an empty inline asm.

    Sizes passed to the shared GEMM go through this: otherwise LLVM specializes and fully
    unrolls it for every constant shape, and compile time grows with the model's sizes (1.3 s
    for one 28x28 convolution). Pool row bounds too: with constant short rows LLVM vectorizes
    across rows with gathers and scatters, ten times slower than the plain row loop.
    """
    return b.asm(ir.FunctionType(I64, [I64]), "", "=r,0", [v], side_effect=False, name="opaque")


def valid_range(b, off, step, extent, count):
    """``(lo, hi)`` with ``lo <= hi <= count``: the ``o`` in ``[0, count)`` for which
    ``0 <= o * step + off < extent`` (``step`` a positive int, ``off`` an i64 value or int)."""
    off = as_value(off)
    zero = const(0)
    lo = imin(b, ceil_div(b, imax(b, b.sub(zero, off), zero), step), as_value(count))
    hi = imin(b, ceil_div(b, imax(b, b.sub(as_value(extent), off), zero), step), as_value(count))
    return lo, imax(b, hi, lo)


def entry_alloca(k, dtype, name="acc"):
    """A stack slot in the kernel's entry block (promoted to a register by LLVM)."""
    with k.b.goto_entry_block():
        k.b.position_at_start(k.fn.entry_basic_block)
        return k.b.alloca(lltype(dtype), name=name)


def emit_fill_rows(k, dst, vals, rows, cols, dtype):
    """``dst[r * cols + c] = vals[r]`` for r < rows, c < cols."""
    b = k.b
    with for_range(b, rows, name="fr") as r:
        v = k.load(vals, r, dtype)
        base = imul(b, r, cols)
        with for_range(b, cols, name="fc") as c:
            k.store(v, dst, iadd(b, base, c), dtype)


# columns per batched GEMM (images side by side) and the cap on one column workspace, in elements
GEMM_COLUMNS = 512
MAX_COL_ELEMENTS = 1 << 21


def images_per_gemm(p, kdim, mg):
    """How many images' columns (``p`` output positions each) one GEMM multiplies side by side: enough
    for about GEMM_COLUMNS columns (a late layer with a 3x3 output otherwise gives GEMMs of 9
    columns, mostly padding), within MAX_COL_ELEMENTS of workspace. Static, so the sum order of
    a weight gradient never depends on the batch size split or the thread count."""
    nb = max(1, -(-GEMM_COLUMNS // p))
    return max(1, min(nb, MAX_COL_ELEMENTS // max(1, p * max(kdim, mg))))


@contextlib.contextmanager
def for_batch_chunks(k, n, nb):
    """Loop over chunks of at most ``nb`` images of a batch of ``n`` (i64); yields
    ``(first image, image count)``."""
    b = k.b
    with for_range(b, n, step=nb, name="nb") as n0:
        yield n0, imin(b, const(nb), b.sub(n, n0))


def emit_copy_rows(k, src, lds, dst, ldd, rows, cols, dtype, bias=None, finish=None):
    """``dst[r * ldd + c] = src[r * lds + c] (+ bias[r])`` for r < rows, c < cols; with ``finish``,
    ``dst[...] = finish(value, r, c)`` (a fused epilogue applied on the way out)."""
    b = k.b
    s = k.scalar(dtype)
    with for_range(b, rows, name="cr") as r:
        srow, drow = imul(b, r, lds), imul(b, r, ldd)
        add = k.load(bias, r, dtype) if bias is not None else None
        with for_range(b, cols, name="cc") as c:
            v = k.load(src, iadd(b, srow, c), dtype)
            v = s.add(v, add) if add is not None else v
            k.store(finish(v, r, c) if finish is not None else v, dst, iadd(b, drow, c), dtype)


def emit_transpose(k, src, dst, rows, cols, dtype, add=False):
    """``dst[c * rows + r] = src[r * cols + c]`` (``+=`` with ``add``) for r < rows, c < cols."""
    b = k.b
    with for_range(b, rows, name="tr") as r:
        base = imul(b, r, cols)
        with for_range(b, cols, name="tc") as c:
            v = k.load(src, iadd(b, base, c), dtype)
            o = iadd(b, imul(b, c, rows), r)
            if add:
                v = b.fadd(k.load(dst, o, dtype), v)
            k.store(v, dst, o, dtype)


def _unfold_call(k, kind, src, dst, channels, geo, dtype, transposed, ld=None):
    ftype = ir.FunctionType(ir.VoidType(), [PTR, PTR] + [I64] * (2 + 6 * geo.rank))
    name = f"gc_{kind}{'_t' if transposed else ''}_{dtype}_{geo.rank}d"
    fn = k.helper(name, ftype, lambda f: _build_unfold(f, dtype, geo.rank, kind == "col2im", transposed))
    args = [const(channels), as_value(math.prod(geo.out) if ld is None else ld)]
    for d in range(geo.rank):
        args += [const(v) for v in (geo.inp[d], geo.kernel[d], geo.strides[d], geo.dilations[d],
                                    geo.pads_begin[d], geo.out[d])]
    k.b.call(fn, [src, dst] + args)


def emit_im2col(k, src, dst, channels, geo, dtype, transposed=False, ld=None):
    """Unfold one image ``src`` (channels, *geo.inp) into ``dst`` (channels * prod(kernel), prod(out)).

    ``ld`` (an int or i64 value; default prod(out)) is the row stride of ``dst`` in the
    row-major layout, so several images can be unfolded side by side into one wide matrix.

    Row ``(c, j_0, .., j_{r-1})``, column ``(o_0, .., o_{r-1})`` holds
    ``src[c, o_d * s_d - pb_d + j_d * dl_d ...]`` or 0 in the padding. With ``transposed`` the
    layout is (prod(out), channels * prod(kernel)) instead (the column matrix a weight gradient
    multiplies with unit stride). One helper function per dtype, spatial rank and layout serves
    every geometry (passed as arguments, never inlined), so compile time does not grow with the
    number of convolutions or their sizes.
    """
    _unfold_call(k, "im2col", src, dst, channels, geo, dtype, transposed, ld)


def emit_col2im(k, src, dst, channels, geo, dtype, transposed=False, ld=None):
    """The adjoint of :func:`emit_im2col`: ``dst`` (channels, *geo.inp) = 0, then every column
    element ``src[row, col]`` (or ``src[col, row]`` with ``transposed``) that lies inside the
    image is added to the input position it was read from (the input gradient of a Conv)."""
    _unfold_call(k, "col2im", src, dst, channels, geo, dtype, transposed, ld)


def _build_unfold(fn, dtype, r, fold, transposed):
    """The im2col/col2im body. The innermost loop runs over the last output axis with bounds
    computed per row (leading zeros, copy, trailing zeros for im2col; only the in-bounds piece
    for col2im), so the copy has no bounds checks (and unit stride when the last stride is 1 in
    the row-major layout, which LLVM vectorizes)."""
    fn.attributes.add("noinline")
    fn.attributes.add("nounwind")
    src, dst, channels, ld = fn.args[:4]
    for p in (src, dst):
        p.add_attribute("noalias")
    img_ptr, col_ptr = (dst, src) if fold else (src, dst)
    inp, kernel, strides, dil, pads, out = (list(fn.args[4 + i::6]) for i in range(6))
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    ty = lltype(dtype)
    zero = ir.Constant(ty, 0.0)

    def at(ptr, idx):
        return b.gep(ptr, [idx], source_etype=ty, inbounds=True)

    def suffix_products(dims):
        acc, res = const(1), []
        for v in reversed(dims):
            res.append(acc)
            acc = b.mul(acc, v)
        return list(reversed(res)), acc

    istr, img = suffix_products(inp)
    ostr, _ = suffix_products(out)
    kstr, ksize = suffix_products(kernel)
    krows = b.mul(channels, ksize)
    last = r - 1
    if fold:
        with for_range(b, b.mul(channels, img), name="zi") as i:
            b.store(zero, at(img_ptr, i))
    with loop_nest(b, [channels] + kernel + out[:last], name="col") as idx:
        c, js, os_ = idx[0], idx[1:1 + r], idx[1 + r:]
        row = dot(b, [c] + js, [ksize] + kstr)
        if transposed:  # col[o, row]: consecutive o are krows apart
            col_base, col_step = b.add(row, b.mul(dot(b, os_, ostr[:last]), krows)), krows
        else:
            col_base, col_step = b.add(b.mul(row, ld), dot(b, os_, ostr[:last])), const(1)
        valid = None
        img_off = b.mul(c, img)
        for d in range(last):
            pos = b.add(b.sub(b.mul(os_[d], strides[d]), pads[d]), b.mul(js[d], dil[d]))
            ok = b.icmp_unsigned("<", pos, inp[d])
            valid = ok if valid is None else b.and_(valid, ok)
            img_off = b.add(img_off, b.mul(pos, istr[d]))
        off = b.sub(b.mul(js[last], dil[last]), pads[last])
        lo, hi = valid_range(b, off, strides[last], inp[last], out[last])
        if valid is not None:
            hi = b.select(valid, hi, lo)
            img_off = b.select(valid, img_off, const(0))
        img_row = b.add(img_off, off)

        def col_at(o):
            return at(col_ptr, b.add(col_base, b.mul(o, col_step) if transposed else o))

        if fold:
            with for_range(b, hi, start=lo, name="cp") as o:
                q = at(img_ptr, b.add(img_row, b.mul(o, strides[last])))
                b.store(b.fadd(b.load(q, typ=ty), b.load(col_at(o), typ=ty)), q)
        else:
            with for_range(b, lo, name="z0") as o:
                b.store(zero, col_at(o))
            with for_range(b, hi, start=lo, name="cp") as o:
                v = b.load(at(img_ptr, b.add(img_row, b.mul(o, strides[last]))), typ=ty)
                b.store(v, col_at(o))
            with for_range(b, out[last], start=hi, name="z1") as o:
                b.store(zero, col_at(o))
    b.ret_void()


def _interior(geo, d):
    """The output positions ``[a, b)`` along axis d whose whole window lies inside the input."""
    s, pb, o = geo.strides[d], geo.pads_begin[d], geo.out[d]
    a = min(o, -(-pb // s))
    room = geo.inp[d] + pb - geo.span(d)
    return a, (max(a, min(o, room // s + 1)) if room >= 0 else a)


def window_count(b, geo, starts, ranges, border, count):
    """The element count an average divides by (see :func:`emit_window_reduce`), an i64."""
    if not border:
        return const(math.prod(geo.kernel))
    n = const(1)
    for d, (st, (lo, hi)) in enumerate(zip(starts, ranges)):
        if count == "padded":  # window elements inside [-pb, I + pe)
            pb = geo.pads_begin[d]
            lo, hi = valid_range(b, b.add(st, const(pb)), geo.dilations[d],
                                 geo.inp[d] + pb + geo.pads_end[d], geo.kernel[d])
        n = imul(b, n, b.sub(hi, lo))
    return n


def emit_window_loop(k, geo, rows, start_row, end_row=None):
    """Visit every output position of ``rows`` (an i64) rows of (N*C) sliding windows.

    ``start_row(nc)`` runs once at the start of row ``nc`` and returns
    ``visit(os_, starts, ranges, border)``, called per output position ``os_`` (i64 per spatial
    axis) with the window's first input position per axis (``starts``, may be negative) and the
    in-bounds window offsets ``[lo, hi)`` per axis (``ranges``). Each output row is split into
    border pieces (window bounds computed per output, ``border`` True) and an interior piece
    whose window ranges are the constants ``[0, kernel)``, which LLVM unrolls. ``end_row(nc)``,
    when given, runs after the row's last output position.
    """
    b = k.b
    last = geo.rank - 1
    interior = [_interior(geo, d) for d in range(geo.rank)]

    def visit_output(visit, os_, border):
        starts = [b.sub(imul(b, o, st), const(pb)) for o, st, pb in zip(os_, geo.strides, geo.pads_begin)]
        if border:
            ranges = [valid_range(b, st, dl, n, kk)
                      for st, dl, n, kk in zip(starts, geo.dilations, geo.inp, geo.kernel)]
        else:
            ranges = [(const(0), const(kk)) for kk in geo.kernel]
        visit(os_, starts, ranges, border)

    with for_range(b, rows, name="nc") as nc:
        visit = start_row(nc)
        with loop_nest(b, list(geo.out[:last]), name="o") as outer:
            fa, fb = opaque(b, const(interior[last][0])), opaque(b, const(interior[last][1]))
            inside = None
            for d, o in enumerate(outer):
                a_d, b_d = interior[d]
                ok = b.and_(b.icmp_signed(">=", o, const(a_d)), b.icmp_signed("<", o, const(b_d)))
                inside = ok if inside is None else b.and_(inside, ok)
            if inside is not None:  # border rows: the whole row takes the border path
                out_last = const(geo.out[last])
                fa, fb = b.select(inside, fa, out_last), b.select(inside, fb, out_last)
            for lo, hi, border in ((const(0), fa, True), (fa, fb, False), (fb, const(geo.out[last]), True)):
                with for_range(b, hi, start=lo, name="ob" if border else "oi") as o:
                    visit_output(visit, list(outer) + [o], border)
        if end_row is not None:
            end_row(nc)


@contextlib.contextmanager
def window_positions(b, geo, starts, ranges):
    """Loops over the in-bounds elements of one window; yields each one's offset in its row."""
    istr = _strides(geo.inp)
    with contextlib.ExitStack() as stack:
        js = [stack.enter_context(for_range(b, hi, start=lo, name=f"w{d}")) for d, (lo, hi) in enumerate(ranges)]
        pos = [iadd(b, st, imul(b, j, dl)) for st, j, dl in zip(starts, js, geo.dilations)]
        yield dot(b, pos, istr)


def emit_window_reduce(k, geo, dtype, init, combine, finish, count=None):
    """``Y[nc, o...] = finish(s, fold(combine, init, X[nc, window(o)]), n)`` for every output.

    ``X`` (N, C, *geo.inp) and ``Y`` (N, C, *geo.out) are the kernel's first input and output.
    Only in-bounds window elements are folded. ``n`` (i64) counts them (``count="valid"``) or
    counts the window elements inside the padded input (``count="padded"``); it is None when
    ``count`` is None.
    """
    b = k.b
    s = k.scalar(dtype)
    x_t = k.in_types[0]
    X, Y = k.inputs[0], k.outputs[0]
    ostr = _strides(geo.out)
    acc = entry_alloca(k, dtype)

    def start_row(nc):
        xrow = k.gep(X, imul(b, nc, math.prod(geo.inp)), dtype)
        yrow = k.gep(Y, imul(b, nc, math.prod(geo.out)), dtype)

        def visit(os_, starts, ranges, border):
            b.store(s.c(init), acc)
            with window_positions(b, geo, starts, ranges) as off:
                b.store(combine(s, b.load(acc, typ=s.ty), k.load(xrow, off, dtype)), acc)
            n = None if count is None else window_count(b, geo, starts, ranges, border, count)
            k.store(finish(s, b.load(acc, typ=s.ty), n), yrow, dot(b, os_, ostr), dtype)
        return visit

    emit_window_loop(k, geo, imul(b, k.dim(x_t, 0), k.dim(x_t, 1)), start_row)


def emit_window_backward(k, geo, dtype, kind, X, dY, dX, rows, count=None, epilogue=None, channels=None):
    """The input gradient of a windowed pool, in one pass over the windows (scatter-add).

    Per row ``nc`` of ``rows``: ``dX[nc] = 0``; then for every output ``o``, with ``kind="max"``
    ``dX[nc, argmax] += dY[nc, o]`` where argmax is the first in-bounds window element equal to
    the window's maximum of ``X`` (NaNs never win; a window without a number gets no gradient), and
    with ``kind="avg"`` every in-bounds window element gets ``dY[nc, o] / n`` (``count`` as in
    :func:`emit_window_reduce`). A fused ``epilogue`` (e.g. the ReluGrad of the layer below) then
    runs over the finished row while it is in cache (``channels``: C, the row's channel is nc % C).
    """
    b = k.b
    s = k.scalar(dtype)
    img, p = math.prod(geo.inp), math.prod(geo.out)
    ostr = _strides(geo.out)
    best, rest = entry_alloca(k, dtype, "best"), entry_alloca(k, dtype, "rest")

    def start_row(nc):
        dxrow = k.gep(dX, imul(b, nc, img), dtype)
        dyrow = k.gep(dY, imul(b, nc, p), dtype)
        xrow = k.gep(X, imul(b, nc, img), dtype) if X is not None else None
        with for_range(b, const(img), name="zero") as i:
            k.store(s.c(0.0), dxrow, i, dtype)

        def visit(os_, starts, ranges, border):
            g = k.load(dyrow, dot(b, os_, ostr), dtype)
            if kind == "avg":
                n = window_count(b, geo, starts, ranges, border, count)
                g = s.div(g, b.sitofp(n, s.ty))
                with window_positions(b, geo, starts, ranges) as off:
                    k.store(s.add(k.load(dxrow, off, dtype), g), dxrow, off, dtype)
                return
            # branch-free: the window maximum, then dY goes to the first element equal to it
            b.store(s.c(-math.inf), best)
            with window_positions(b, geo, starts, ranges) as off:
                b.store(s.max(b.load(best, typ=s.ty), k.load(xrow, off, dtype)), best)
            m = b.load(best, typ=s.ty)
            b.store(g, rest)
            with window_positions(b, geo, starts, ranges) as off:
                hit = s.cmp("==", k.load(xrow, off, dtype), m)
                r = b.load(rest, typ=s.ty)
                k.store(s.add(k.load(dxrow, off, dtype), s.select(hit, r, 0.0)), dxrow, off, dtype)
                b.store(s.select(hit, 0.0, r), rest)
        return visit

    def end_row(nc):
        base = imul(b, nc, img)
        ch = b.urem(nc, const(channels)) if epilogue is not None else None
        with for_range(b, const(img), name="ep") as i:
            idx = b.add(base, i)
            k.store(epilogue.inline(k.load(dX, idx, dtype), idx, ch), dX, idx, dtype)

    emit_window_loop(k, geo, rows, start_row, end_row if epilogue is not None else None)


def emit_row_reduce(k, dtype, init, combine, finish):
    """``Y[nc] = finish(s, fold(combine, init, X[nc, :]), n)`` over rows of ``n = prod(X.shape[2:])``."""
    b = k.b
    s = k.scalar(dtype)
    x_t = k.in_types[0]
    X, Y = k.inputs[0], k.outputs[0]
    n = k.numel(x_t, 2)
    acc = entry_alloca(k, dtype)
    with for_range(b, k.numel(x_t, 0, 2), name="nc") as nc:
        base = imul(b, nc, n)
        b.store(s.c(init), acc)
        with for_range(b, n, name="p") as i:
            v = k.load(X, b.add(base, i), dtype)
            b.store(combine(s, b.load(acc, typ=s.ty), v), acc)
        k.store(finish(s, b.load(acc, typ=s.ty), n), Y, nc, dtype)
