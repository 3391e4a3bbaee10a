"""Data-movement ops: Transpose, Reshape, Flatten, Squeeze, Unsqueeze, Concat, Gather, Expand,
Slice, Pad, Cast, Dropout (inference), Shape, Constant, ConstantOfShape.

Shape-like inputs (Reshape's shape, Slice's starts, Pad's pads, ...) must be consts: shape
inference reads them with ``const_value``. Kernels never bake those values into code: the
kernel cache and the disk cache are keyed by types and attributes (a const prints without
its data), so whatever the output type does not already say (Slice's starts and steps,
Pad's leading pads) is read from the const's buffer at run time. Kernels read sizes with
``k.dim``, so one kernel serves every batch size.
"""
from __future__ import annotations

import collections
import math

import numpy as np
import onnx
from llvmlite import ir

from ..codegen.kernels.elementwise import broadcast_flags, strides
from ..codegen.loops import I64, const, dot, for_range, iadd, imax, imin, imul, loop_nest
from ..codegen.scalar import lltype
from ..errors import ShapeError, UnsupportedOpError
from ..ir import TensorType, dtype_name, np_dtype, onnx_dtype
from .common import broadcast_shapes, const_value, norm_axis
from .elementwise import refuse_grad
from .registry import INJECTIVE, OpDef, get, register_op
from .symbolic import shape_input

ALL_DTYPES = ("float32", "float64", "int64", "int32", "bool")
WHOLE_END = 2 ** 31 - 1  # a Slice end at least INT32_MAX takes a symbolic axis whole


# --- shape-inference helpers ------------------------------------------------------------
def where(op):
    return f"op {op.name!r} ({op.op_type})"


def const_input(op, in_types, g, slot):
    """The numpy value of const input ``slot``, or None when the optional input is absent."""
    if slot >= len(in_types) or in_types[slot] is None:
        return None
    name = g.op_inputs(op)[slot] if g is not None else None
    return np.asarray(const_value(g, name, f"{where(op)} input {slot}"))


def int_list(op, arr, what):
    if arr.ndim > 1 or arr.dtype.kind not in "iu":
        raise ShapeError(f"{where(op)}: {what} must be a 1-D integer tensor, received {arr.dtype} of shape {arr.shape}")
    return [int(v) for v in arr.reshape(-1)]


def split_dims(dims):
    """(product of the static dims, Counter of the symbolic ones)."""
    n, syms = 1, collections.Counter()
    for d in dims:
        if isinstance(d, str):
            syms[d] += 1
        else:
            n *= d
    return n, syms


def fold_dims(dims, what, combine="*"):
    """The product (or sum) of dims as one dim: an int, or a lone symbol (N*1, N+0).

    graphc dims are ints or single symbols, so N*3 or N+N cannot be represented.
    """
    ints, syms = [d for d in dims if not isinstance(d, str)], [d for d in dims if isinstance(d, str)]
    n = int(np.prod(ints)) if combine == "*" else sum(ints)
    if not syms or (combine == "*" and n == 0):
        return n
    if len(syms) == 1 and n == (1 if combine == "*" else 0):
        return syms[0]
    expr = combine.join(str(d) for d in dims)
    raise ShapeError(f"{what}: the size {expr} combines a symbolic dim with other dims; graphc dims must be "
                     f"ints or a single symbol")


def axes_list(op, axes, rank, what="axes"):
    out = [norm_axis(a, rank, where(op)) for a in axes]
    if len(set(out)) != len(out):
        raise ShapeError(f"{where(op)}: {what} {axes} repeat an axis (rank {rank})")
    return out


# --- kernel helpers ---------------------------------------------------------------------
def slot_args(k, n):
    """(pointer, type) per input slot up to ``n``; (None, None) for absent optional inputs."""
    it = iter(zip(k.inputs, k.in_types))
    out = [next(it) if p else (None, None) for p in k.present]
    return out + [(None, None)] * (n - len(out))


def load_i64(k, ptr, idx, dtype):
    v = k.load(ptr, idx, dtype)
    return v if dtype == "int64" else k.b.sext(v, I64)


def zero(dtype):
    return ir.Constant(lltype(dtype), 0)


def emit_copy(k, op):
    """Contiguous copy of input 0 into output 0 (LLVM turns the loop into memcpy)."""
    t = k.out_types[0]
    with for_range(k.b, k.numel(t), name="c") as i:
        k.store(k.load(k.inputs[0], i, t.dtype), k.outputs[0], i, t.dtype)
    k.b.ret_void()


def runtime_axis(k, ptr, t, j, rank):
    """Axis number ``j`` of an axes tensor, loaded at run time and made non-negative."""
    if ptr is None:
        return const(j)
    a = load_i64(k, ptr, const(j), t.dtype)
    return k.b.select(k.b.icmp_signed("<", a, const(0)), k.b.add(a, const(rank)), a)


def per_axis(k, rank, axis, value, current):
    """current[a] = value where a == axis (``axis``: a run-time value or a constant)."""
    if isinstance(axis, ir.Constant):
        return [value if a == axis.constant else c for a, c in enumerate(current)]
    return [k.b.select(k.b.icmp_signed("==", axis, const(a)), value, c) for a, c in enumerate(current)]


class DataMovement(OpDef):
    dtypes = ALL_DTYPES


class ContiguousCopy(DataMovement):
    """Ops that only relabel the shape: the kernel is a contiguous copy."""
    emit = staticmethod(emit_copy)


@register_op("Transpose", pattern=INJECTIVE)
class Transpose(DataMovement):
    def perm(self, op, rank):
        p = op.attrs["perm"]
        return list(reversed(range(rank))) if p is None else list(p)

    def infer(self, op, in_types, g):
        x = in_types[0]
        p = self.perm(op, x.rank)
        if sorted(p) != list(range(x.rank)):
            raise ShapeError(f"op {op.name!r} (Transpose): perm {p} is not a permutation of {x.rank} axes")
        return [TensorType(x.dtype, tuple(x.shape[a] for a in p))]

    def reference(self, op, x):
        return np.transpose(x, self.perm(op, x.ndim))

    def emit(self, k, op):
        x_t, y_t = k.in_types[0], k.out_types[0]
        p = self.perm(op, x_t.rank)
        xs = strides(k, x_t, x_t.rank, [False] * x_t.rank)
        ys = strides(k, y_t, y_t.rank, [False] * y_t.rank)
        with loop_nest(k.b, k.shape(y_t), name="t") as idx:
            v = k.load(k.inputs[0], dot(k.b, idx, [xs[a] for a in p]), x_t.dtype)
            k.store(v, k.outputs[0], dot(k.b, idx, ys), y_t.dtype)
        k.b.ret_void()


@register_op("Reshape", pattern=INJECTIVE)
class Reshape(ContiguousCopy):
    """Shape input 1 is a const; 0 copies the input dim (unless allowzero), -1 is inferred."""

    def target(self, op, x_shape, spec):
        allowzero = op.attrs["allowzero"]
        if None in spec:  # an entry known only at run time (N*3): the one dim left to infer
            if -1 in spec or spec.count(None) > 1:
                raise ShapeError(f"{where(op)}: target shape {spec} has {spec.count(None)} entries unknown at compile "
                                 f"time{' and a -1' if -1 in spec else ''}; graphc can infer only one")
            spec = [-1 if s is None else s for s in spec]
        ints = [s for s in spec if not isinstance(s, str)]
        if ints.count(-1) > 1 or any(s < -1 for s in ints) or (allowzero and 0 in ints and -1 in ints):
            raise ShapeError(f"{where(op)}: invalid target shape {spec}: at most one -1, no other negative "
                             f"values{', and no -1 together with 0 when allowzero=1' if allowzero else ''}")
        out = []
        for i, s in enumerate(spec):
            if s == 0 and not allowzero:
                if i >= len(x_shape):
                    raise ShapeError(f"{where(op)}: target shape {spec} copies dim {i} (0) but the input "
                                     f"{tuple(x_shape)} has rank {len(x_shape)}")
                out.append(x_shape[i])
            else:
                out.append(None if s == -1 else s)
        return out

    def infer(self, op, in_types, g):
        x = in_types[0]
        spec = shape_input(op, in_types, g, 1)
        out = self.target(op, x.shape, spec)
        n_in, s_in = split_dims(x.shape)
        n_out, s_out = split_dims([d for d in out if d is not None])
        bad = f"{where(op)}: cannot reshape input of shape {x.shape} to {spec}"
        if None in out:
            rest = s_in - s_out
            if s_out - s_in:
                raise ShapeError(f"{bad}: symbolic dims {sorted((s_out - s_in).elements())} are not in the input")
            if n_out == 0:
                raise ShapeError(f"{bad}: the -1 dim is undefined when another target dim is 0")
            if n_in % n_out:
                raise ShapeError(f"{bad}: {n_in} static elements are not divisible by {n_out}")
            q = n_in // n_out
            if not rest:
                fill = q
            elif len(list(rest.elements())) == 1 and q == 1:
                fill = next(rest.elements())
            else:
                raise ShapeError(f"{bad}: the -1 dim would be {q}*{'*'.join(rest.elements())}, which is not a "
                                 f"single dim (graphc dims are ints or one symbol)")
            out[out.index(None)] = fill
        elif n_in != n_out or s_in != s_out:
            raise ShapeError(f"{bad}: the element counts differ ({'*'.join(map(str, x.shape)) or 1} vs "
                             f"{'*'.join(map(str, out)) or 1})")
        return [TensorType(x.dtype, tuple(out))]

    def reference(self, op, x, shape):
        out = self.target(op, x.shape, [int(s) for s in shape])
        return x.reshape([-1 if d is None else d for d in out]).copy()


@register_op("Flatten", pattern=INJECTIVE)
class Flatten(ContiguousCopy):
    def axis(self, op, rank):
        a = op.attrs["axis"]
        if not -rank <= a <= rank:
            raise ShapeError(f"{where(op)}: axis {a} is out of range for rank {rank} (expected -{rank}..{rank})")
        return a + rank if a < 0 else a

    def infer(self, op, in_types, g):
        x = in_types[0]
        a = self.axis(op, x.rank)
        w = f"{where(op)}: flattening {x.shape} at axis {a}"
        return [TensorType(x.dtype, (fold_dims(x.shape[:a], w), fold_dims(x.shape[a:], w)))]

    def reference(self, op, x):
        a = self.axis(op, x.ndim)
        return x.reshape(int(np.prod(x.shape[:a])), int(np.prod(x.shape[a:]))).copy()


@register_op("Squeeze", pattern=INJECTIVE)
class Squeeze(ContiguousCopy):
    """Axes (optional const input 1): without them every static dim of size 1 goes."""

    def axes(self, op, shape, axes):
        if axes is None:
            return [a for a, d in enumerate(shape) if d == 1]
        axes = axes_list(op, int_list(op, axes, "axes"), len(shape))
        bad = [a for a in axes if shape[a] != 1]
        if bad:
            raise ShapeError(f"{where(op)}: cannot squeeze axes {bad} of input shape {tuple(shape)}: "
                             f"expected size 1, received {[shape[a] for a in bad]}")
        return axes

    def infer(self, op, in_types, g):
        x = in_types[0]
        axes = self.axes(op, x.shape, const_input(op, in_types, g, 1))
        return [TensorType(x.dtype, tuple(d for a, d in enumerate(x.shape) if a not in axes))]

    def reference(self, op, x, axes=None):
        return np.squeeze(x, axis=tuple(self.axes(op, x.shape, axes))).copy()


@register_op("Unsqueeze", pattern=INJECTIVE)
class Unsqueeze(ContiguousCopy):
    def out_shape(self, op, shape, axes):
        rank = len(shape) + len(axes)
        axes = axes_list(op, int_list(op, axes, "axes"), rank)
        it = iter(shape)
        return tuple(1 if a in axes else next(it) for a in range(rank))

    def infer(self, op, in_types, g):
        x = in_types[0]
        return [TensorType(x.dtype, self.out_shape(op, x.shape, const_input(op, in_types, g, 1)))]

    def reference(self, op, x, axes):
        return x.reshape(self.out_shape(op, x.shape, np.asarray(axes))).copy()


@register_op("Dropout", pattern=INJECTIVE)
class Dropout(DataMovement):
    """Inference Dropout: output 0 is the input, the optional mask is all True.

    training_mode (input 2) must be absent or a const False; training graphs lower dropout
    themselves.
    """

    def check_mode(self, op, mode):
        if mode is not None and bool(np.asarray(mode)):
            raise UnsupportedOpError(f"{where(op)}: training_mode=True is not supported; graphc runs Dropout "
                                     f"in inference mode only (output = input)")

    def infer(self, op, in_types, g):
        self.check_mode(op, const_input(op, in_types, g, 2))
        x = in_types[0]
        return [x, TensorType("bool", x.shape)]

    def reference(self, op, x, ratio=None, training_mode=None):
        self.check_mode(op, training_mode)
        return x.copy(), np.ones(x.shape, dtype=bool)

    def emit(self, k, op):
        x_t = k.in_types[0]
        with for_range(k.b, k.numel(x_t), name="c") as i:
            k.store(k.load(k.inputs[0], i, x_t.dtype), k.outputs[0], i, x_t.dtype)
            if len(k.outputs) > 1:
                k.store(ir.Constant(lltype("bool"), 1), k.outputs[1], i, "bool")
        k.b.ret_void()


@register_op("Concat", pattern=INJECTIVE)
class Concat(DataMovement):
    def infer(self, op, in_types, g):
        x = in_types[0]
        axis = norm_axis(op.attrs["axis"], x.rank, where(op))
        shapes = [t.shape for t in in_types]
        for i, t in enumerate(in_types):
            if t.dtype != x.dtype or t.rank != x.rank or any(
                    d != e for a, (d, e) in enumerate(zip(t.shape, x.shape)) if a != axis):
                raise ShapeError(f"{where(op)}: input {i} must match input 0 ({x}) on every axis but {axis}, "
                                 f"received {t}; all shapes: {shapes}")
        total = fold_dims([t.shape[axis] for t in in_types], f"{where(op)}: concatenating {shapes} on axis {axis}", "+")
        return [TensorType(x.dtype, x.shape[:axis] + (total,) + x.shape[axis + 1:])]

    def reference(self, op, *xs):
        return np.concatenate(xs, axis=op.attrs["axis"])

    def emit(self, k, op):
        b, y_t = k.b, k.out_types[0]
        axis = norm_axis(op.attrs["axis"], y_t.rank)
        outer, after = k.numel(y_t, 0, axis), k.numel(y_t, axis + 1)
        row = imul(b, k.dim(y_t, axis), after)
        off = const(0)
        for p, t in zip(k.inputs, k.in_types):
            chunk = imul(b, k.dim(t, axis), after)
            with loop_nest(b, [outer, chunk], name="cat") as (o, j):
                v = k.load(p, iadd(b, imul(b, o, chunk), j), t.dtype)
                k.store(v, k.outputs[0], iadd(b, iadd(b, imul(b, o, row), off), j), t.dtype)
            off = iadd(b, off, chunk)
        b.ret_void()


@register_op("Gather", pattern=INJECTIVE)
class Gather(DataMovement):
    """ONNX Gather; negative indices wrap. Indices must lie in [-dim, dim). Indices that are graph
    inputs with a declared ``index_range`` (Embedding declares one) are checked by the runtime
    before the native call; for any other index the kernel never reads out of bounds: an
    out-of-range index writes zeros (it is not clamped)."""

    def infer(self, op, in_types, g):
        x, idx = in_types
        if idx.dtype not in ("int64", "int32"):
            raise ShapeError(f"{where(op)}: indices must be int64 or int32, received {idx}")
        a = norm_axis(op.attrs["axis"], x.rank, where(op))
        return [TensorType(x.dtype, x.shape[:a] + idx.shape + x.shape[a + 1:])]

    def reference(self, op, x, idx):
        return np.take(x, idx, axis=op.attrs["axis"])

    def emit(self, k, op):
        b = k.b
        (x_t, i_t), y_t = k.in_types, k.out_types[0]
        X, IDX, Y = k.inputs[0], k.inputs[1], k.outputs[0]
        a = norm_axis(op.attrs["axis"], x_t.rank)
        outer, D, inner, n_idx = k.numel(x_t, 0, a), k.dim(x_t, a), k.numel(x_t, a + 1), k.numel(i_t)
        with loop_nest(b, [outer, n_idx], name="g") as (o, j):
            idx = load_i64(k, IDX, j, i_t.dtype)
            idx = b.select(b.icmp_signed("<", idx, const(0)), b.add(idx, D), idx)
            ok = b.icmp_unsigned("<", idx, D)  # 0 <= idx < D
            dst = imul(b, iadd(b, imul(b, o, n_idx), j), inner)
            src = imul(b, iadd(b, imul(b, o, D), idx), inner)
            with b.if_else(ok) as (then, otherwise):
                with then:
                    with for_range(b, inner, name="gi") as i:
                        k.store(k.load(X, iadd(b, src, i), x_t.dtype), Y, iadd(b, dst, i), y_t.dtype)
                with otherwise:
                    with for_range(b, inner, name="gz") as i:
                        k.store(zero(y_t.dtype), Y, iadd(b, dst, i), y_t.dtype)
        b.ret_void()


@register_op("Expand", pattern=INJECTIVE)
class Expand(DataMovement):
    """Bidirectional broadcast of input 0 to the const shape input 1."""

    def infer(self, op, in_types, g):
        x = in_types[0]
        shape = shape_input(op, in_types, g, 1)
        if None in shape:
            raise ShapeError(f"{where(op)}: the target shape {shape} has entries unknown at compile time (None)")
        return [TensorType(x.dtype, broadcast_shapes(x.shape, shape, where=where(op)))]

    def reference(self, op, x, shape):
        return np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(int(s) for s in shape))).copy()

    def emit(self, k, op):
        x_t, y_t = k.in_types[0], k.out_types[0]
        xs = strides(k, x_t, y_t.rank, broadcast_flags([x_t], y_t)[0])
        ys = strides(k, y_t, y_t.rank, [False] * y_t.rank)
        with loop_nest(k.b, k.shape(y_t), name="x") as idx:
            k.store(k.load(k.inputs[0], dot(k.b, idx, xs), x_t.dtype), k.outputs[0], dot(k.b, idx, ys), y_t.dtype)
        k.b.ret_void()


def slice_range(start, end, step, d):
    """ONNX Slice clamping for one axis of size d: (effective start, output length)."""
    start, end = start + d if start < 0 else start, end + d if end < 0 else end
    if step > 0:
        start, end = min(max(start, 0), d), min(max(end, 0), d)
    else:
        start, end = min(max(start, 0), d - 1), min(max(end, -1), d - 1)
    return start, max(0, -(-(end - start) // step))


@register_op("Slice", pattern=INJECTIVE)
class Slice(DataMovement):
    """starts/ends/axes/steps are const inputs. A symbolic axis may only be taken whole."""

    def params(self, op, x_shape, starts, ends, axes, steps):
        """[(axis, start, end, step)] with axes normalized and the schema checked."""
        starts, ends = int_list(op, starts, "starts"), int_list(op, ends, "ends")
        axes = list(range(len(starts))) if axes is None else int_list(op, axes, "axes")
        steps = [1] * len(starts) if steps is None else int_list(op, steps, "steps")
        if not len(starts) == len(ends) == len(axes) == len(steps):
            raise ShapeError(f"{where(op)}: starts {starts}, ends {ends}, axes {axes} and steps {steps} must have "
                             f"the same length")
        if 0 in steps:
            raise ShapeError(f"{where(op)}: steps must be non-zero, received {steps}")
        return list(zip(axes_list(op, axes, len(x_shape)), starts, ends, steps))

    def infer(self, op, in_types, g):
        x = in_types[0]
        out = list(x.shape)
        for a, s, e, st in self.params(op, x.shape, *(const_input(op, in_types, g, i) for i in range(1, 5))):
            d = x.shape[a]
            if isinstance(d, str):
                if not (s == 0 and e >= WHOLE_END and st == 1):
                    raise ShapeError(f"{where(op)}: axis {a} of input {x} is symbolic ({d!r}); it can only be "
                                     f"sliced whole (start 0, end >= INT32_MAX, step 1), received start {s}, "
                                     f"end {e}, step {st}")
                continue
            out[a] = slice_range(s, e, st, d)[1]
        return [TensorType(x.dtype, tuple(out))]

    def reference(self, op, x, starts, ends, axes=None, steps=None):
        for a, s, e, st in self.params(op, x.shape, starts, ends, axes, steps):
            s, n = slice_range(s, e, st, x.shape[a])
            x = np.take(x, s + st * np.arange(n, dtype=np.int64), axis=a)
        return x.copy()

    def emit(self, k, op):
        b = k.b
        (X, x_t), (S, s_t), _, (A, a_t), (P, p_t) = slot_args(k, 5)
        y_t, r = k.out_types[0], x_t.rank
        dims = k.shape(x_t)
        start, step = [const(0)] * r, [const(1)] * r
        for j in range(s_t.shape[0]):  # the const's values, read at run time (see module docstring)
            ax = runtime_axis(k, A, a_t, j, r)
            st = const(1) if P is None else load_i64(k, P, const(j), p_t.dtype)
            d = dims[j] if A is None else dims[0]
            for a in range(1, r if A is not None else 0):  # the size of the run-time axis
                d = b.select(b.icmp_signed("==", ax, const(a)), dims[a], d)
            s = load_i64(k, S, const(j), s_t.dtype)
            s = b.select(b.icmp_signed("<", s, const(0)), b.add(s, d), s)
            hi = d if P is None else b.select(b.icmp_signed(">", st, const(0)), d, b.sub(d, const(1)))
            s = imax(b, const(0), imin(b, s, hi))
            start, step = per_axis(k, r, ax, s, start), per_axis(k, r, ax, st, step)
        xs = strides(k, x_t, r, [False] * r)
        ys = strides(k, y_t, r, [False] * r)
        base = dot(b, start, xs)
        eff = [imul(b, st, x) for st, x in zip(step, xs)]
        with loop_nest(b, k.shape(y_t), name="s") as idx:
            v = k.load(X, iadd(b, base, dot(b, idx, eff)), x_t.dtype)
            k.store(v, k.outputs[0], dot(b, idx, ys), y_t.dtype)
        b.ret_void()


@register_op("Pad", pattern=INJECTIVE)
class Pad(DataMovement):
    """Modes constant, edge and reflect; pads (and axes) are const inputs, negative pads crop."""

    def mode(self, op):
        m = op.attrs["mode"]
        m = m.decode() if isinstance(m, bytes) else m
        if m not in ("constant", "edge", "reflect"):
            raise UnsupportedOpError(f"{where(op)}: mode {m!r} is not supported; expected constant, edge or reflect")
        return m

    def pads(self, op, shape, pads, axes):
        """[(begin, end)] per axis of the input."""
        pads = int_list(op, pads, "pads")
        axes = list(range(len(shape))) if axes is None else axes_list(op, int_list(op, axes, "axes"), len(shape))
        if len(pads) != 2 * len(axes):
            raise ShapeError(f"{where(op)}: expected {2 * len(axes)} pads (begin and end for axes {axes}), "
                             f"received {len(pads)}: {pads}")
        out = [(0, 0)] * len(shape)
        for j, a in enumerate(axes):
            out[a] = (pads[j], pads[j + len(axes)])
        return out

    def infer(self, op, in_types, g):
        x, mode = in_types[0], self.mode(op)
        out = []
        pads = self.pads(op, x.shape, const_input(op, in_types, g, 1), const_input(op, in_types, g, 3))
        for a, (d, (p0, p1)) in enumerate(zip(x.shape, pads)):
            if isinstance(d, str):
                if p0 or p1:
                    raise ShapeError(f"{where(op)}: axis {a} of input {x} is symbolic ({d!r}) and cannot be "
                                     f"padded, received pads ({p0}, {p1})")
                out.append(d)
                continue
            kept = d + min(p0, 0) + min(p1, 0)  # negative pads crop first
            limit = {"constant": math.inf, "edge": math.inf if kept else 0, "reflect": max(kept - 1, 0)}[mode]
            if kept < 0 or max(p0, p1) > limit:
                raise ShapeError(f"{where(op)}: pads ({p0}, {p1}) on axis {a} of input {x} are invalid for mode "
                                 f"{mode!r}: expected at most {limit} (and no more cropping than the dim)")
            out.append(d + p0 + p1)
        return [TensorType(x.dtype, tuple(out))]

    def reference(self, op, x, pads, value=None, axes=None):
        pads = self.pads(op, x.shape, pads, axes)
        x = x[tuple(slice(max(-p0, 0), x.shape[a] - max(-p1, 0)) for a, (p0, p1) in enumerate(pads))]
        width = [(max(p0, 0), max(p1, 0)) for p0, p1 in pads]
        mode = self.mode(op)
        if mode == "constant":
            return np.pad(x, width, constant_values=np.asarray(0 if value is None else value).reshape(-1)[0])
        return np.pad(x, width, mode=mode)

    def emit(self, k, op):
        b, mode = k.b, self.mode(op)
        (X, x_t), (P, p_t), (V, _), (A, a_t) = slot_args(k, 4)
        y_t, r = k.out_types[0], x_t.rank
        begin = [const(0)] * r
        for j in range(p_t.shape[0] // 2):  # leading pads, read at run time (see module docstring)
            begin = per_axis(k, r, runtime_axis(k, A, a_t, j, r), load_i64(k, P, const(j), p_t.dtype), begin)
        dims = k.shape(x_t)
        xs = strides(k, x_t, r, [False] * r)
        ys = strides(k, y_t, r, [False] * r)
        fill = zero(y_t.dtype) if V is None else k.load(V, const(0), y_t.dtype)
        with loop_nest(b, k.shape(y_t), name="p") as idx:
            src, ok = [], ir.Constant(ir.IntType(1), 1)
            for o, p, d in zip(idx, begin, dims):
                i = b.sub(o, p)
                if mode == "constant":
                    ok = b.and_(ok, b.icmp_unsigned("<", i, d))
                elif mode == "edge":
                    i = imax(b, const(0), imin(b, i, b.sub(d, const(1))))
                else:  # reflect: one reflection (pads < dim, checked by infer)
                    i = b.select(b.icmp_signed("<", i, const(0)), b.neg(i), i)
                    i = b.select(b.icmp_signed(">=", i, d), b.sub(b.mul(b.sub(d, const(1)), const(2)), i), i)
                src.append(i)
            dst = dot(b, idx, ys)
            if mode == "constant":
                k.store(fill, k.outputs[0], dst, y_t.dtype)
                with b.if_then(ok):
                    k.store(k.load(X, dot(b, src, xs), x_t.dtype), k.outputs[0], dst, y_t.dtype)
            else:
                k.store(k.load(X, dot(b, src, xs), x_t.dtype), k.outputs[0], dst, y_t.dtype)
        b.ret_void()


def convert(b, v, src, dst):
    """Convert an LLVM scalar between graphc dtypes with numpy's astype semantics."""
    if src == dst:
        return v
    to = lltype(dst)
    fl = ("float32", "float64")
    if dst == "bool":  # nonzero (and NaN) is True
        zero_ = ir.Constant(v.type, 0)
        return b.zext(b.fcmp_unordered("!=", v, zero_) if src in fl else b.icmp_signed("!=", v, zero_), to)
    if src in fl and dst in fl:
        return b.fpext(v, to) if dst == "float64" else b.fptrunc(v, to)
    if src in fl:
        return b.fptosi(v, to)  # truncates toward zero; NaN/out-of-range values are unspecified
    if dst in fl:
        return b.uitofp(v, to) if src == "bool" else b.sitofp(v, to)
    if v.type.width < to.width:
        return b.zext(v, to) if src == "bool" else b.sext(v, to)
    return b.trunc(v, to)


@register_op("Cast", pattern=INJECTIVE)
class Cast(DataMovement):
    def to(self, op):
        return dtype_name(op.attrs["to"])

    def infer(self, op, in_types, g):
        return [TensorType(self.to(op), in_types[0].shape)]

    def reference(self, op, x):
        return x.astype(np_dtype(self.to(op)))

    def emit(self, k, op):
        x_t, y_t = k.in_types[0], k.out_types[0]
        with for_range(k.b, k.numel(x_t), name="c") as i:
            v = convert(k.b, k.load(k.inputs[0], i, x_t.dtype), x_t.dtype, y_t.dtype)
            k.store(v, k.outputs[0], i, y_t.dtype)
        k.b.ret_void()


@register_op("Shape", pattern=INJECTIVE)
class Shape(DataMovement):
    """The input's dims as int64; symbolic dims are written by the kernel at run time."""

    def axes(self, op, rank):
        start, end = op.attrs["start"], op.attrs["end"]
        return list(range(rank))[slice(start, end)]

    def infer(self, op, in_types, g):
        return [TensorType("int64", (len(self.axes(op, in_types[0].rank)),))]

    def reference(self, op, x):
        return np.array([x.shape[a] for a in self.axes(op, x.ndim)], dtype=np.int64)

    def fold_from_types(self, op, in_types):
        dims = [in_types[0].shape[a] for a in self.axes(op, in_types[0].rank)]
        return None if any(isinstance(d, str) for d in dims) else np.array(dims, dtype=np.int64)

    def emit(self, k, op):
        x_t = k.in_types[0]
        for j, a in enumerate(self.axes(op, x_t.rank)):
            k.store(k.dim(x_t, a), k.outputs[0], const(j), "int64")
        k.b.ret_void()


def tensor_attr(v, default=None):
    """A TENSOR attribute as a numpy array (held as a TensorProto so the graph text shows the data)."""
    if v is None:
        return default
    return onnx.numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else np.asarray(v)


def as_tensor_proto(attrs, name):
    v = attrs.get(name)
    if isinstance(v, (np.ndarray, np.generic)):
        attrs = {**attrs, name: onnx.numpy_helper.from_array(np.asarray(v))}
    return attrs


class ConstantData(DataMovement):
    """Constant-like ops. A TENSOR ``value`` given as an array is stored as a TensorProto: the
    graph text (the kernel and disk cache key) then holds its data, not only its shape."""

    def full_attrs(self, attrs):
        return super().full_attrs(as_tensor_proto(attrs, "value"))


@register_op("Constant", pattern=INJECTIVE)
class Constant(ConstantData):
    """Constant folding removes it; the kernel copies the value from a global of the module."""

    def value(self, op):
        set_ = {k: v for k, v in op.attrs.items() if v is not None}
        if len(set_) != 1:
            raise ShapeError(f"{where(op)}: exactly one value attribute must be set, received {sorted(set_)}")
        (name, v), = set_.items()
        if name == "value":
            return tensor_attr(v)
        if name in ("value_float", "value_floats"):
            return np.asarray(v, dtype=np.float32)
        if name in ("value_int", "value_ints"):
            return np.asarray(v, dtype=np.int64)
        raise UnsupportedOpError(f"{where(op)}: attribute {name!r} is not supported (numeric tensors only)")

    def infer(self, op, in_types, g):
        v = self.value(op)
        return [TensorType(dtype_name(v.dtype), v.shape)]

    def reference(self, op):
        return self.value(op).copy()

    def fold_from_types(self, op, in_types):
        return self.value(op).copy()

    def emit(self, k, op):
        y_t = k.out_types[0]
        data = np.ascontiguousarray(self.value(op), dtype=np_dtype(y_t.dtype))
        typ = ir.ArrayType(ir.IntType(8), data.nbytes)
        gv = ir.GlobalVariable(k.module, typ, f"{k.fn.name}.value")
        gv.initializer = ir.Constant(typ, bytearray(data.tobytes()))
        gv.global_constant, gv.linkage, gv.align = True, "internal", 16
        with for_range(k.b, const(data.size), name="c") as i:
            k.store(k.load(gv, i, y_t.dtype), k.outputs[0], i, y_t.dtype)
        k.b.ret_void()


@register_op("ConstantOfShape", pattern=INJECTIVE)
class ConstantOfShape(ConstantData):
    """Shape input 0 is a const (so constant folding removes the op); value defaults to 0.0f."""

    def value(self, op):
        return tensor_attr(op.attrs["value"], np.zeros(1, np.float32)).reshape(-1)[:1]

    def infer(self, op, in_types, g):
        shape = shape_input(op, in_types, g, 0)
        if None in shape:
            raise ShapeError(f"{where(op)}: the shape {shape} has entries unknown at compile time (None)")
        if any(isinstance(d, int) and d < 0 for d in shape):
            raise ShapeError(f"{where(op)}: shape {shape} has a negative dim")
        return [TensorType(dtype_name(self.value(op).dtype), tuple(shape))]

    def reference(self, op, shape):
        v = self.value(op)
        return np.full([int(d) for d in shape], v[0], dtype=v.dtype)

    def emit(self, k, op):
        y_t = k.out_types[0]
        v = self.value(op)[0]
        c = ir.Constant(lltype(y_t.dtype), float(v) if y_t.dtype.startswith("float") else int(v))
        with for_range(k.b, k.numel(y_t), name="c") as i:
            k.store(c, k.outputs[0], i, y_t.dtype)
        k.b.ret_void()


# --- gradient rules ----------------------------------------------------------------------
def reshape_like(ctx, v, like):
    """``v``'s elements in ``like``'s shape: ONNX Reshape with a const shape when that shape can be
    written down (static, or a symbolic leading dim copied with 0), else graphc.ReshapeAs."""
    shape, vt = ctx.type(like).shape, ctx.type(v)
    if vt.shape == shape:
        return v
    syms = [a for a, d in enumerate(shape) if isinstance(d, str)]
    if 0 not in shape and (not syms or (syms == [0] and vt.rank and vt.shape[0] == shape[0]
                                        and split_dims(vt.shape)[1] == split_dims(shape)[1])):
        return ctx.emit("Reshape", [v, ctx.ints([0 if isinstance(d, str) else d for d in shape])])
    return ctx.emit("ReshapeAs", [v, like], domain="graphc")


def _const_inputs(ctx, first, last):
    return [None if i >= len(ctx.inputs) or ctx.inputs[i] is None else
            const_value(ctx.g, ctx.inputs[i], f"{where(ctx.op)} input {i}") for i in range(first, last)]


def _grad_reshape(ctx, op, dys):  # Reshape, Flatten, Squeeze, Unsqueeze
    return [reshape_like(ctx, dys[0], ctx.inputs[0])]


def _grad_transpose(ctx, op, dys):
    perm = get("Transpose").perm(op, ctx.type(ctx.inputs[0]).rank)
    return [ctx.emit("Transpose", [dys[0]], perm=[int(a) for a in np.argsort(perm)])]


def _grad_concat(ctx, op, dys):
    """Each input's gradient is its slab of dY along the axis (static offsets). A symbolic total
    (N + 0 + ...) goes whole to the one symbolic input."""
    dy, dy_t = dys[0], ctx.type(dys[0])
    axis = norm_axis(op.attrs["axis"], dy_t.rank)
    out, off = [], 0
    for x, need in zip(ctx.inputs, ctx.needs):
        d = ctx.type(x).shape[axis]
        if isinstance(dy_t.shape[axis], str):
            out.append(dy if need and isinstance(d, str) else None)
            continue
        out.append(ctx.emit("Slice", [dy, ctx.ints([off]), ctx.ints([off + d]), ctx.ints([axis])]) if need else None)
        off += d
    return out


def _grad_slice(ctx, op, dys):
    x_t = ctx.type(ctx.inputs[0])
    starts, steps = [0] * x_t.rank, [1] * x_t.rank
    for a, s, e, st in get("Slice").params(op, x_t.shape, *_const_inputs(ctx, 1, 5)):
        if not isinstance(x_t.shape[a], str):  # symbolic axes are taken whole
            starts[a], steps[a] = slice_range(s, e, st, x_t.shape[a])[0], st
    return [ctx.emit("SliceGrad", [dys[0], ctx.inputs[0]], domain="graphc", starts=starts, steps=steps)]


def _grad_pad(ctx, op, dys):
    """constant: Pad(dY, -pads) crops the padding (and zero-fills what the forward cropped);
    edge/reflect: graphc.PadGrad adds each replicated position back to its source."""
    refuse_grad(ctx, (2,), "Pad's constant value is treated as a constant")
    x, mode = ctx.inputs[0], get("Pad").mode(op)
    pads, axes = _const_inputs(ctx, 1, 2)[0], _const_inputs(ctx, 3, 4)[0]
    pads = get("Pad").pads(op, ctx.type(x).shape, pads, axes)
    if mode == "constant":
        return [ctx.emit("Pad", [dys[0], ctx.ints([-p for p, _ in pads] + [-p for _, p in pads])])]
    return [ctx.emit("PadGrad", [dys[0], x], domain="graphc", mode=mode, begin=[p for p, _ in pads])]


def _grad_gather(ctx, op, dys):
    axis = norm_axis(op.attrs["axis"], ctx.type(ctx.inputs[0]).rank)
    return [ctx.emit("GatherGrad", [dys[0], ctx.inputs[1], ctx.inputs[0]], domain="graphc", axis=axis)]


def _grad_cast(ctx, op, dys):
    x_t, dy = ctx.type(ctx.inputs[0]), dys[0]
    return [dy if ctx.type(dy).dtype == x_t.dtype else ctx.emit("Cast", [dy], to=onnx_dtype(x_t.dtype))]


for _cls, _rule in ((Reshape, _grad_reshape), (Flatten, _grad_reshape), (Squeeze, _grad_reshape),
                    (Unsqueeze, _grad_reshape), (Transpose, _grad_transpose), (Concat, _grad_concat),
                    (Slice, _grad_slice), (Pad, _grad_pad), (Gather, _grad_gather), (Cast, _grad_cast),
                    (Expand, lambda ctx, op, dys: [ctx.unbroadcast(dys[0], ctx.inputs[0])]),
                    (Dropout, lambda ctx, op, dys: [dys[0]])):
    _cls.grad = staticmethod(_rule)
