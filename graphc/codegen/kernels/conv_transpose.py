"""The adjoint of a convolution (GEMM into columns, then col2im): the kernel of ONNX
ConvTranspose and of Conv's input gradient (graphc.ConvGradInput), which compute the same thing.

With ``geo`` the *forward convolution's* window (``geo.inp`` the spatial size of the wide tensor
``dst``, ``geo.out`` that of the narrow tensor ``src``) and ``w`` laid out (C_src, C_dst / group,
*kernel), per image and group: ``col = W_g^T src_g`` (``(C_dst/g * prod(kernel), prod(out))``, or
its transpose when the weight rows are longer than the image, so the GEMM's inner loop is the
longer one), then ``dst_g = col2im(col)``, then ``dst_g[c] += bias[c]`` when a bias is given. A
pointwise window (1x1 kernel, stride 1, no pads) multiplies straight into ``dst``.
"""
from __future__ import annotations

import math

from ..loops import const, for_range, iadd, imul
from .conv import emit_col2im, opaque
from .gemm import gemm_function


def pointwise(geo):
    """A 1x1 window with stride 1 and no pads that maps the image onto itself: no columns needed."""
    return geo.inp == geo.out and all(k == 1 and s == 1 and p == 0 and q == 0 for k, s, p, q in
                                      zip(geo.kernel, geo.strides, geo.pads_begin, geo.pads_end))


def transposed_columns(geo, kdim):
    """Column layout for the GEMM: the longer of (kdim, P) runs contiguously."""
    return kdim > math.prod(geo.out)


def adjoint_workspace(geo, w_shape, dtype):
    """The column workspace :func:`emit_conv_adjoint` needs (none for a pointwise window)."""
    from ...ir import TensorType
    if pointwise(geo):
        return []
    return [TensorType(dtype, (w_shape[1] * math.prod(geo.kernel) * math.prod(geo.out),))]


def emit_conv_adjoint(k, src, w, bias, dst, batch, w_shape, geo, group, dtype):
    """``dst`` (N, C_dst, *geo.inp) = conv-adjoint of ``src`` (N, C_src, *geo.out) with ``w``
    (C_src, C_dst / group, *geo.kernel), plus ``bias`` (C_dst,) if not None. ``batch`` is the i64
    image count; the column workspace is ``k.workspace[0]`` (see :func:`adjoint_workspace`)."""
    b = k.b
    s = k.scalar(dtype)
    m, cg = w_shape[0], w_shape[1]
    mg, p = m // group, math.prod(geo.out)
    kdim = cg * math.prod(geo.kernel)
    img = cg * math.prod(geo.inp)
    gemm = gemm_function(k, dtype)
    direct = pointwise(geo)
    trans = not direct and transposed_columns(geo, kdim)
    P, MG, KD = (opaque(b, const(v)) for v in (p, mg, kdim))  # see opaque(): bounds compile time
    with for_range(b, batch, name="n") as n:
        with for_range(b, group, name="g") as gi:
            ng = iadd(b, imul(b, n, group), gi)
            srcg = k.gep(src, imul(b, ng, mg * p), dtype)
            wg = k.gep(w, imul(b, gi, mg * kdim), dtype)
            dstg = k.gep(dst, imul(b, ng, img), dtype)
            if trans:  # colT[p, kd] = sum_m src_g[m, p] W_g[m, kd]
                col = k.workspace[0]
                b.call(gemm, [P, KD, MG, srcg, const(1), P, wg, KD, const(1), col, KD, s.c(1.0), s.c(0.0)])
            else:  # col[kd, p] = sum_m W_g[m, kd] src_g[m, p]
                col = dstg if direct else k.workspace[0]
                b.call(gemm, [KD, P, MG, wg, const(1), KD, srcg, P, const(1), col, P, s.c(1.0), s.c(0.0)])
            if not direct:
                emit_col2im(k, col, dstg, cg, geo, dtype, transposed=trans)
            if bias is not None:
                _add_bias(k, dstg, k.gep(bias, imul(b, gi, cg), dtype), cg, math.prod(geo.inp), dtype)
    b.ret_void()


def _add_bias(k, dst, vals, rows, cols, dtype):
    """``dst[r * cols + c] += vals[r]`` for r < rows, c < cols."""
    b = k.b
    s = k.scalar(dtype)
    with for_range(b, const(rows), name="br") as r:
        v = k.load(vals, r, dtype)
        base = imul(b, r, cols)
        with for_range(b, const(cols), name="bc") as c:
            i = iadd(b, base, c)
            k.store(s.add(k.load(dst, i, dtype), v), dst, i, dtype)
