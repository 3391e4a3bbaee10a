"""Conv (1-D, 2-D, 3-D; grouped, dilated, auto_pad) and the sliding-window geometry pools share.

The kernel is im2col per image and group into a workspace, then the shared GEMM helper
(codegen/kernels/gemm.py): ``Y_g[m, p] = sum_k W_g[m, k] * col[k, p]``. A pointwise 1x1
convolution (stride 1, no pads) multiplies the input image directly, without im2col.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..codegen.kernels.conv import emit_fill_rows, emit_im2col, opaque
from ..codegen.kernels.gemm import gemm_function
from ..codegen.loops import const, for_range, iadd, imul
from ..errors import ShapeError, UnsupportedOpError
from ..ir import TensorType
from .registry import OUT_EWISE_FUSABLE, OpDef, register_op

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
        return [TensorType(x.dtype, (w.shape[1] * math.prod(geo.kernel) * math.prod(geo.out),))]

    def emit(self, k, op):
        b = k.b
        x_t, w_t, y_t = k.in_types[0], k.in_types[1], k.out_types[0]
        X, W, B = (k.slot_inputs() + [None])[:3]
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
        pointwise = self._pointwise(geo)
        P, MG, KD = (opaque(b, const(v)) for v in (p, mg, kdim))  # see opaque(): bounds compile time
        with for_range(b, k.dim(x_t, 0), name="n") as n:
            with for_range(b, group, name="g") as gi:
                ng = iadd(b, imul(b, n, group), gi)
                xg = k.gep(X, imul(b, ng, img_in), dtype)
                yg = k.gep(Y, imul(b, ng, mg * p), dtype)
                wg = k.gep(W, imul(b, gi, mg * kdim), dtype)
                if B is not None:  # Y = bias, then GEMM accumulates (beta = 1)
                    emit_fill_rows(k, yg, k.gep(B, imul(b, gi, mg), dtype), MG, P, dtype)
                col = xg if pointwise else k.workspace[0]
                if not pointwise:
                    emit_im2col(k, xg, col, cg, geo, dtype)
                b.call(gemm, [MG, const(p), KD, wg, KD, const(1), col, const(p), const(1), yg, const(p),
                              s.c(1.0), s.c(0.0 if B is None else 1.0)])
        b.ret_void()
