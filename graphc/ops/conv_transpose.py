"""ConvTranspose (1-D, 2-D, 3-D; strides, pads, auto_pad, dilations, group, output_padding,
output_shape, bias): the adjoint of a Conv, i.e. Conv's input gradient with a bias.

X (N, C, *in), W (C, M/group, *k), B (M,) -> Y (N, M, *out). Output position
``i * strides - pads_begin + j * dilations`` receives ``X[i] * W[j]``. Sizes (ONNX opset 18):

- explicit pads (auto_pad NOTSET, no output_shape):
  ``out = strides * (in - 1) + output_padding + (k - 1) * dilations + 1 - pads_begin - pads_end``;
- ``output_shape`` given, or auto_pad SAME_* (``out = in * strides``): the total padding
  ``strides * (in - 1) + output_padding + span - out`` is split with the odd element at the end
  for SAME_UPPER and at the start otherwise (onnxruntime's rule, the spec's equations);
- auto_pad VALID: no pads.

The kernel is the shared convolution adjoint (codegen/kernels/conv_transpose.py): per image and
group ``col = W_g^T X_g`` by GEMM, col2im into Y, then the bias. The gradient reuses the Conv
family: dX is a Conv of dY with W (same strides, dilations, group; pads that make its output X's
size, with dY cropped where a pad would be negative), dW is graphc.ConvGradWeight with dY in the
role of the convolution's input and X in that of its output gradient, dB a ReduceSum.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..codegen.kernels.conv_transpose import adjoint_workspace, emit_conv_adjoint
from ..errors import ShapeError, UnsupportedOpError
from ..ir import TensorType
from .conv import AUTO_PADS, DOMAIN, Window, _ints, _static
from .registry import OPAQUE, OpDef, register_op


def _where(op):
    return f"op {op.name!r} (ConvTranspose)"


def transpose_geometry(op, x, w):
    """The Window of the convolution whose adjoint ``op`` is: ``inp`` is Y's spatial size, ``out`` X's.

    ``pads_end`` is the effective end pad of that convolution (the ONNX end pad minus
    output_padding), so ``floor((out_Y + pb + pe - span) / s) + 1 == in_X``; either pad may be
    negative (a SAME layout or output_shape smaller than the natural size crops, larger pads).
    """
    where = _where(op)
    if x.rank < 3 or w.rank != x.rank:
        raise ShapeError(f"{where}: X expected rank >= 3 (N, C, spatial...) and W the same rank (C, M/group, "
                         f"kernel...), received X {x} and W {w}")
    _static(op, w, range(w.rank), "W")
    _static(op, x, range(1, x.rank), "X channel/spatial")
    r = x.rank - 2
    a = op.attrs
    inp = x.shape[2:]
    kernel = tuple(w.shape[2:])
    if a.get("kernel_shape") is not None and tuple(a["kernel_shape"]) != kernel:
        raise ShapeError(f"{where}: kernel_shape {list(a['kernel_shape'])} disagrees with W {w}")
    strides = _ints("strides", a.get("strides") or [1] * r, r, 1, where)
    dil = _ints("dilations", a.get("dilations") or [1] * r, r, 1, where)
    opad = _ints("output_padding", a.get("output_padding") or [0] * r, r, 0, where)
    auto_pad = a.get("auto_pad") or "NOTSET"
    if auto_pad not in AUTO_PADS:
        raise UnsupportedOpError(f"{where}: auto_pad expected one of {list(AUTO_PADS)}, received {auto_pad!r}")
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dil)]
    natural = [s * (i - 1) + o + sp for s, i, o, sp in zip(strides, inp, opad, span)]
    out_shape = a.get("output_shape")
    if out_shape is not None:
        out_shape = list(out_shape)[-r:]
        out = _ints("output_shape", out_shape, r, 1, where)
    elif auto_pad.startswith("SAME"):
        out = tuple(i * s for i, s in zip(inp, strides))
    else:
        out = None
    if out is not None and auto_pad != "VALID":
        total = [n - o for n, o in zip(natural, out)]
        pb = tuple(t // 2 if auto_pad == "SAME_UPPER" else t - t // 2 for t in total)
        pe = tuple(t - p for t, p in zip(total, pb))
    elif auto_pad == "VALID":
        pb = pe = (0,) * r
        out = out or tuple(natural)
        if out != tuple(natural):
            raise ShapeError(f"{where}: auto_pad VALID gives output size {list(natural)}, output_shape asks "
                             f"{list(out)}")
    else:
        pads = _ints("pads", a.get("pads") or [0] * (2 * r), 2 * r, 0, where)
        pb, pe = pads[:r], pads[r:]
        out = tuple(n - p - q for n, p, q in zip(natural, pb, pe))
    if any(o < 1 for o in out):
        raise ShapeError(f"{where}: output spatial size {list(out)} is not positive (input {x}, kernel "
                         f"{list(kernel)}, strides {list(strides)}, pads {list(pb) + list(pe)})")
    return Window(tuple(out), kernel, strides, dil, tuple(pb), tuple(p - o for p, o in zip(pe, opad)), tuple(inp))


def conv_transpose_reference(x, w, b, geo: Window, group: int):
    """numpy ConvTranspose: scatter ``W_g^T X_g`` per kernel offset into a buffer that covers
    every reached position and the requested output, then crop (pads may be negative)."""
    n, c = x.shape[:2]
    mg = w.shape[1]
    cg = c // group
    lo = [max(0, -p) for p in geo.pads_begin]  # room before position 0 of the uncropped output
    size = [l_ + max((i - 1) * s + sp, p + o) for l_, i, s, sp, p, o in
            zip(lo, geo.out, geo.strides, [geo.span(d) for d in range(geo.rank)], geo.pads_begin, geo.inp)]
    full = np.zeros((n, group, mg) + tuple(size))
    xg = x.astype(np.float64).reshape((n, group, cg) + geo.out)
    for koff in itertools.product(*map(range, geo.kernel)):
        sl = tuple(slice(l_ + j * dl, l_ + j * dl + (i - 1) * s + 1, s)
                   for l_, j, dl, i, s in zip(lo, koff, geo.dilations, geo.out, geo.strides))
        wk = w[(slice(None), slice(None)) + koff].astype(np.float64).reshape(group, cg, mg)
        full[(slice(None),) * 3 + sl] += np.einsum("gcm,ngc...->ngm...", wk, xg)
    crop = tuple(slice(l_ + p, l_ + p + o) for l_, p, o in zip(lo, geo.pads_begin, geo.inp))
    y = full[(slice(None),) * 3 + crop].reshape((n, group * mg) + geo.inp)
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * geo.rank)
    return y.astype(x.dtype)


@register_op("ConvTranspose", pattern=OPAQUE)
class ConvTranspose(OpDef):
    """Y = conv_transpose(X, W) + B; X (N, C, ...), W (C, M/group, k...), B (M,)."""

    def infer(self, op, in_types, g):
        x, w = in_types[0], in_types[1]
        bias = in_types[2] if len(in_types) > 2 else None
        where = _where(op)
        if x.dtype != w.dtype or (bias is not None and bias.dtype != x.dtype):
            raise ShapeError(f"{where}: X, W and B must share a dtype, received {x}, {w}, {bias}")
        geo = transpose_geometry(op, x, w)
        group = op.attrs["group"]
        if group < 1 or x.shape[1] != w.shape[0] or w.shape[0] % group:
            raise ShapeError(f"{where}: X channels expected W.shape[0] = {w.shape[0]}, a multiple of group "
                             f"{group}; received X {x} and W {w}")
        m = w.shape[1] * group
        if bias is not None and tuple(bias.shape) != (m,):
            raise ShapeError(f"{where}: B expected shape ({m},) (W.shape[1] * group), received {bias}")
        return [TensorType(x.dtype, (x.shape[0], m) + geo.inp)]

    def reference(self, op, x, w, b=None):
        geo = transpose_geometry(op, TensorType(x.dtype, x.shape), TensorType(w.dtype, w.shape))
        return conv_transpose_reference(x, w, b, geo, op.attrs["group"])

    def workspace(self, op, in_types):
        x, w = in_types[0], in_types[1]
        return adjoint_workspace(transpose_geometry(op, x, w), w.shape, x.dtype, op.attrs["group"])

    def emit(self, k, op):
        x_t, w_t = k.in_types[0], k.in_types[1]
        X, W, B = (k.slot_inputs() + [None])[:3]
        geo = transpose_geometry(op, x_t, w_t)
        emit_conv_adjoint(k, X, W, B, k.outputs[0], k.dim(x_t, 0), w_t.shape, geo, op.attrs["group"], x_t.dtype)

    def grad(self, ctx, op, dys):
        """dX = Conv(dY', W), dW = ConvGradWeight(dY', X), dB = ReduceSum(dY); dY' is dY cropped where
        the adjoint convolution's pads are negative, so both run with pads >= 0."""
        dy = dys[0]
        x, w = ctx.inputs[0], ctx.inputs[1]
        geo = transpose_geometry(op, ctx.type(x), ctx.type(w))
        needs = list(ctx.needs) + [False] * (3 - len(ctx.needs))
        r = geo.rank
        attrs = dict(strides=list(geo.strides), dilations=list(geo.dilations), group=op.attrs["group"],
                     kernel_shape=list(geo.kernel),
                     pads=[max(0, p) for p in geo.pads_begin] + [max(0, p) for p in geo.pads_end])
        dyc = dy
        if needs[0] or needs[1]:
            starts = [max(0, -p) for p in geo.pads_begin]
            ends = [i - max(0, -p) for i, p in zip(geo.inp, geo.pads_end)]
            if any(starts) or any(e != i for e, i in zip(ends, geo.inp)):
                dyc = ctx.emit("Slice", [dy, ctx.ints(starts), ctx.ints(ends), ctx.ints(list(range(2, 2 + r)))])
        dx = ctx.emit("Conv", [dyc, w], **attrs) if needs[0] else None
        dw = ctx.emit("ConvGradWeight", [dyc, x], domain=DOMAIN, auto_pad="NOTSET", **attrs) if needs[1] else None
        db = ctx.emit("ReduceSum", [dy, ctx.ints([0] + list(range(2, 2 + r)))], keepdims=0) if needs[2] else None
        return [dx, dw, db]
