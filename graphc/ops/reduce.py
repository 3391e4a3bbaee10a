"""Reductions: Softmax, LogSoftmax (along one axis), ReduceMean/Sum/Max/Min, ArgMax, ArgMin.

Softmax works on (outer, axis, inner) strides, so any axis runs, and is numerically stable
(it subtracts the row maximum). Its exp pass has no loop-carried value, so LLVM vectorizes
the polynomial exp; along the last axis the row max and sum use explicit vector accumulators
(LLVM never reassociates float reductions by itself) in a fixed order, so results are reproducible.

The ONNX reductions reduce any axis set. The reduced axes follow from the input and output
types with keepdims=1, without axes (reduce everything), and whenever only one set of removed
axes turns the input shape into the output shape; otherwise ((3, 3) -> (3,)) the kernel reads
the const axes input at run time (kernels never bake const values: see graphc/ops/shape.py)
and runs one of the bodies it holds, one per axis set the types allow. A body folds contiguous
blocks with vector accumulators when the reduced axes are trailing, updates whole output rows with
vector code when the kept axes are trailing (a bias gradient over the batch), and otherwise is two
loop nests, kept axes outside and reduced axes inside, with the accumulator in a register.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from llvmlite import ir

from ..codegen.kernels.elementwise import strides
from ..codegen.kernels.norm import emit_columns_update, emit_row_reduce
from ..codegen.loops import I1, I64, const, dot, for_range, iadd, imul, loop_nest, product
from ..errors import ShapeError, UnsupportedOpError
from ..ir import FLOAT_DTYPES, TensorType
from .common import norm_axis
from .registry import REDUCE, OpDef, get, register_op
from .shape import axes_list, const_input, emit_copy, int_list, runtime_axis, slot_args, where


def need_float(k, op):
    t = k.in_types[0]
    if t.dtype not in FLOAT_DTYPES:
        raise UnsupportedOpError(f"{where(op)}: no kernel for input dtype {t.dtype}; supported: {list(FLOAT_DTYPES)}")


def var(k, typ, init):
    """A stack slot in the entry block (promoted to a register by LLVM), set to ``init`` here."""
    with k.b.goto_entry_block():
        k.b.position_at_start(k.fn.entry_basic_block)
        p = k.b.alloca(typ)
    k.b.store(init, p)
    return p


def rows(k, t, axis):
    """(outer, size, inner) of ``t`` around ``axis``."""
    return k.numel(t, 0, axis), k.dim(t, axis), k.numel(t, axis + 1)


def _max_step(s, acc, v):
    return s.max(v, acc)  # NaN in the data wins, as in the scalar loop


def _add_step(s, acc, v):
    return s.add(acc, v)


class AxisOp(OpDef):
    """Ops along one ``axis`` attribute."""

    def axis(self, op, rank):
        return norm_axis(op.attrs["axis"], rank, where(op))


@register_op("Softmax", pattern=REDUCE)
class Softmax(AxisOp):
    log = False

    def infer(self, op, in_types, g):
        self.axis(op, in_types[0].rank)
        return [in_types[0]]

    def reference(self, op, x):
        a = self.axis(op, x.ndim)
        z = x - np.max(x, axis=a, keepdims=True)
        e = np.exp(z)
        s = np.sum(e, axis=a, keepdims=True)
        return (z - np.log(s) if self.log else e / s).astype(x.dtype)

    def emit(self, k, op):
        need_float(k, op)
        b, t = k.b, k.in_types[0]
        X, Y, s = k.inputs[0], k.outputs[0], k.scalar(t.dtype)
        axis = self.axis(op, t.rank)
        outer, D, inner = rows(k, t, axis)
        contiguous = axis == t.rank - 1
        m, acc = var(k, s.ty, s.c(0.0)), var(k, s.ty, s.c(0.0))
        with loop_nest(b, [outer, inner], name="o") as (o, i):
            base = iadd(b, imul(b, o, imul(b, D, inner)), i)

            def at(d):
                return iadd(b, base, imul(b, d, inner))
            if contiguous:  # the row is contiguous: max and sum with vector accumulators
                mv = emit_row_reduce(k, t.dtype, X, base, D, -math.inf, _max_step)
            else:
                b.store(s.c(-math.inf), m)
                with for_range(b, D, name="mx") as d:
                    b.store(s.max(k.load(X, at(d), t.dtype), b.load(m, typ=s.ty)), m)
                mv = b.load(m, typ=s.ty)
            with for_range(b, D, name="ex") as d:  # no loop-carried value: vectorizes
                k.store(s.exp(s.sub(k.load(X, at(d), t.dtype), mv)), Y, at(d), t.dtype)
            if contiguous:
                total = emit_row_reduce(k, t.dtype, Y, base, D, 0.0, _add_step)
            else:
                b.store(s.c(0.0), acc)
                with for_range(b, D, name="sm") as d:
                    b.store(s.add(b.load(acc, typ=s.ty), k.load(Y, at(d), t.dtype)), acc)
                total = b.load(acc, typ=s.ty)
            if self.log:
                shift = s.add(mv, s.log(total))
                with for_range(b, D, name="nm") as d:
                    k.store(s.sub(k.load(X, at(d), t.dtype), shift), Y, at(d), t.dtype)
            else:
                with for_range(b, D, name="nm") as d:
                    k.store(s.div(k.load(Y, at(d), t.dtype), total), Y, at(d), t.dtype)
        b.ret_void()


@register_op("LogSoftmax", pattern=REDUCE)
class LogSoftmax(Softmax):
    log = True


@register_op("ArgMax", pattern=REDUCE)
class ArgMax(AxisOp):
    """Index of the first maximum (last with select_last_index); NaN counts as the maximum,
    as in numpy."""
    dtypes = ("float32", "float64", "int64")
    better = ">"  # ArgMin: "<"

    def infer(self, op, in_types, g):
        x = in_types[0]
        a = self.axis(op, x.rank)
        if x.shape[a] == 0:
            raise ShapeError(f"{where(op)}: cannot take {op.op_type} over axis {a} of size 0 (input {x})")
        shape = x.shape[:a] + ((1,) if op.attrs["keepdims"] else ()) + x.shape[a + 1:]
        return [TensorType("int64", shape)]

    def reference(self, op, x):
        a = self.axis(op, x.ndim)
        arg = np.argmax if self.better == ">" else np.argmin
        if op.attrs["select_last_index"]:
            r = x.shape[a] - 1 - arg(np.flip(x, a), axis=a)
        else:
            r = arg(x, axis=a)
        return (np.expand_dims(r, a) if op.attrs["keepdims"] else r).astype(np.int64)

    def emit(self, k, op):
        need_float(k, op)
        b, t = k.b, k.in_types[0]
        X, Y, s = k.inputs[0], k.outputs[0], k.scalar(t.dtype)
        outer, D, inner = rows(k, t, self.axis(op, t.rank))
        best, arg = var(k, s.ty, s.c(0.0)), var(k, I64, const(0))
        last = op.attrs["select_last_index"]
        with loop_nest(b, [outer, inner], name="o") as (o, i):
            base = iadd(b, imul(b, o, imul(b, D, inner)), i)
            with b.if_then(b.icmp_signed(">", D, const(0))):  # a run-time size may be 0
                b.store(k.load(X, base, t.dtype), best)
                b.store(const(0), arg)
                with for_range(b, D, start=1, name="am") as d:
                    v, cur = k.load(X, iadd(b, base, imul(b, d, inner)), t.dtype), b.load(best, typ=s.ty)
                    if last:  # v >= best, or v is NaN
                        upd = b.or_(s.cmp(self.better + "=", v, cur), s.is_nan(v))
                    else:  # v > best, or the first NaN
                        upd = b.or_(s.cmp(self.better, v, cur), b.and_(s.is_nan(v), b.not_(s.is_nan(cur))))
                    b.store(b.select(upd, v, cur), best)
                    b.store(b.select(upd, d, b.load(arg, typ=I64)), arg)
                k.store(b.load(arg, typ=I64), Y, iadd(b, imul(b, o, inner), i), "int64")
        b.ret_void()


@register_op("ArgMin", pattern=REDUCE)
class ArgMin(ArgMax):
    """Index of the first minimum (last with select_last_index); NaN counts as the minimum (numpy)."""
    better = "<"


class Reduce(OpDef):
    """ONNX reductions (opset 18): optional const axes input, keepdims, noop_with_empty_axes."""
    dtypes = ("float32", "float64", "int64", "int32")  # int64/int32: the axes input

    def axes(self, op, rank, axes):
        """Sorted reduced axes; None means the op is a no-op (empty axes with noop_with_empty_axes)."""
        axes = [] if axes is None else int_list(op, axes, "axes")
        if not axes:
            return None if op.attrs["noop_with_empty_axes"] else list(range(rank))
        return sorted(axes_list(op, axes, rank))

    def infer(self, op, in_types, g):
        x = in_types[0]
        axes = self.axes(op, x.rank, const_input(op, in_types, g, 1))
        if axes is None:
            return [x]
        keep = op.attrs["keepdims"]
        return [TensorType(x.dtype, tuple(1 if a in axes else d for a, d in enumerate(x.shape)
                                          if keep or a not in axes))]

    def reference(self, op, x, axes=None):
        axes = self.axes(op, x.ndim, axes)
        if axes is None:
            return x.copy()
        return self.np_reduce(x, axis=tuple(axes), keepdims=bool(op.attrs["keepdims"])).astype(x.dtype)

    def candidates(self, op, x_t, y_t, has_axes):
        """Reduced-axis masks consistent with the types (one, unless e.g. (3, 3) -> (3,))."""
        r = x_t.rank
        if not has_axes:
            return [(True,) * r]
        if op.attrs["keepdims"]:  # a reduced axis has size 1 in the output (if it was 1, no matter)
            return [tuple(x_t.shape[a] != y_t.shape[a] for a in range(r))]
        return [tuple(a in c for a in range(r)) for c in itertools.combinations(range(r), r - y_t.rank)
                if tuple(d for a, d in enumerate(x_t.shape) if a not in c) == y_t.shape]

    def emit(self, k, op):
        need_float(k, op)
        b, x_t, y_t = k.b, k.in_types[0], k.out_types[0]
        (_, _), (A, a_t) = slot_args(k, 2)
        has_axes = A is not None and a_t.shape[0] > 0
        if op.attrs["noop_with_empty_axes"] and not has_axes:
            return emit_copy(k, op)
        cands = self.candidates(op, x_t, y_t, has_axes)
        if len(cands) == 1:
            self.emit_body(k, cands[0])
        else:  # one body per candidate; the const axes, read at run time, pick one
            r, m = x_t.rank, [ir.Constant(I1, 0)] * x_t.rank
            for j in range(a_t.shape[0]):
                ax = runtime_axis(k, A, a_t, j, r)
                m = [b.or_(f, b.icmp_signed("==", ax, const(a))) for a, f in enumerate(m)]
            for cand in cands:
                hit = ir.Constant(I1, 1)
                for f, c in zip(m, cand):
                    hit = b.and_(hit, f if c else b.not_(f))
                with b.if_then(hit):
                    self.emit_body(k, cand)
        b.ret_void()

    def emit_body(self, k, mask):
        """Explicit vector code where the data is contiguous: reduced axes trailing (each output folds a
        contiguous block, vector accumulators) or kept axes trailing (outputs updated a row at a time,
        e.g. a bias gradient summing over the batch); otherwise kept axes outside, reduced axes inside,
        the accumulator in a register."""
        b, x_t, y_t = k.b, k.in_types[0], k.out_types[0]
        s, r = k.scalar(x_t.dtype), x_t.rank
        kept, red = [a for a in range(r) if not mask[a]], [a for a in range(r) if mask[a]]
        X, Y = k.inputs[0], k.outputs[0]
        n_kept, n_red = product(b, [k.dim(x_t, a) for a in kept]), product(b, [k.dim(x_t, a) for a in red])
        count = b.sitofp(n_red, s.ty)
        if red == list(range(r - len(red), r)):  # each output reduces one contiguous block
            with for_range(b, n_kept, name="o") as o:
                acc = emit_row_reduce(k, x_t.dtype, X, imul(b, o, n_red), n_red, self.init, self.step, self.combine)
                k.store(self.finish(s, acc, count), Y, o, y_t.dtype)
            return
        if kept == list(range(r - len(kept), r)):  # kept axes contiguous: fold whole rows into Y
            with for_range(b, n_kept, name="i") as j:
                k.store(s.c(self.init), Y, j, y_t.dtype)
            with for_range(b, n_red, name="r") as i:
                emit_columns_update(k, x_t.dtype, Y, X, const(0), imul(b, i, n_kept), n_kept, self.step)
            with for_range(b, n_kept, name="f") as j:
                k.store(self.finish(s, k.load(Y, j, y_t.dtype), count), Y, j, y_t.dtype)
            return
        xs = strides(k, x_t, r, [False] * r)
        ys, run = {}, const(1)
        for a in reversed(kept):
            ys[a], run = run, imul(b, run, k.dim(x_t, a))
        acc = var(k, s.ty, s.c(0.0))
        with loop_nest(b, [k.dim(x_t, a) for a in kept], name="o") as oi:
            base = dot(b, oi, [xs[a] for a in kept])
            b.store(s.c(self.init), acc)
            with loop_nest(b, [k.dim(x_t, a) for a in red], name="r") as ri:
                v = k.load(k.inputs[0], iadd(b, base, dot(b, ri, [xs[a] for a in red])), x_t.dtype)
                b.store(self.step(s, b.load(acc, typ=s.ty), v), acc)
            k.store(self.finish(s, b.load(acc, typ=s.ty), count), k.outputs[0], dot(b, oi, [ys[a] for a in kept]),
                    y_t.dtype)

    def finish(self, s, acc, count):
        return acc

    def combine(self, s, a, b):
        """Two partial results of ``step`` folds into one (vector lanes)."""
        return self.step(s, a, b)


@register_op("ReduceSum", pattern=REDUCE)
class ReduceSum(Reduce):
    init = 0.0
    np_reduce = staticmethod(np.sum)

    def step(self, s, acc, v):
        return s.add(acc, v)


@register_op("ReduceMean", pattern=REDUCE)
class ReduceMean(ReduceSum):
    np_reduce = staticmethod(np.mean)

    def finish(self, s, acc, count):
        return s.div(acc, count)


@register_op("ReduceMax", pattern=REDUCE)
class ReduceMax(Reduce):
    init = -math.inf
    np_reduce = staticmethod(np.max)

    def step(self, s, acc, v):  # NaN wins, as in numpy
        return s.select(s.is_nan(acc), acc, s.max(v, acc))


@register_op("ReduceMin", pattern=REDUCE)
class ReduceMin(Reduce):
    init = math.inf
    np_reduce = staticmethod(np.min)

    def step(self, s, acc, v):
        return s.select(s.is_nan(acc), acc, s.min(v, acc))


# --- gradient rules ----------------------------------------------------------------------
def _reduced_dy(ctx, op, dy):
    """dy with the reduced axes restored as size-1 axes (the keepdims=1 form)."""
    x_t, y_t = ctx.type(ctx.inputs[0]), ctx.type(ctx.outputs[0])
    if op.attrs["keepdims"] or y_t.rank == x_t.rank:
        return dy
    axes_in = ctx.inputs[1] if len(ctx.inputs) > 1 else None
    axes = get(op.op_type).axes(op, x_t.rank, None if axes_in is None else ctx.g.value(axes_in).data)
    return ctx.emit("Unsqueeze", [dy, ctx.ints(axes)])


def _grad_reduce_sum(ctx, op, dys):
    return [ctx.emit("ExpandAs", [_reduced_dy(ctx, op, dys[0]), ctx.inputs[0]], domain="graphc")]


def _grad_reduce_mean(ctx, op, dys):
    dx = _grad_reduce_sum(ctx, op, dys)[0]
    return [ctx.emit("Mul", [dx, ctx.emit("SizeRatio", [ctx.outputs[0], ctx.inputs[0]], domain="graphc")])]


ReduceSum.grad = staticmethod(_grad_reduce_sum)
ReduceMean.grad = staticmethod(_grad_reduce_mean)


def _grad_reduce_extremum(ctx, op, dys):
    """ReduceMax/ReduceMin: dY goes to the positions equal to the result, split evenly among ties
    (TensorFlow's rule: the gradient's sum is preserved): dx = mask * dy / count(mask)."""
    x, y = ctx.inputs[0], ctx.outputs[0]
    axes_in = ctx.inputs[1] if len(ctx.inputs) > 1 else None
    if get(op.op_type).axes(op, ctx.type(x).rank, None if axes_in is None else ctx.g.value(axes_in).data) is None:
        return [dys[0]]  # noop_with_empty_axes
    mask = ctx.emit("EqualMask", [x, _reduced_dy(ctx, op, y)], domain="graphc")
    count = ctx.emit("ReduceSum", [mask] + ([axes_in] if axes_in is not None else []), keepdims=1)
    return [ctx.emit("Mul", [mask, ctx.emit("Div", [_reduced_dy(ctx, op, dys[0]), count])])]


def _grad_softmax(ctx, op, dys):
    axis = norm_axis(op.attrs["axis"], ctx.type(ctx.inputs[0]).rank)
    return [ctx.emit(f"{op.op_type}Grad", [dys[0], ctx.outputs[0]], domain="graphc", axis=axis)]


ReduceMax.grad = ReduceMin.grad = staticmethod(_grad_reduce_extremum)
Softmax.grad = LogSoftmax.grad = staticmethod(_grad_softmax)
