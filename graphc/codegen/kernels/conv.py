"""Loop nests for sliding-window ops: im2col (Conv), windowed and global reductions (pools).

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


def emit_im2col(k, src, dst, channels, geo, dtype):
    """Unfold one image ``src`` (channels, *geo.inp) into ``dst`` (channels * prod(kernel), prod(out)).

    Row ``(c, j_0, .., j_{r-1})``, column ``(o_0, .., o_{r-1})`` holds
    ``src[c, o_d * s_d - pb_d + j_d * dl_d ...]`` or 0 in the padding. One helper function per
    dtype and spatial rank serves every geometry (passed as arguments, never inlined), so
    compile time does not grow with the number of convolutions or their sizes.
    """
    ftype = ir.FunctionType(ir.VoidType(), [PTR, PTR] + [I64] * (1 + 6 * geo.rank))
    fn = k.helper(f"gc_im2col_{dtype}_{geo.rank}d", ftype, lambda f: _build_im2col(f, dtype, geo.rank))
    args = [const(channels)]
    for d in range(geo.rank):
        args += [const(v) for v in (geo.inp[d], geo.kernel[d], geo.strides[d], geo.dilations[d],
                                    geo.pads_begin[d], geo.out[d])]
    k.b.call(fn, [src, dst] + args)


def _build_im2col(fn, dtype, r):
    """The im2col body. The innermost loop runs over the last output axis in three pieces
    (leading zeros, copy, trailing zeros) whose bounds are computed per row, so the copy has no
    bounds checks (and unit stride when the last stride is 1, which LLVM vectorizes)."""
    fn.attributes.add("noinline")
    fn.attributes.add("nounwind")
    src, dst, channels = fn.args[:3]
    for p in (src, dst):
        p.add_attribute("noalias")
    inp, kernel, strides, dil, pads, out = (list(fn.args[3 + i::6]) for i in range(6))
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
    ostr, p = suffix_products(out)
    kstr, ksize = suffix_products(kernel)
    last = r - 1
    with loop_nest(b, [channels] + kernel + out[:last], name="col") as idx:
        c, js, os_ = idx[0], idx[1:1 + r], idx[1 + r:]
        row = dot(b, [c] + js, [ksize] + kstr)
        dst_base = b.add(b.mul(row, p), dot(b, os_, ostr[:last]))
        valid = None
        src_off = b.mul(c, img)
        for d in range(last):
            pos = b.add(b.sub(b.mul(os_[d], strides[d]), pads[d]), b.mul(js[d], dil[d]))
            ok = b.icmp_unsigned("<", pos, inp[d])
            valid = ok if valid is None else b.and_(valid, ok)
            src_off = b.add(src_off, b.mul(pos, istr[d]))
        off = b.sub(b.mul(js[last], dil[last]), pads[last])
        lo, hi = valid_range(b, off, strides[last], inp[last], out[last])
        if valid is not None:
            hi = b.select(valid, hi, lo)
            src_off = b.select(valid, src_off, const(0))
        src_row = b.add(src_off, off)
        with for_range(b, lo, name="z0") as o:
            b.store(zero, at(dst, b.add(dst_base, o)))
        with for_range(b, hi, start=lo, name="cp") as o:
            v = b.load(at(src, b.add(src_row, b.mul(o, strides[last]))), typ=ty)
            b.store(v, at(dst, b.add(dst_base, o)))
        with for_range(b, out[last], start=hi, name="z1") as o:
            b.store(zero, at(dst, b.add(dst_base, o)))
    b.ret_void()


def _interior(geo, d):
    """The output positions ``[a, b)`` along axis d whose whole window lies inside the input."""
    s, pb, o = geo.strides[d], geo.pads_begin[d], geo.out[d]
    a = min(o, -(-pb // s))
    room = geo.inp[d] + pb - geo.span(d)
    return a, (max(a, min(o, room // s + 1)) if room >= 0 else a)


def emit_window_reduce(k, geo, dtype, init, combine, finish, count=None):
    """``Y[nc, o...] = finish(s, fold(combine, init, X[nc, window(o)]), n)`` for every output.

    ``X`` (N, C, *geo.inp) and ``Y`` (N, C, *geo.out) are the kernel's first input and output.
    Only in-bounds window elements are folded. ``n`` (i64) counts them (``count="valid"``) or
    counts the window elements inside the padded input (``count="padded"``); it is None when
    ``count`` is None. Each output row is split into border pieces (window bounds computed per
    output) and an interior piece whose window loops have constant bounds, which LLVM unrolls.
    """
    b = k.b
    s = k.scalar(dtype)
    x_t = k.in_types[0]
    X, Y = k.inputs[0], k.outputs[0]
    r, last = geo.rank, geo.rank - 1
    istr, ostr = _strides(geo.inp), _strides(geo.out)
    acc = entry_alloca(k, dtype)
    interior = [_interior(geo, d) for d in range(r)]

    def fold(xrow, starts, ranges):
        b.store(s.c(init), acc)
        with contextlib.ExitStack() as stack:
            js = [stack.enter_context(for_range(b, hi, start=lo, name=f"w{d}")) for d, (lo, hi) in enumerate(ranges)]
            pos = [iadd(b, st, imul(b, j, dl)) for st, j, dl in zip(starts, js, geo.dilations)]
            v = k.load(xrow, dot(b, pos, istr), dtype)
            b.store(combine(s, b.load(acc, typ=s.ty), v), acc)
        return b.load(acc, typ=s.ty)

    def output(xrow, yrow, os_, border):
        starts = [b.sub(imul(b, o, st), const(pb)) for o, st, pb in zip(os_, geo.strides, geo.pads_begin)]
        if border:
            ranges = [valid_range(b, st, dl, n, kk)
                      for st, dl, n, kk in zip(starts, geo.dilations, geo.inp, geo.kernel)]
        else:
            ranges = [(const(0), const(kk)) for kk in geo.kernel]
        n = None
        if count is not None and not border:
            n = const(math.prod(geo.kernel))
        elif count is not None:
            for d, (st, (lo, hi)) in enumerate(zip(starts, ranges)):
                if count == "padded":  # window elements inside [-pb, I + pe)
                    pb = geo.pads_begin[d]
                    lo, hi = valid_range(b, b.add(st, const(pb)), geo.dilations[d],
                                         geo.inp[d] + pb + geo.pads_end[d], geo.kernel[d])
                n = imul(b, n if n is not None else const(1), b.sub(hi, lo))
        k.store(finish(s, fold(xrow, starts, ranges), n), yrow, dot(b, os_, ostr), dtype)

    rows = imul(b, k.dim(x_t, 0), k.dim(x_t, 1))
    with for_range(b, rows, name="nc") as nc:
        xrow = k.gep(X, imul(b, nc, math.prod(geo.inp)), dtype)
        yrow = k.gep(Y, imul(b, nc, math.prod(geo.out)), dtype)
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
                    output(xrow, yrow, list(outer) + [o], border)


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
