"""Conv (1-D, 2-D, 3-D; grouped, dilated, auto_pad) and the sliding-window geometry pools share.

The kernel unfolds a chunk of images side by side (im2col into a workspace, ``images_per_gemm``
of them, so a late layer with a 3x3 output still gives the GEMM hundreds of columns) and
multiplies with the shared GEMM (codegen/kernels/gemm.py): ``Y_g[m, (i, p)] = sum_k W_g[m, k]
col[k, (i, p)]``, then copies each image's rows into Y adding the bias. A pointwise 1x1
convolution (stride 1, no pads) multiplies each input image directly, without im2col.

Training: Conv's gradient rule emits the graphc-domain ops ConvGradInput (``W_g^T dY_g`` into a
column workspace, then col2im) and ConvGradWeight (the same side-by-side im2col of X, then
``dW_g += dY_g col^T``), both through the same GEMM helper, and a ReduceSum for the bias.
Transposed operands are passed as strides: the GEMM's packing absorbs them.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..codegen.kernels.conv import (emit_copy_rows, emit_fill_rows, emit_im2col, emit_transpose, for_batch_chunks,
                                    images_per_gemm, opaque)
from ..codegen.kernels.conv_transpose import adjoint_workspace, emit_conv_adjoint
from ..codegen.kernels.gemm import gemm_ep_function, gemm_function
from ..codegen.loops import const, for_range, iadd, imul
from ..errors import ShapeError, UnsupportedOpError
from ..ir import TensorType
from .registry import OPAQUE, OUT_EWISE_FUSABLE, OpDef, register_op

AUTO_PADS = ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")


@dataclass(frozen=True)
class Window:
    """Static geometry of a sliding window over the spatial axes (axes 2.. of an NC... tensor).

    Output position ``o`` along axis ``d`` reads input positions
    ``o * strides[d] - pads_begin[d] + j * dilations[d]`` for ``j < kernel[d]``.
    """

    inp: tuple
    kernel: tuple
    strides: tuple
    dilations: tuple
    pads_begin: tuple
    pads_end: tuple
    out: tuple

    @property
    def rank(self):
        return len(self.inp)

    def span(self, d):
        """Extent of the dilated window along axis ``d``."""
        return (self.kernel[d] - 1) * self.dilations[d] + 1

    def positions(self, d):
        """Input positions read along axis ``d``: an int array of shape (out[d], kernel[d])."""
        o = np.arange(self.out[d])[:, None] * self.strides[d] - self.pads_begin[d]
        return o + np.arange(self.kernel[d])[None, :] * self.dilations[d]


def _ints(name, value, n, lo, where):
    v = tuple(int(a) for a in value)
    if len(v) != n or any(a < lo for a in v):
        raise ShapeError(f"{where}: attribute {name} expected {n} integers >= {lo}, received {list(value)}")
    return v


def window_geometry(op, x, kernel, ceil_mode=False):
    """The Window of ``op`` (attrs strides, dilations, pads, auto_pad) over input type ``x``.

    Spatial dims must be static. Output sizes follow the ONNX spec: explicit pads give
    ``floor((I + pb + pe - span) / s) + 1`` (``ceil`` with ``ceil_mode``, where the last window
    must start inside the input or the leading pad), VALID gives ``floor((I - span) / s) + 1``,
    SAME_* give ``ceil(I / s)`` with the total pad split evenly (the odd element goes last for
    SAME_UPPER, first for SAME_LOWER).
    """
    where = f"op {op.name!r} ({op.op_type})"
    if x.rank < 3:
        raise ShapeError(f"{where}: input expected rank >= 3 (N, C, spatial...), received {x}")
    r = x.rank - 2
    inp = x.shape[2:]
    if not all(isinstance(d, int) for d in inp):
        raise ShapeError(f"{where}: spatial dimensions must be static, received input {x}")
    a = op.attrs
    kernel = _ints("kernel_shape", kernel, r, 1, where)
    strides = _ints("strides", a["strides"] or [1] * r, r, 1, where)
    dilations = _ints("dilations", a.get("dilations") or [1] * r, r, 1, where)
    auto_pad = a.get("auto_pad") or "NOTSET"
    if auto_pad not in AUTO_PADS:
        raise UnsupportedOpError(f"{where}: auto_pad expected one of {list(AUTO_PADS)}, received {auto_pad!r}")
    span = [(k - 1) * dl + 1 for k, dl in zip(kernel, dilations)]
    if auto_pad == "NOTSET":
        pads = _ints("pads", a["pads"] or [0] * (2 * r), 2 * r, 0, where)
        pb, pe = pads[:r], pads[r:]
    else:
        pb = pe = (0,) * r
    out = []
    for d in range(r):
        if auto_pad.startswith("SAME"):
            out.append(-(-inp[d] // strides[d]))
            continue
        room = inp[d] + pb[d] + pe[d] - span[d]
        if room < 0:
            raise ShapeError(f"{where}: window of extent {span[d]} (kernel_shape {list(kernel)}, dilations "
                             f"{list(dilations)}) does not fit spatial axis {d} of size {inp[d]} with pads "
                             f"({pb[d]}, {pe[d]}); input {x}")
        o = (-(-room // strides[d]) if ceil_mode else room // strides[d]) + 1
        if ceil_mode and (o - 1) * strides[d] >= inp[d] + pb[d]:
            o -= 1  # the last window must start inside the input or the leading pad
        out.append(o)
    if auto_pad.startswith("SAME"):
        total = [max(0, (o - 1) * s + sp - i) for o, s, sp, i in zip(out, strides, span, inp)]
        lead = [t // 2 if auto_pad == "SAME_UPPER" else t - t // 2 for t in total]
        pb, pe = tuple(lead), tuple(t - p for t, p in zip(total, lead))
    return Window(tuple(inp), kernel, strides, dilations, tuple(pb), tuple(pe), tuple(out))


def _static(op, t, axes, what):
    for a in axes:
        if not isinstance(t.shape[a], int):
            raise ShapeError(f"op {op.name!r} ({op.op_type}): {what} axis {a} must be static, received {t}")


def conv_geometry(op, x, w):
    where = f"op {op.name!r} (Conv)"
    if w.rank != x.rank:
        raise ShapeError(f"{where}: W expected rank {x.rank} (M, C/group, kernel...) to match X {x}, received {w}")
    _static(op, w, range(w.rank), "W")
    _static(op, x, [1], "X channel")
    ks = op.attrs["kernel_shape"]
    if ks is not None and tuple(ks) != w.shape[2:]:
        raise ShapeError(f"{where}: kernel_shape {list(ks)} disagrees with W {w}")
    return window_geometry(op, x, w.shape[2:])


def conv_reference(x, w, b, geo: Window, group: int):
    """numpy Conv: a sum over kernel offsets of strided input slices times weight slices."""
    n, c = x.shape[:2]
    m = w.shape[0]
    cg, mg = c // group, m // group
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + list(zip(geo.pads_begin, geo.pads_end)))
    y = np.zeros((n, group, mg) + geo.out)
    for koff in itertools.product(*map(range, geo.kernel)):
        sl = tuple(slice(k * dl, k * dl + (o - 1) * s + 1, s)
                   for k, dl, o, s in zip(koff, geo.dilations, geo.out, geo.strides))
        patch = xp[(slice(None), slice(None)) + sl].reshape((n, group, cg) + geo.out)
        wk = w[(slice(None), slice(None)) + koff].astype(np.float64).reshape(group, mg, cg)
        y += np.einsum("gmc,ngc...->ngm...", wk, patch)
    y = y.reshape((n, m) + geo.out)
    if b is not None:
        y += b.reshape((1, m) + (1,) * geo.rank)
    return y.astype(x.dtype)


@register_op("Conv", pattern=OUT_EWISE_FUSABLE)
class Conv(OpDef):
    """Y = conv(X, W) + B over 1-3 spatial axes; X (N, C, ...), W (M, C/group, k...), B (M,)."""

    def infer(self, op, in_types, g):
        x, w = in_types[0], in_types[1]
        bias = in_types[2] if len(in_types) > 2 else None
        where = f"op {op.name!r} (Conv)"
        if x.dtype != w.dtype or (bias is not None and bias.dtype != x.dtype):
            raise ShapeError(f"{where}: X, W and B must share a dtype, received {x}, {w}, {bias}")
        geo = conv_geometry(op, x, w)
        group = op.attrs["group"]
        m, cg = w.shape[0], w.shape[1]
        if group < 1 or x.shape[1] != cg * group:
            raise ShapeError(f"{where}: X channels expected W.shape[1] * group = {cg} * {group} = {cg * group}, "
                             f"received X {x} and W {w}")
        if m % group:
            raise ShapeError(f"{where}: W.shape[0] (output channels) expected a multiple of group {group}, "
                             f"received W {w}")
        if bias is not None and bias.shape != (m,):
            raise ShapeError(f"{where}: B expected shape ({m},), received {bias}")
        return [TensorType(x.dtype, (x.shape[0], m) + geo.out)]

    channel_axis = 1

    def affine_output(self, b, op, ins, scale, shift):
        """conv(x, W, B) * s + t == conv(x, W * s[:, None...], B * s + t)."""
        x, w = ins[0], ins[1]
        bias = ins[2] if len(ins) > 2 else None
        if scale is not None:
            rank = b.type(w).rank
            w = b.op("Mul", [w, b.op("Reshape", [scale, b.const(np.array((-1,) + (1,) * (rank - 1), np.int64))])])
            bias = None if bias is None else b.op("Mul", [bias, scale])
        if shift is not None:
            bias = shift if bias is None else b.op("Add", [bias, shift])
        return [x, w] + ([bias] if bias is not None else []), dict(op.attrs)

    def reference(self, op, x, w, b=None):
        geo = conv_geometry(op, TensorType(x.dtype, x.shape), TensorType(w.dtype, w.shape))
        return conv_reference(x, w, b, geo, op.attrs["group"])

    @staticmethod
    def _pointwise(geo):
        return all(k == 1 and s == 1 and p == 0 and q == 0 for k, s, p, q in
                   zip(geo.kernel, geo.strides, geo.pads_begin, geo.pads_end))

    def workspace(self, op, in_types):
        x, w = in_types[0], in_types[1]
        geo = conv_geometry(op, x, w)
        if self._pointwise(geo):
            return []
        p, mg, kdim = math.prod(geo.out), w.shape[0] // op.attrs["group"], w.shape[1] * math.prod(geo.kernel)
        nb = images_per_gemm(p, kdim, mg)
        return [TensorType(x.dtype, (kdim * nb * p,)), TensorType(x.dtype, (mg * nb * p,))]

    epilogue_view = "channels"

    def epilogue_ok(self, op, in_types, out_type):
        """An elementwise epilogue runs on the output (N, M, positions): in the GEMM of a 1x1 conv,
        while copying the unfolded product out otherwise."""
        return True

    def emit(self, k, op, epilogue=None, n_in=None):
        b = k.b
        x_t, w_t, y_t = k.in_types[0], k.in_types[1], k.out_types[0]
        n_in = len(k.inputs) if n_in is None else n_in
        X, W, B = (k.slot_inputs()[:n_in] + [None])[:3]
        Y = k.outputs[0]
        dtype = y_t.dtype
        s = k.scalar(dtype)
        geo = conv_geometry(op, x_t, w_t)
        group = op.attrs["group"]
        m, cg = w_t.shape[0], w_t.shape[1]
        mg = m // group
        p = math.prod(geo.out)
        kdim = cg * math.prod(geo.kernel)
        img_in = cg * math.prod(geo.inp)  # one group's channels of one image
        gemm = gemm_function(k, dtype)
        P, MG, KD = (opaque(b, const(v)) for v in (p, mg, kdim))  # see opaque(): bounds compile time
        if self._pointwise(geo):  # Y_g = W_g X_g per image, no unfolding
            ep_args = list(epilogue.args()) if epilogue is not None else []
            with for_range(b, k.dim(x_t, 0), name="n") as n:
                with for_range(b, group, name="g") as gi:
                    ng = iadd(b, imul(b, n, group), gi)
                    yg = k.gep(Y, imul(b, ng, mg * p), dtype)
                    if B is not None:  # Y = bias, then GEMM accumulates (beta = 1)
                        emit_fill_rows(k, yg, k.gep(B, imul(b, gi, mg), dtype), MG, P, dtype)
                    args = [MG, P, KD, k.gep(W, imul(b, gi, mg * kdim), dtype), KD, const(1),
                            k.gep(X, imul(b, ng, img_in), dtype), P, const(1), yg, P, s.c(1.0),
                            s.c(0.0 if B is None else 1.0)]
                    if epilogue is None:
                        b.call(gemm, args)
                    else:  # tiles of image n, channels from g * mg: rows are channels
                        epilogue.set_base(imul(b, n, m * p))
                        b.call(gemm_ep_function(k, dtype), args + ep_args + [imul(b, gi, mg), const(0)])
            b.ret_void()
            return
        col, tmp = k.workspace[0], k.workspace[1]
        with for_batch_chunks(k, k.dim(x_t, 0), images_per_gemm(p, kdim, mg)) as (n0, cnt):
            cols = imul(b, cnt, P)  # the GEMM's columns: cnt images' outputs side by side
            with for_range(b, group, name="g") as gi:
                with for_range(b, cnt, name="i") as i:  # image i -> columns [i*P, (i+1)*P)
                    xg = k.gep(X, imul(b, iadd(b, imul(b, iadd(b, n0, i), group), gi), img_in), dtype)
                    emit_im2col(k, xg, k.gep(col, imul(b, i, P), dtype), cg, geo, dtype, ld=cols)
                b.call(gemm, [MG, cols, KD, k.gep(W, imul(b, gi, mg * kdim), dtype), KD, const(1), col, cols, const(1),
                              tmp, cols, s.c(1.0), s.c(0.0)])
                bias = k.gep(B, imul(b, gi, mg), dtype) if B is not None else None
                with for_range(b, cnt, name="o") as i:  # tmp[m, i*P + q] (+ bias[m]) -> Y[n0 + i, g, m, q]
                    ng = iadd(b, imul(b, iadd(b, n0, i), group), gi)
                    finish = None
                    if epilogue is not None:  # the fused elementwise chain, on the way out
                        def finish(v, r, q, ng=ng, gi=gi):
                            return epilogue.inline(v, iadd(b, imul(b, iadd(b, imul(b, ng, mg), r), p), q),
                                                   iadd(b, imul(b, gi, mg), r))
                    emit_copy_rows(k, k.gep(tmp, imul(b, i, P), dtype), cols, k.gep(Y, imul(b, ng, mg * p), dtype), P,
                                   MG, P, dtype, bias, finish)
        b.ret_void()

    def decompose(self, b, op, ins):
        """Compiled graphs run a 2-D group-1 convolution without padding as graphc.DirectConv (no im2col)."""
        from .conv_direct import direct_conv
        return direct_conv(b, op, ins)

    def grad(self, ctx, op, dys):
        """dX = ConvGradInput(dY, W, like=X), dW = ConvGradWeight(X, dY), dB = ReduceSum(dY) over N and space."""
        dy = dys[0]
        x, w = ctx.inputs[0], ctx.inputs[1]
        attrs = conv_grad_attrs(op, ctx.type(w))
        needs = list(ctx.needs) + [False] * (3 - len(ctx.needs))
        # dW first: runs before dX's padded copy of dY is made (the schedule follows emission order
        # where it may), so dY and X die sooner (the CNN train step's arena: 57 -> 51 MB)
        dw = ctx.emit("ConvGradWeight", [x, dy], domain=DOMAIN, **attrs) if needs[1] else None
        dx = ctx.emit("ConvGradInput", [dy, w, x], domain=DOMAIN, **attrs) if needs[0] else None
        db = None
        if needs[2]:
            rank = ctx.type(dy).rank
            db = ctx.emit("ReduceSum", [dy, ctx.ints([0] + list(range(2, rank)))], keepdims=0)
        return [dx, dw, db]


# --- backward kernels (graphc domain) -----------------------------------------------------------
DOMAIN = "graphc"
_CONV_ATTRS = {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None, "pads": None,
               "strides": None}


def conv_grad_attrs(op, w_t):
    """The forward Conv's attributes with ``kernel_shape`` made explicit (the weight gradient's shape)."""
    return {**{k: op.attrs.get(k, v) for k, v in _CONV_ATTRS.items()}, "kernel_shape": list(w_t.shape[2:])}


def _same_dims(a, b):
    return len(a) == len(b) and all(p == q for p, q in zip(a, b))


def _check_dy(op, dy, want):
    if dy.rank != len(want) or not _same_dims(dy.shape, want):
        raise ShapeError(f"op {op.name!r} ({op.op_type}): dY expected shape {tuple(want)} (the forward output), "
                         f"received {dy}")


def _check_group(op, c, m, group):
    if group < 1 or c % group or m % group:
        raise ShapeError(f"op {op.name!r} ({op.op_type}): input channels {c} and output channels {m} must be "
                         f"multiples of group {group}")


def conv_grad_input_reference(dy, w, x_shape, geo: Window, group: int):
    """numpy adjoint of :func:`conv_reference` w.r.t. X: scatter-add ``W^T dY`` per kernel offset."""
    n, c = x_shape[:2]
    m = w.shape[0]
    cg, mg = c // group, m // group
    padded = tuple(i + pb + pe for i, pb, pe in zip(geo.inp, geo.pads_begin, geo.pads_end))
    dxp = np.zeros((n, c) + padded)
    dyg = dy.astype(np.float64).reshape((n, group, mg) + geo.out)
    for koff in itertools.product(*map(range, geo.kernel)):
        sl = tuple(slice(k * dl, k * dl + (o - 1) * s + 1, s)
                   for k, dl, o, s in zip(koff, geo.dilations, geo.out, geo.strides))
        wk = w[(slice(None), slice(None)) + koff].astype(np.float64).reshape(group, mg, cg)
        dxp[(slice(None), slice(None)) + sl] += np.einsum("gmc,ngm...->ngc...", wk, dyg).reshape((n, c) + geo.out)
    crop = tuple(slice(pb, pb + i) for pb, i in zip(geo.pads_begin, geo.inp))
    return dxp[(slice(None), slice(None)) + crop].astype(dy.dtype)


def conv_grad_weight_reference(x, dy, geo: Window, group: int):
    """numpy weight gradient of :func:`conv_reference`: ``dY x^T`` per kernel offset, summed over N."""
    n, c = x.shape[:2]
    m = dy.shape[1]
    cg, mg = c // group, m // group
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + list(zip(geo.pads_begin, geo.pads_end)))
    dyg = dy.astype(np.float64).reshape(n, group, mg, -1)
    dw = np.zeros((group, mg, cg) + geo.kernel)
    for koff in itertools.product(*map(range, geo.kernel)):
        sl = tuple(slice(k * dl, k * dl + (o - 1) * s + 1, s)
                   for k, dl, o, s in zip(koff, geo.dilations, geo.out, geo.strides))
        patch = xp[(slice(None), slice(None)) + sl].reshape(n, group, cg, -1)
        dw[(slice(None),) * 3 + koff] = np.einsum("ngmp,ngcp->gmc", dyg, patch)
    return dw.reshape((m, cg) + geo.kernel).astype(x.dtype)


@register_op("ConvGradInput", pattern=OPAQUE, domain=DOMAIN, schema=False)
class ConvGradInput(OpDef):
    """ConvGradInput(dY, W, like) -> dX of like's type (the adjoint of Conv w.r.t. X).

    ``like`` is the forward X; only its type is used (static spatial dims, symbolic batch).
    Attributes are the forward Conv's, with kernel_shape explicit. The kernel is the
    convolution adjoint ConvTranspose shares (codegen/kernels/conv_transpose.py): ``W_g^T dY_g``
    into a column workspace with the shared GEMM, folded back with col2im.
    """
    num_inputs = (3, 3)
    attr_defaults = dict(_CONV_ATTRS)

    def _geo(self, op, dy, w, like):
        if w.rank != like.rank:
            raise ShapeError(f"op {op.name!r} (ConvGradInput): W {w} and X {like} expected the same rank")
        return window_geometry(op, like, w.shape[2:])

    def infer(self, op, in_types, g):
        dy, w, like = in_types
        if len({dy.dtype, w.dtype, like.dtype}) != 1:
            raise ShapeError(f"op {op.name!r} (ConvGradInput): dY, W and X must share a dtype, received {dy}, {w}, "
                             f"{like}")
        _static(op, w, range(w.rank), "W")
        _static(op, like, [1], "X channel")
        geo = self._geo(op, dy, w, like)
        _check_group(op, like.shape[1], w.shape[0], op.attrs["group"])
        if like.shape[1] != w.shape[1] * op.attrs["group"]:
            raise ShapeError(f"op {op.name!r} (ConvGradInput): X channels expected W.shape[1] * group, received X "
                             f"{like} and W {w}")
        _check_dy(op, dy, (like.shape[0], w.shape[0]) + geo.out)
        return [like]

    def reference(self, op, dy, w, like):
        geo = window_geometry(op, TensorType(like.dtype, like.shape), w.shape[2:])
        return conv_grad_input_reference(dy, w, like.shape, geo, op.attrs["group"])

    def decompose(self, b, op, ins):
        """Compiled training graphs run a unit-stride 2-D input gradient as graphc.DirectConv."""
        from .conv_direct import direct_grad_input
        return direct_grad_input(b, op, ins)

    def workspace(self, op, in_types):
        dy, w, like = in_types
        return adjoint_workspace(self._geo(op, dy, w, like), w.shape, dy.dtype, op.attrs["group"])

    def emit(self, k, op):
        dy_t, w_t, x_t = k.in_types
        dY, W, _ = k.inputs
        geo = self._geo(op, dy_t, w_t, x_t)
        emit_conv_adjoint(k, dY, W, None, k.outputs[0], k.dim(x_t, 0), w_t.shape, geo, op.attrs["group"], x_t.dtype)


@register_op("ConvGradWeight", pattern=OPAQUE, domain=DOMAIN, schema=False)
class ConvGradWeight(OpDef):
    """ConvGradWeight(X, dY) -> dW of shape (M, C/group, *kernel_shape) (kernel_shape required).

    Per chunk of images (``images_per_gemm``) and group, with the shared GEMM: the images' column
    matrices (im2col) and dY rows are laid side by side, so one GEMM of depth ``images * P``
    accumulates ``dW_g += dY_g col^T`` (col read transposed through its strides); when the
    weight rows are shorter than the group's filter count (few input channels, as in a first
    layer) it accumulates ``dW_g^T += col dY_g^T`` instead, so the tile's wide side runs over the
    filters, and transposes once at the end. Chunks are static, so the sum order is too.
    """
    num_inputs = (2, 2)
    attr_defaults = dict(_CONV_ATTRS)

    def _geo(self, op, x):
        if op.attrs["kernel_shape"] is None:
            raise ShapeError(f"op {op.name!r} (ConvGradWeight): attribute kernel_shape is required")
        return window_geometry(op, x, op.attrs["kernel_shape"])

    @staticmethod
    def _dims(op, x, dy, geo):
        """(mg, cg, kdim, p, transposed)."""
        group = op.attrs["group"]
        mg, cg = dy.shape[1] // group, x.shape[1] // group
        kdim = cg * math.prod(geo.kernel)
        return mg, cg, kdim, math.prod(geo.out), kdim < mg

    def infer(self, op, in_types, g):
        x, dy = in_types
        if x.dtype != dy.dtype:
            raise ShapeError(f"op {op.name!r} (ConvGradWeight): X and dY must share a dtype, received {x}, {dy}")
        _static(op, x, [1], "X channel")
        _static(op, dy, [1], "dY channel")
        geo = self._geo(op, x)
        group = op.attrs["group"]
        _check_group(op, x.shape[1], dy.shape[1], group)
        _check_dy(op, dy, (x.shape[0], dy.shape[1]) + geo.out)
        return [TensorType(x.dtype, (dy.shape[1], x.shape[1] // group) + geo.kernel)]

    def reference(self, op, x, dy):
        geo = self._geo(op, TensorType(x.dtype, x.shape))
        return conv_grad_weight_reference(x, dy, geo, op.attrs["group"])

    def decompose(self, b, op, ins):
        """Compiled training graphs run a 2-D weight gradient without padding as graphc.DirectConvGradWeight."""
        from .conv_grad_direct import direct_grad_weight
        return direct_grad_weight(b, op, ins)

    def workspace(self, op, in_types):
        x, dy = in_types
        geo = self._geo(op, x)
        mg, cg, kdim, p, trans = self._dims(op, x, dy, geo)
        nb = images_per_gemm(p, kdim, mg)
        ws = [TensorType(x.dtype, (kdim * nb * p,)), TensorType(x.dtype, (mg * nb * p,))]
        if trans:  # the accumulated dW^T of every group
            ws.append(TensorType(x.dtype, (dy.shape[1] * kdim,)))
        return ws

    def emit(self, k, op):
        b = k.b
        x_t, dy_t = k.in_types
        X, dY = k.inputs
        dW = k.outputs[0]
        dtype = x_t.dtype
        s = k.scalar(dtype)
        geo = self._geo(op, x_t)
        group = op.attrs["group"]
        mg, cg, kdim, p, trans = self._dims(op, x_t, dy_t, geo)
        img_in = cg * math.prod(geo.inp)
        gemm = gemm_function(k, dtype)
        P, MG, KD = (opaque(b, const(v)) for v in (p, mg, kdim))
        col, dyb = k.workspace[0], k.workspace[1]
        acc = k.workspace[2] if trans else dW
        with for_range(b, const(dy_t.shape[1] * kdim), name="z") as i:
            k.store(s.c(0.0), acc, i, dtype)
        with for_batch_chunks(k, k.dim(x_t, 0), images_per_gemm(p, kdim, mg)) as (n0, cnt):
            cols = imul(b, cnt, P)  # the GEMM's depth: cnt images' output positions side by side
            with for_range(b, group, name="g") as gi:
                with for_range(b, cnt, name="i") as i:  # col[:, i*P + q] and dyb[:, i*P + q] for image n0 + i
                    ng = iadd(b, imul(b, iadd(b, n0, i), group), gi)
                    emit_im2col(k, k.gep(X, imul(b, ng, img_in), dtype), k.gep(col, imul(b, i, P), dtype), cg, geo,
                                dtype, ld=cols)
                    emit_copy_rows(k, k.gep(dY, imul(b, ng, mg * p), dtype), P, k.gep(dyb, imul(b, i, P), dtype), cols,
                                   MG, P, dtype)
                accg = k.gep(acc, imul(b, gi, mg * kdim), dtype)
                if trans:  # dW_g^T[kd, m] += sum_c col[kd, c] dyb[m, c]  (dyb read transposed)
                    b.call(gemm, [KD, MG, cols, col, cols, const(1), dyb, const(1), cols, accg, MG, s.c(1.0), s.c(1.0)])
                else:  # dW_g[m, kd] += sum_c dyb[m, c] col[kd, c]  (col read transposed)
                    b.call(gemm, [MG, KD, cols, dyb, cols, const(1), col, const(1), cols, accg, KD, s.c(1.0), s.c(1.0)])
        if trans:
            with for_range(b, group, name="g") as gi:
                emit_transpose(k, k.gep(acc, imul(b, gi, mg * kdim), dtype), k.gep(dW, imul(b, gi, mg * kdim), dtype),
                               KD, MG, dtype)
        b.ret_void()
