"""Resize (opset 18; Upsample and older Resize forms arrive here through onnx's version converter).

Modes ``nearest`` (every ``nearest_mode``) and ``linear`` (N-linear over the resized axes), with
the coordinate transformations half_pixel, half_pixel_symmetric, pytorch_half_pixel,
align_corners and asymmetric; the target comes from const ``scales`` or ``sizes`` (sizes may be
symbolic shape values, ``graphc.ops.symbolic``), optionally on ``axes``. Resized axes must be
static; an axis that keeps its size and scale 1 is copied. Not supported (an error names the
attribute): mode cubic, tf_crop_and_resize (roi), antialias, keep_aspect_ratio_policy other than
stretch.

The gradient (for fine-tuning imported models) is graphc.ResizeGrad: the same taps, each output
gradient added back to its input positions (shapes, scales and sizes get none). The kernel computes each output coordinate in double precision at run time, reading the scales
from their const buffer (kernels never bake const data: the kernel cache is keyed by types), then
interpolates between the clamped neighbours in double, as onnx.reference does.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from llvmlite import ir

from ..codegen.kernels.elementwise import strides
from ..codegen.loops import I64, const, dot, for_range, imax, imin, loop_nest
from ..codegen.scalar import lltype
from ..errors import ShapeError, UnsupportedOpError
from ..ir import TensorType
from .registry import INJECTIVE, OPAQUE, OpDef, register_op
from .registry import get as registry_get
from .shape import DataMovement, axes_list, const_input, where
from .symbolic import shape_input

F64 = ir.DoubleType()
COORD_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


@register_op("Resize", pattern=INJECTIVE)
class Resize(DataMovement):
    dtypes = ("float32", "float64", "int64")  # int64: the sizes input; X is checked by infer

    def legacy_attrs(self, attrs, model_opset):
        """Upsample (opset 7-9) and Resize (opset 10) map asymmetrically (x / scale) and take the floor
        for nearest; onnx's version converter keeps only ``mode``, so the opset-18 defaults (half_pixel,
        round_prefer_floor) would change the numbers."""
        if model_opset < 11:
            attrs = {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor", **attrs}
        return attrs

    def check(self, op):
        a = op.attrs
        bad = []
        if a["mode"] not in ("nearest", "linear"):
            bad.append(("mode", a["mode"], "nearest or linear"))
        if a["coordinate_transformation_mode"] not in COORD_MODES:
            bad.append(("coordinate_transformation_mode", a["coordinate_transformation_mode"], ", ".join(COORD_MODES)))
        if a["mode"] == "nearest" and a["nearest_mode"] not in NEAREST_MODES:
            bad.append(("nearest_mode", a["nearest_mode"], ", ".join(NEAREST_MODES)))
        if a["antialias"]:
            bad.append(("antialias", a["antialias"], "0"))
        if a["keep_aspect_ratio_policy"] != "stretch":
            bad.append(("keep_aspect_ratio_policy", a["keep_aspect_ratio_policy"], "stretch"))
        if bad:
            raise UnsupportedOpError("; ".join(f"{where(op)}: attribute {n!r} = {v!r} is not supported (graphc "
                                               f"supports {ok})" for n, v, ok in bad))

    def plan(self, op, shape, scales, sizes):
        """(output shape, per-axis scale or None when the axis is copied)."""
        self.check(op)
        rank = len(shape)
        axes = list(range(rank)) if op.attrs["axes"] is None else axes_list(op, op.attrs["axes"], rank)
        if (scales is None) == (sizes is None):
            raise ShapeError(f"{where(op)}: exactly one of scales and sizes must be given")
        target = scales if scales is not None else sizes
        if len(target) != len(axes):
            raise ShapeError(f"{where(op)}: {'scales' if scales is not None else 'sizes'} {list(target)} must have "
                             f"one entry per resized axis {axes}")
        out, scale = list(shape), [None] * rank
        for a, v in zip(axes, target):
            d = shape[a]
            if scales is not None:
                s = float(np.float32(v))
                if s <= 0:
                    raise ShapeError(f"{where(op)}: scale {s} on axis {a} must be positive")
                if s == 1.0:
                    continue
                if isinstance(d, str):
                    raise ShapeError(f"{where(op)}: axis {a} of input {tuple(shape)} is symbolic ({d!r}); graphc "
                                     f"resizes static axes only (scale {s})")
                out[a], scale[a] = int(math.floor(d * s)), s
            else:
                if v == d:
                    continue
                if isinstance(d, str) or isinstance(v, str) or v is None:
                    raise ShapeError(f"{where(op)}: cannot resize axis {a} of input {tuple(shape)} to {v!r}: graphc "
                                     f"resizes static axes to static sizes only")
                if v < 0:
                    raise ShapeError(f"{where(op)}: size {v} on axis {a} is negative")
                out[a], scale[a] = int(v), int(v) / d if d else 0.0
        return out, scale

    def _targets(self, op, in_types, g):
        scales = const_input(op, in_types, g, 2)
        scales = None if scales is None or scales.size == 0 else [float(v) for v in scales.reshape(-1)]
        sizes = None if len(in_types) < 4 or in_types[3] is None else shape_input(op, in_types, g, 3, "sizes")
        return scales, sizes

    def infer(self, op, in_types, g):
        x = in_types[0]
        if x.dtype not in ("float32", "float64"):
            raise UnsupportedOpError(f"{where(op)}: graphc resizes float32/float64 tensors, received {x}")
        out, _ = self.plan(op, x.shape, *self._targets(op, in_types, g))
        return [TensorType(x.dtype, tuple(out))]

    # --- semantics (numpy, float64 coordinates as onnx.reference) -------------------------
    def coord(self, op, o, out_len, in_len, s):
        mode = op.attrs["coordinate_transformation_mode"]
        o = np.asarray(o, dtype=np.float64)
        if mode == "asymmetric":
            return o / s
        if mode == "align_corners":
            return np.zeros_like(o) if out_len == 1 else o * (in_len - 1) / (out_len - 1)
        if mode == "pytorch_half_pixel":
            return (o + 0.5) / s - 0.5 if out_len > 1 else np.zeros_like(o)
        if mode == "half_pixel_symmetric":
            adj = out_len / (s * in_len)
            return in_len / 2 * (1 - adj) + (o + 0.5) / s - 0.5
        return (o + 0.5) / s - 0.5

    def taps(self, op, out_len, in_len, s):
        """[(index array, weight array)] per neighbour of every output position along one axis."""
        x = self.coord(op, np.arange(out_len), out_len, in_len, s)
        if op.attrs["mode"] == "nearest":
            nm = op.attrs["nearest_mode"]
            i = {"round_prefer_floor": np.ceil(x - 0.5), "round_prefer_ceil": np.floor(x + 0.5),
                 "floor": np.floor(x), "ceil": np.ceil(x)}[nm]
            return [(np.clip(i, 0, in_len - 1).astype(np.int64), np.ones(out_len))]
        f = np.floor(x)
        w = x - f
        return [(np.clip(f, 0, in_len - 1).astype(np.int64), 1 - w), (np.clip(f + 1, 0, in_len - 1).astype(np.int64), w)]

    def reference(self, op, x, roi=None, scales=None, sizes=None):
        scales = None if scales is None or np.asarray(scales).size == 0 else [float(v) for v in np.asarray(scales)]
        sizes = None if sizes is None else [int(v) for v in np.asarray(sizes)]
        out, scale = self.plan(op, x.shape, scales, sizes)
        y = x.astype(np.float64)
        for a, s in enumerate(scale):
            if s is None:
                continue
            y = sum(np.take(y, idx, axis=a) * w.reshape([-1] + [1] * (x.ndim - a - 1))
                    for idx, w in self.taps(op, out[a], x.shape[a], s))
        return y.astype(x.dtype)

    # --- kernel ---------------------------------------------------------------------------
    def emit(self, k, op):
        present = [i for i, p in enumerate(k.present) if p]
        s_t = k.in_types[present.index(2)] if 2 in present else None
        scales = (k.inputs[present.index(2)], s_t) if s_t is not None and s_t.shape[0] != 0 else None
        emit_resize(self, k, op, k.in_types[0], k.out_types[0], scales, k.inputs[0], k.outputs[0], backward=False)

    def _emit_taps(self, k, op, o, out_len, in_len, s):
        """[(clamped index, weight or None)] for output position ``o`` along one axis."""
        b = k.b
        mode = op.attrs["coordinate_transformation_mode"]
        of = b.sitofp(o, F64)
        half = ir.Constant(F64, 0.5)
        if mode == "asymmetric":
            x = b.fdiv(of, s)
        elif mode == "align_corners":
            x = ir.Constant(F64, 0.0) if out_len == 1 else b.fmul(of, ir.Constant(F64, (in_len - 1) / (out_len - 1)))
        elif mode == "pytorch_half_pixel" and out_len <= 1:
            x = ir.Constant(F64, 0.0)
        else:
            x = b.fsub(b.fdiv(b.fadd(of, half), s), half)
            if mode == "half_pixel_symmetric":
                adj = b.fdiv(ir.Constant(F64, float(out_len)), b.fmul(s, ir.Constant(F64, float(in_len))))
                x = b.fadd(x, b.fmul(ir.Constant(F64, in_len / 2), b.fsub(ir.Constant(F64, 1.0), adj)))
        hi = const(in_len - 1)

        def clamp(i):
            return imax(b, const(0), imin(b, i, hi))

        def floor(v):  # fptosi truncates toward zero: step down for negative non-integers
            t = b.fptosi(v, I64)
            return b.select(b.fcmp_ordered(">", b.sitofp(t, F64), v), b.sub(t, const(1)), t)

        def ceil(v):
            t = b.fptosi(v, I64)
            return b.select(b.fcmp_ordered("<", b.sitofp(t, F64), v), b.add(t, const(1)), t)

        if op.attrs["mode"] == "nearest":
            nm = op.attrs["nearest_mode"]
            i = {"round_prefer_floor": lambda: ceil(b.fsub(x, half)), "round_prefer_ceil": lambda: floor(b.fadd(x, half)),
                 "floor": lambda: floor(x), "ceil": lambda: ceil(x)}[nm]()
            return [(clamp(i), None)]
        f = floor(x)
        w = b.fsub(x, b.sitofp(f, F64))
        return [(clamp(f), b.fsub(ir.Constant(F64, 1.0), w)), (clamp(b.add(f, const(1))), w)]


def emit_resize(resize, k, op, x_t, y_t, scales, X, Y, backward):
    """Resize's loop over the output grid; ``backward``: X is dX (zeroed here) and Y is dY, each dY
    element added to its taps with their weights (the adjoint of the same linear map)."""
    b = k.b
    rank = x_t.rank
    axes = list(range(rank)) if op.attrs["axes"] is None else [a % rank for a in op.attrs["axes"]]
    # with scales, every static axis they name is resampled with its run-time scale (a scale
    # may change coordinates without changing the size); symbolic axes have scale 1 (infer)
    resized = ([a for a in axes if not isinstance(x_t.shape[a], str)] if scales is not None
               else [a for a in range(rank) if x_t.shape[a] != y_t.shape[a]])
    xs = strides(k, x_t, rank, [False] * rank)
    ys = strides(k, y_t, rank, [False] * rank)
    scale = {}
    for a in resized:  # the scale of each resized axis: from the const buffer, or out/in
        if scales is not None:
            v = k.load(scales[0], const(axes.index(a)), scales[1].dtype)
            scale[a] = b.fpext(v, F64) if scales[1].dtype == "float32" else v
        else:
            scale[a] = b.fdiv(b.sitofp(const(y_t.shape[a]), F64), b.sitofp(const(x_t.shape[a]), F64))
    if backward:
        with for_range(b, k.numel(x_t), name="z") as i:
            k.store(ir.Constant(lltype(x_t.dtype), 0.0), X, i, x_t.dtype)
    with loop_nest(b, k.shape(y_t), name="rs") as idx:
        taps = {a: resize._emit_taps(k, op, idx[a], y_t.shape[a], x_t.shape[a], scale[a]) for a in resized}
        dst = dot(b, idx, ys)
        acc = ir.Constant(F64, 0.0)
        g = k.load(Y, dst, y_t.dtype) if backward else None
        g = b.fpext(g, F64) if backward and y_t.dtype == "float32" else g
        for combo in itertools.product(*(taps[a] for a in resized)):
            src, w = list(idx), None
            for a, (i, wt) in zip(resized, combo):
                src[a] = i
                w = wt if w is None else (b.fmul(w, wt) if wt is not None else w)
            at = dot(b, src, xs)
            if backward:
                old = k.load(X, at, x_t.dtype)
                add = g if w is None else b.fmul(g, w)
                add = b.fptrunc(add, lltype(x_t.dtype)) if x_t.dtype == "float32" else add
                k.store(b.fadd(old, add), X, at, x_t.dtype)
                continue
            v = k.load(X, at, x_t.dtype)
            v = b.fpext(v, F64) if x_t.dtype == "float32" else v
            acc = b.fadd(acc, v if w is None else b.fmul(v, w))
        if not backward:
            k.store(b.fptrunc(acc, lltype(y_t.dtype)) if y_t.dtype == "float32" else acc, Y, dst, y_t.dtype)
    b.ret_void()


@register_op("ResizeGrad", pattern=OPAQUE, domain="graphc", schema=False)
class ResizeGrad(OpDef):
    """ResizeGrad(dy, like, scales?) -> dx in like's shape: the adjoint of Resize (same attributes),
    each output gradient added to the input positions it was interpolated from."""
    dtypes = ("float32", "float64")
    num_inputs = (2, 3)
    attr_defaults = dict(Resize.attr_defaults)

    def infer(self, op, in_types, g):
        return [in_types[1]]

    def reference(self, op, dy, like, scales=None):
        fwd = registry_get("Resize")
        scales = None if scales is None or np.asarray(scales).size == 0 else [float(v) for v in np.asarray(scales)]
        axes = list(range(like.ndim)) if op.attrs["axes"] is None else [a % like.ndim for a in op.attrs["axes"]]
        sizes = None if scales is not None else [dy.shape[a] for a in axes]
        out, scale = fwd.plan(op, like.shape, scales, sizes)
        dx = dy.astype(np.float64)
        for a in reversed(range(like.ndim)):
            if scale[a] is None:
                continue
            acc = np.zeros(dx.shape[:a] + (like.shape[a],) + dx.shape[a + 1:])
            for idx, w in fwd.taps(op, out[a], like.shape[a], scale[a]):
                part = np.moveaxis(dx * w.reshape([-1] + [1] * (like.ndim - a - 1)), a, 0)
                np.add.at(np.moveaxis(acc, a, 0), idx, part)
            dx = acc
        return dx.astype(like.dtype)

    def emit(self, k, op):
        scales = (k.inputs[2], k.in_types[2]) if len(k.inputs) > 2 and k.in_types[2].shape[0] != 0 else None
        emit_resize(registry_get("Resize"), k, op, k.in_types[1], k.in_types[0], scales, k.outputs[0], k.inputs[0],
                    backward=True)


def _grad_resize(ctx, op, dys):
    scales = ctx.inputs[2] if len(ctx.inputs) > 2 else None
    ins = [dys[0], ctx.inputs[0]] + ([scales] if scales is not None else [])
    dx = ctx.emit("ResizeGrad", ins, domain="graphc", **{k: v for k, v in op.attrs.items() if v is not None})
    return [dx] + [None] * (len(ctx.inputs) - 1)


Resize.grad = staticmethod(_grad_resize)
