"""graphc-domain helper ops used by gradient rules (not ONNX; never exported).

Each has a numpy reference and a kernel (tests/ops/test_grad_*.py compare the two).

- shape plumbing: ExpandAs, SizeRatio, ReshapeAs (the run-time shape of a ``like`` input whose
  values are never read; ONNX's const shape inputs cannot name a symbolic batch dim)
- fused elementwise derivatives, ``dx = f(dy, y or x)`` in one loop: ReluGrad, LeakyReluGrad,
  EluGrad (Elu, Selu), SigmoidGrad, HardSigmoidGrad, TanhGrad, SoftplusGrad, SoftsignGrad, AbsGrad,
  SqrtGrad, ReciprocalGrad, ClipGrad, SelectFirstEqual (variadic Max/Min), EqualMask
  (ReduceMax/Min), XLogY (Pow's exponent)
- scatters, the adjoints of data movement: SliceGrad, PadGrad, GatherGrad (zero, then add rows)
- SoftmaxGrad/LogSoftmaxGrad (one row-sum kernel from the forward output), MatMulAtB (the weight
  gradient of a batched x 2-D MatMul as one GEMM)
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir

from ..codegen.kernels.elementwise import strides
from ..codegen.kernels.gemm import gemm_function
from ..codegen.loops import I1, const, dot, for_range, iadd, imax, imin, imul, loop_nest
from ..errors import ShapeError
from ..ir import TensorType
from .common import broadcast_infer, norm_axis
from .reduce import rows, var
from .registry import BROADCAST, INJECTIVE, OPAQUE, OUT_EWISE_FUSABLE, REDUCE, OpDef, register_op
from .shape import ALL_DTYPES, emit_copy, load_i64, split_dims, where, zero

DOMAIN = "graphc"


@register_op("ExpandAs", pattern=BROADCAST, domain=DOMAIN, schema=False)
class ExpandAs(OpDef):
    """ExpandAs(x, like): broadcast x to like's shape (like's values are never read).

    ONNX's Expand takes the shape as a tensor, which cannot name a symbolic batch; gradients
    of reductions and broadcasts need exactly that.
    """
    num_inputs = (2, 2)

    def infer(self, op, in_types, g):
        return [TensorType(in_types[0].dtype, in_types[1].shape)]

    def reference(self, op, x, like):
        return np.broadcast_to(x, like.shape).copy()

    def scalar(self, s, op, x, like):
        return x

    @staticmethod
    def grad(ctx, op, dys):
        """dx = dy summed back to x's shape; ``like`` gets none (its values are never read)."""
        return [ctx.unbroadcast(dys[0], ctx.inputs[0]) if ctx.needs[0] else None, None]


@register_op("SizeRatio", pattern=OPAQUE, domain=DOMAIN, schema=False)
class SizeRatio(OpDef):
    """SizeRatio(a, b) -> scalar numel(a) / numel(b) in a's dtype, from run-time sizes."""
    num_inputs = (2, 2)

    def infer(self, op, in_types, g):
        return [TensorType(in_types[0].dtype, ())]

    def reference(self, op, a, b):
        return np.asarray(a.size / b.size, dtype=a.dtype)

    def emit(self, k, op):
        s = k.scalar(k.out_types[0].dtype)
        num, den = k.numel(k.in_types[0]), k.numel(k.in_types[1])
        k.store(s.div(k.b.sitofp(num, s.ty), k.b.sitofp(den, s.ty)), k.outputs[0], const(0), k.out_types[0].dtype)
        k.b.ret_void()

    def grad(self, ctx, op, dys):
        """A ratio of run-time sizes: constant in the inputs' values, so no gradient reaches them (an
        activity regularizer's 1/batch factor multiplies a penalty that depends on the weights)."""
        return [None, None]


# --- elementwise gradient helpers: dx from dy and the forward output (or input) ----------------
# Each is one fused loop (pattern BROADCAST + ``scalar``). They reuse the forward output where the
# derivative is a function of it (sigmoid' = y(1-y), tanh' = 1-y^2, ...): the pre-activation can
# then be freed after the forward pass.
def _ewise(name, ref, scalar, num_inputs=(2, 2), doc="", **attr_defaults):
    def reference(self, op, *xs):
        present = [x for x in xs if x is not None]
        with np.errstate(all="ignore"):
            out = np.asarray(ref(op, *xs), dtype=present[0].dtype)
        return np.broadcast_to(out, np.broadcast_shapes(*(x.shape for x in present))).copy()

    cls = type(name, (OpDef,), {"__doc__": doc, "num_inputs": num_inputs, "attr_defaults": attr_defaults,
                                "infer": staticmethod(broadcast_infer), "reference": reference,
                                "scalar": lambda self, s, op, *xs: scalar(s, op, *xs)})
    register_op(name, pattern=BROADCAST, domain=DOMAIN, schema=False)(cls)


def _elu_grad(s, op, dy, v):
    a, g = op.attrs["alpha"], op.attrs["gamma"]
    if op.attrs["from_output"]:  # v = y: y' = gamma * alpha * e^x = y + gamma * alpha where x <= 0
        return s.select(s.cmp(">", v, 0.0), s.mul(dy, g), s.mul(dy, s.add(v, g * a)))
    return s.select(s.cmp(">", v, 0.0), s.mul(dy, g), s.mul(dy, s.mul(s.exp(v), g * a)))


def _np_elu_grad(op, dy, v):
    a, g = op.attrs["alpha"], op.attrs["gamma"]
    low = v + g * a if op.attrs["from_output"] else g * a * np.exp(v)
    return dy * np.where(v > 0, g, low)


def _clip_mask(s, x, lo, hi):
    ok = s.cmp("==", x, x)  # False for NaN
    for pred, bound in ((">=", lo), ("<=", hi)):
        if bound is not None:
            ok = s.b.and_(ok, s.cmp(pred, x, bound))
    return ok


def _np_clip_mask(x, lo, hi):
    return (x >= (-np.inf if lo is None else lo)) & (x <= (np.inf if hi is None else hi))


def _first_equal(s, op, dy, y, *xs):
    i = op.attrs["index"]
    hit = s.cmp("==", xs[i], y)
    for x in xs[:i]:  # an earlier input that also attains y takes the gradient instead
        hit = s.b.and_(hit, s.b.not_(s.cmp("==", x, y)))
    return s.select(hit, dy, 0.0)


def _np_first_equal(op, dy, y, *xs):
    i = op.attrs["index"]
    hit = xs[i] == y
    for x in xs[:i]:
        hit = hit & (x != y)
    return np.where(hit, dy, 0)


def _xlogy(s, op, x, y):
    return s.select(s.cmp("==", x, 0.0), 0.0, s.mul(x, s.log(y)))


_ewise("ReluGrad", lambda op, dy, y: np.where(y > 0, dy, 0),
       lambda s, op, dy, y: s.select(s.cmp(">", y, 0.0), dy, 0.0),
       doc="ReluGrad(dy, y) = dy where y > 0 else 0.")
_ewise("LeakyReluGrad", lambda op, dy, v: np.where(v >= 0, dy, dy * op.attrs["alpha"]),
       lambda s, op, dy, v: s.select(s.cmp(">=", v, 0.0), dy, s.mul(dy, op.attrs["alpha"])),
       doc="LeakyReluGrad(dy, v) = dy where v >= 0 else alpha*dy; v = y when alpha > 0 (same sign as x), else x.",
       alpha=0.01)
_ewise("EluGrad", _np_elu_grad, _elu_grad,
       doc="EluGrad(dy, v) for Elu (gamma=1) and Selu; v = y (from_output=1, needs alpha >= 0 and gamma > 0) or x.",
       alpha=1.0, gamma=1.0, from_output=1)
_ewise("SigmoidGrad", lambda op, dy, y: dy * y * (1 - y),
       lambda s, op, dy, y: s.mul(dy, s.mul(y, s.sub(1.0, y))), doc="SigmoidGrad(dy, y) = dy * y * (1 - y).")
_ewise("HardSigmoidGrad", lambda op, dy, y: np.where((y > 0) & (y < 1), dy * op.attrs["alpha"], 0),
       lambda s, op, dy, y: s.select(s.b.and_(s.cmp(">", y, 0.0), s.cmp("<", y, 1.0)),
                                     s.mul(dy, op.attrs["alpha"]), 0.0),
       doc="HardSigmoidGrad(dy, y) = alpha * dy where 0 < y < 1 (unclipped) else 0.", alpha=0.2)
_ewise("TanhGrad", lambda op, dy, y: dy * (1 - y * y),
       lambda s, op, dy, y: s.mul(dy, s.sub(1.0, s.mul(y, y))), doc="TanhGrad(dy, y) = dy * (1 - y^2).")
_ewise("SoftplusGrad", lambda op, dy, y: -dy * np.expm1(-y),
       lambda s, op, dy, y: s.mul(dy, s.neg(s.expm1(s.neg(y)))),
       doc="SoftplusGrad(dy, y) = dy * sigmoid(x) = dy * (1 - exp(-y)), y = softplus(x).")
_ewise("SoftsignGrad", lambda op, dy, y: dy * (1 - np.abs(y)) ** 2,
       lambda s, op, dy, y: s.mul(dy, s.mul(s.sub(1.0, s.abs(y)), s.sub(1.0, s.abs(y)))),
       doc="SoftsignGrad(dy, y) = dy / (1 + |x|)^2 = dy * (1 - |y|)^2.")
_ewise("AbsGrad", lambda op, dy, x: dy * np.sign(x),
       lambda s, op, dy, x: s.select(s.cmp(">", x, 0.0), dy, s.select(s.cmp("<", x, 0.0), s.neg(dy), 0.0)),
       doc="AbsGrad(dy, x) = dy * sign(x) (0 at x = 0).")
_ewise("SqrtGrad", lambda op, dy, y: dy * 0.5 / y,
       lambda s, op, dy, y: s.div(s.mul(dy, 0.5), y), doc="SqrtGrad(dy, y) = dy / (2 y).")
_ewise("ReciprocalGrad", lambda op, dy, y: -dy * y * y,
       lambda s, op, dy, y: s.neg(s.mul(dy, s.mul(y, y))), doc="ReciprocalGrad(dy, y) = -dy * y^2, y = 1/x.")
_ewise("ClipGrad", lambda op, dy, x, lo=None, hi=None: np.where(_np_clip_mask(x, lo, hi), dy, 0),
       lambda s, op, dy, x, lo=None, hi=None: s.select(_clip_mask(s, x, lo, hi), dy, 0.0), num_inputs=(2, 4),
       doc="ClipGrad(dy, x, min?, max?) = dy where min <= x <= max (bounds inclusive, as torch.clamp) else 0.")
_ewise("SelectFirstEqual", _np_first_equal, _first_equal, num_inputs=(3, 64), index=0,
       doc="SelectFirstEqual(dy, y, x0, ..) = dy where xs[index] is the FIRST input equal to y, else 0.\n\n"
           "The gradient of variadic Max/Min: ties go to the first input that attains the extremum.")
_ewise("EqualMask", lambda op, x, y: x == y, lambda s, op, x, y: s.select(s.cmp("==", x, y), 1.0, 0.0),
       doc="EqualMask(x, y) = 1.0 where x == y else 0.0 (ReduceMax/ReduceMin gradients).")
_ewise("XLogY", lambda op, x, y: np.where(x == 0, 0, x * np.log(y)), _xlogy,
       doc="XLogY(x, y) = x * log(y), 0 where x == 0 (scipy.special.xlogy); Pow's exponent gradient.")


# --- data-movement gradients -----------------------------------------------------------------
@register_op("ReshapeAs", pattern=INJECTIVE, domain=DOMAIN, schema=False)
class ReshapeAs(OpDef):
    """ReshapeAs(x, like): x's elements in like's shape (like's values are never read).

    ONNX Reshape's const shape cannot name a symbolic batch dim other than by copying it (0) at
    the same position; gradients of Reshape/Flatten/Squeeze/Unsqueeze need exactly x's shape.
    """
    num_inputs = (2, 2)
    dtypes = ALL_DTYPES
    emit = staticmethod(emit_copy)

    def infer(self, op, in_types, g):
        x, like = in_types
        nx, sx = split_dims(x.shape)
        nl, sl = split_dims(like.shape)
        if nx != nl or sx != sl:
            raise ShapeError(f"{where(op)}: cannot give {x} the shape of {like}: element counts differ")
        return [TensorType(x.dtype, like.shape)]

    def reference(self, op, x, like):
        return x.reshape(like.shape).copy()


class _Scatter(OpDef):
    """Zero the output (like's shape), then write or add dy elements at computed positions."""
    dtypes = ALL_DTYPES

    def infer(self, op, in_types, g):
        return [TensorType(in_types[0].dtype, in_types[self.like].shape)]

    def zero_output(self, k):
        y_t = k.out_types[0]
        with for_range(k.b, k.numel(y_t), name="z") as i:
            k.store(zero(y_t.dtype), k.outputs[0], i, y_t.dtype)


@register_op("SliceGrad", pattern=INJECTIVE, domain=DOMAIN, schema=False)
class SliceGrad(_Scatter):
    """SliceGrad(dy, like): zeros of like's shape with dy written at the sliced positions.

    ``starts``/``steps`` (one per axis of like, effective after ONNX clamping) are attributes:
    the gradient rule resolves them at compile time, so the kernel bakes them.
    """
    num_inputs, like = (2, 2), 1
    attr_defaults = {"starts": [], "steps": []}

    def reference(self, op, dy, like):
        out = np.zeros(like.shape, dy.dtype)
        idx = tuple(st + sp * np.arange(n) for st, sp, n in zip(op.attrs["starts"], op.attrs["steps"], dy.shape))
        out[np.ix_(*idx)] = dy
        return out

    def emit(self, k, op):
        b, (dy_t, x_t) = k.b, k.in_types
        self.zero_output(k)
        xs = strides(k, x_t, x_t.rank, [False] * x_t.rank)
        ys = strides(k, dy_t, dy_t.rank, [False] * dy_t.rank)
        base = dot(b, [const(s) for s in op.attrs["starts"]], xs)
        eff = [imul(b, const(st), x) for st, x in zip(op.attrs["steps"], xs)]
        with loop_nest(b, k.shape(dy_t), name="s") as idx:
            v = k.load(k.inputs[0], dot(b, idx, ys), dy_t.dtype)
            k.store(v, k.outputs[0], iadd(b, base, dot(b, idx, eff)), dy_t.dtype)
        b.ret_void()


def _pad_source(mode, o, p, d):
    """The input position read by output position ``o`` (numpy ints); None where the pad value is."""
    i = o - p
    if mode == "edge":
        return np.clip(i, 0, d - 1)
    if mode == "reflect":
        i = np.where(i < 0, -i, i)
        return np.where(i >= d, 2 * (d - 1) - i, i)
    return i


@register_op("PadGrad", pattern=INJECTIVE, domain=DOMAIN, schema=False)
class PadGrad(_Scatter):
    """PadGrad(dy, like): the adjoint of Pad (edge/reflect add every replicated position back).

    ``begin`` (leading pads per axis of like, negative = cropped) and ``mode`` are attributes;
    the positions follow Pad's kernel exactly. Accumulation is serial (deterministic).
    """
    num_inputs, like = (2, 2), 1
    attr_defaults = {"mode": "constant", "begin": []}

    def reference(self, op, dy, like):
        out = np.zeros(like.shape, dy.dtype)
        src, keep = [], []
        for o_d, p, d in zip(dy.shape, op.attrs["begin"], like.shape):
            i = _pad_source(op.attrs["mode"], np.arange(o_d), p, d)
            ok = (i >= 0) & (i < d)
            src.append(i[ok])
            keep.append(np.nonzero(ok)[0])
        np.add.at(out, np.ix_(*src), dy[np.ix_(*keep)])
        return out

    def emit(self, k, op):
        b, (dy_t, x_t), mode = k.b, k.in_types, op.attrs["mode"]
        s = k.scalar(dy_t.dtype)
        self.zero_output(k)
        xs = strides(k, x_t, x_t.rank, [False] * x_t.rank)
        ys = strides(k, dy_t, dy_t.rank, [False] * dy_t.rank)
        with loop_nest(b, k.shape(dy_t), name="p") as idx:
            src, ok = [], ir.Constant(I1, 1)
            for o, p, d in zip(idx, op.attrs["begin"], k.shape(x_t)):
                i = b.sub(o, const(p))
                if mode == "constant":
                    ok = b.and_(ok, b.icmp_unsigned("<", i, d))
                elif mode == "edge":
                    i = imax(b, const(0), imin(b, i, b.sub(d, const(1))))
                else:  # reflect (one reflection: pads < dim)
                    i = b.select(b.icmp_signed("<", i, const(0)), b.neg(i), i)
                    i = b.select(b.icmp_signed(">=", i, d), b.sub(b.mul(b.sub(d, const(1)), const(2)), i), i)
                src.append(i)
            with b.if_then(ok):
                at = dot(b, src, xs)
                v = s.add(k.load(k.outputs[0], at, dy_t.dtype), k.load(k.inputs[0], dot(b, idx, ys), dy_t.dtype))
                k.store(v, k.outputs[0], at, dy_t.dtype)
        b.ret_void()


@register_op("GatherGrad", pattern=INJECTIVE, domain=DOMAIN, schema=False)
class GatherGrad(_Scatter):
    """GatherGrad(dy, indices, like): zeros of like's shape, then dy's rows added at the indices.

    The adjoint of Gather along ``axis``: repeated indices accumulate (in order: deterministic);
    negative indices wrap; an out-of-range index (the forward wrote zeros) adds nothing. It writes
    only the touched rows after one zero fill, the shape a sparse (embedding) update needs.
    """
    num_inputs, like = (3, 3), 2
    attr_defaults = {"axis": 0}

    def reference(self, op, dy, idx, like):
        a = norm_axis(op.attrs["axis"], like.ndim)
        out = np.zeros(like.shape, dy.dtype)
        d = like.shape[a]
        idx = np.where(idx < 0, idx + d, idx).reshape(-1)
        ok = (idx >= 0) & (idx < d)
        lead = int(np.prod(like.shape[:a], dtype=np.int64))
        rows = dy.reshape(lead, idx.size, -1)[:, ok]
        np.add.at(out.reshape(lead, d, -1), (slice(None), idx[ok]), rows)
        return out

    def emit(self, k, op):
        b, (dy_t, i_t, x_t) = k.b, k.in_types
        DY, IDX, Y = k.inputs[0], k.inputs[1], k.outputs[0]
        s = k.scalar(dy_t.dtype)
        self.zero_output(k)
        a = norm_axis(op.attrs["axis"], x_t.rank)
        outer, D, inner, n_idx = k.numel(x_t, 0, a), k.dim(x_t, a), k.numel(x_t, a + 1), k.numel(i_t)
        with loop_nest(b, [outer, n_idx], name="g") as (o, j):
            idx = load_i64(k, IDX, j, i_t.dtype)
            idx = b.select(b.icmp_signed("<", idx, const(0)), b.add(idx, D), idx)
            with b.if_then(b.icmp_unsigned("<", idx, D)):  # 0 <= idx < D
                src = imul(b, iadd(b, imul(b, o, n_idx), j), inner)
                dst = imul(b, iadd(b, imul(b, o, D), idx), inner)
                with for_range(b, inner, name="gi") as i:
                    v = s.add(k.load(Y, iadd(b, dst, i), dy_t.dtype), k.load(DY, iadd(b, src, i), dy_t.dtype))
                    k.store(v, Y, iadd(b, dst, i), dy_t.dtype)
        b.ret_void()


# --- reductions and products ------------------------------------------------------------------
@register_op("SoftmaxGrad", pattern=REDUCE, domain=DOMAIN, schema=False)
class SoftmaxGrad(OpDef):
    """SoftmaxGrad(dy, y) = y * (dy - sum(dy * y, axis)), from the forward output only.

    One kernel: a row sum, then the elementwise pass, per (outer, inner) row as in Softmax.
    """
    num_inputs = (2, 2)
    attr_defaults = {"axis": -1}
    log = False

    def infer(self, op, in_types, g):
        dy, y = in_types
        if dy.shape != y.shape:
            raise ShapeError(f"{where(op)}: dy {dy} and y {y} must have the same shape")
        norm_axis(op.attrs["axis"], y.rank, where(op))
        return [dy]

    def reference(self, op, dy, y):
        a = norm_axis(op.attrs["axis"], y.ndim)
        if self.log:
            return dy - np.exp(y) * np.sum(dy, axis=a, keepdims=True)
        return y * (dy - np.sum(dy * y, axis=a, keepdims=True))

    def emit(self, k, op):
        b, t = k.b, k.in_types[0]
        DY, Y, DX, s = k.inputs[0], k.inputs[1], k.outputs[0], k.scalar(t.dtype)
        outer, D, inner = rows(k, t, norm_axis(op.attrs["axis"], t.rank))
        acc = var(k, s.ty, s.c(0.0))
        with loop_nest(b, [outer, inner], name="o") as (o, i):
            base = iadd(b, imul(b, o, imul(b, D, inner)), i)

            def at(d):
                return iadd(b, base, imul(b, d, inner))
            b.store(s.c(0.0), acc)
            with for_range(b, D, name="sm") as d:
                dy = k.load(DY, at(d), t.dtype)
                b.store(s.add(b.load(acc, typ=s.ty), dy if self.log else s.mul(dy, k.load(Y, at(d), t.dtype))), acc)
            total = b.load(acc, typ=s.ty)
            with for_range(b, D, name="dx") as d:
                dy, y = k.load(DY, at(d), t.dtype), k.load(Y, at(d), t.dtype)
                dx = s.sub(dy, s.mul(s.exp(y), total)) if self.log else s.mul(y, s.sub(dy, total))
                k.store(dx, DX, at(d), t.dtype)
        b.ret_void()


@register_op("LogSoftmaxGrad", pattern=REDUCE, domain=DOMAIN, schema=False)
class LogSoftmaxGrad(SoftmaxGrad):
    """LogSoftmaxGrad(dy, y) = dy - exp(y) * sum(dy, axis), y = log_softmax(x)."""
    log = True


@register_op("MatMulAtB", pattern=OUT_EWISE_FUSABLE, domain=DOMAIN, schema=False)
class MatMulAtB(OpDef):
    """MatMulAtB(a, b) = reshape(a, (-1, K))^T @ reshape(b, (-1, N)): a (..., K), b (..., N) with the
    same leading dims, summed over all of them, in one GEMM call.

    The weight gradient of a MatMul whose 2-D right operand is broadcast over a batch (Dense on
    a sequence): no transposed copy of a, no per-batch partial products.
    """
    num_inputs = (2, 2)

    def infer(self, op, in_types, g):
        a, b = in_types
        if a.rank < 1 or a.shape[:-1] != b.shape[:-1] or a.rank != b.rank:
            raise ShapeError(f"{where(op)}: a {a} and b {b} must have the same leading dims")
        return [TensorType(a.dtype, (a.shape[-1], b.shape[-1]))]

    def reference(self, op, a, b):
        return (a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])).astype(a.dtype)

    def emit(self, k, op):
        b, (a_t, b_t), y_t = k.b, k.in_types, k.out_types[0]
        s = k.scalar(y_t.dtype)
        K, N, L = k.dim(a_t, a_t.rank - 1), k.dim(b_t, b_t.rank - 1), k.numel(a_t, 0, a_t.rank - 1)
        b.call(gemm_function(k, y_t.dtype), [K, N, L, k.inputs[0], const(1), K, k.inputs[1], N, const(1),
                                             k.outputs[0], N, s.c(1.0), s.c(0.0)])
        b.ret_void()
