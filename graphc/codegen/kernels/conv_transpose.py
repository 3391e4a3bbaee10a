"""The adjoint of a convolution (GEMM into columns, then col2im): the kernel of ONNX
ConvTranspose and of Conv's input gradient (graphc.ConvGradInput), which compute the same thing.

With ``geo`` the *forward convolution's* window (``geo.inp`` the spatial size of the wide tensor
``dst``, ``geo.out`` that of the narrow tensor ``src``) and ``w`` laid out (C_src, C_dst / group,
*kernel), per chunk of images (``images_per_gemm``, as the forward Conv) and group: the images'
``src_g`` rows are copied side by side into a workspace, ``col = W_g^T src`` (``(C_dst/g *
prod(kernel), images * prod(out))``: one GEMM whose columns span the chunk, so a late layer's
small images still give it hundreds of columns), then each image's columns fold back with col2im
(rows read contiguously), then ``dst_g[c] += bias[c]`` when a bias is given. A pointwise window
(1x1 kernel, stride 1, no pads) multiplies straight into ``dst``, image by image. Each column
element is one GEMM sum over C_src/g whatever the chunk, so results do not depend on the batch
size.
"""
from __future__ import annotations

import math

from ..loops import const, for_range, iadd, imul
from .conv import emit_col2im, emit_copy_rows, for_batch_chunks, images_per_gemm, opaque
from .gemm import gemm_function


def pointwise(geo):
    """A 1x1 window with stride 1 and no pads that maps the image onto itself: no columns needed."""
    return geo.inp == geo.out and all(k == 1 and s == 1 and p == 0 and q == 0 for k, s, p, q in
                                      zip(geo.kernel, geo.strides, geo.pads_begin, geo.pads_end))


def _dims(geo, w_shape, group):
    """(mg, cg, kdim, p, images per GEMM)."""
    mg, cg = w_shape[0] // group, w_shape[1]
    kdim, p = cg * math.prod(geo.kernel), math.prod(geo.out)
    return mg, cg, kdim, p, images_per_gemm(p, kdim, mg)


def adjoint_workspace(geo, w_shape, dtype, group=1):
    """The workspaces :func:`emit_conv_adjoint` needs (none for a pointwise window): the column
    matrix and the chunk's ``src`` rows side by side."""
    from ...ir import TensorType
    if pointwise(geo):
        return []
    mg, _, kdim, p, nb = _dims(geo, w_shape, group)
    return [TensorType(dtype, (kdim * nb * p,)), TensorType(dtype, (mg * nb * p,))]


def emit_conv_adjoint(k, src, w, bias, dst, batch, w_shape, geo, group, dtype):
    """``dst`` (N, C_dst, *geo.inp) = conv-adjoint of ``src`` (N, C_src, *geo.out) with ``w``
    (C_src, C_dst / group, *geo.kernel), plus ``bias`` (C_dst,) if not None. ``batch`` is the i64
    image count; the workspaces are ``k.workspace[:2]`` (see :func:`adjoint_workspace`)."""
    b = k.b
    s = k.scalar(dtype)
    mg, cg, kdim, p, nb = _dims(geo, w_shape, group)
    img = cg * math.prod(geo.inp)
    gemm = gemm_function(k, dtype)
    P, MG, KD = (opaque(b, const(v)) for v in (p, mg, kdim))  # see opaque(): bounds compile time

    def add_bias(ng, gi):
        if bias is not None:
            _add_bias(k, k.gep(dst, imul(b, ng, img), dtype), k.gep(bias, imul(b, gi, cg), dtype), cg,
                      math.prod(geo.inp), dtype)

    if pointwise(geo):  # dst_g[c, q] = sum_m W_g[m, c] src_g[m, q], straight into dst
        with for_range(b, batch, name="n") as n:
            with for_range(b, group, name="g") as gi:
                ng = iadd(b, imul(b, n, group), gi)
                b.call(gemm, [KD, P, MG, k.gep(w, imul(b, gi, mg * kdim), dtype), const(1), KD,
                              k.gep(src, imul(b, ng, mg * p), dtype), P, const(1), k.gep(dst, imul(b, ng, img), dtype),
                              P, s.c(1.0), s.c(0.0)])
                add_bias(ng, gi)
        b.ret_void()
        return
    col, srcb = k.workspace[0], k.workspace[1]
    with for_batch_chunks(k, batch, nb) as (n0, cnt):
        cols = imul(b, cnt, P)  # the GEMM's columns: cnt images' positions side by side
        with for_range(b, group, name="g") as gi:
            with for_range(b, cnt, name="i") as i:  # srcb[m, i*P + q] = src[n0 + i, g, m, q]
                ng = iadd(b, imul(b, iadd(b, n0, i), group), gi)
                emit_copy_rows(k, k.gep(src, imul(b, ng, mg * p), dtype), P, k.gep(srcb, imul(b, i, P), dtype), cols,
                               MG, P, dtype)
            # col[kd, c] = sum_m W_g[m, kd] srcb[m, c]
            b.call(gemm, [KD, cols, MG, k.gep(w, imul(b, gi, mg * kdim), dtype), const(1), KD, srcb, cols, const(1),
                          col, cols, s.c(1.0), s.c(0.0)])
            with for_range(b, cnt, name="f") as i:
                ng = iadd(b, imul(b, iadd(b, n0, i), group), gi)
                emit_col2im(k, k.gep(col, imul(b, i, P), dtype), k.gep(dst, imul(b, ng, img), dtype), cg, geo, dtype,
                            ld=cols)
                add_bias(ng, gi)
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
