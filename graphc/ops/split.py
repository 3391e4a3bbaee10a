"""Split (opset 18): input 0 cut along ``axis`` into the outputs, by the const ``split`` sizes
(input 1) or into ``num_outputs`` parts of ceil(d / n) elements (the last one smaller); without
either, into equal parts, one per output.

The split axis must be static. The kernel copies each output's slab (the transpose of Concat's
loop); the gradient is the Concat of the outputs' gradients, zeros for outputs that do not reach
the loss.
"""
from __future__ import annotations

import numpy as np

from ..codegen.loops import const, iadd, imul, loop_nest
from ..errors import ShapeError
from ..ir import TensorType
from .common import norm_axis
from .registry import INJECTIVE, register_op
from .shape import DataMovement, const_input, int_list, where


@register_op("Split", pattern=INJECTIVE)
class Split(DataMovement):
    def sizes(self, op, shape, split, n_out):
        axis = norm_axis(op.attrs["axis"], len(shape), where(op))
        d = shape[axis]
        if isinstance(d, str):
            raise ShapeError(f"{where(op)}: the split axis {axis} of input shape {tuple(shape)} is symbolic ({d!r}); "
                             f"graphc splits static axes only")
        n = op.attrs.get("num_outputs")
        if split is not None:
            sizes = int_list(op, split, "split")
            if n is not None:
                raise ShapeError(f"{where(op)}: give either the split input or num_outputs, not both")
        else:
            n = n or n_out
            if n is None:
                raise ShapeError(f"{where(op)}: give the split sizes (input 1) or num_outputs")
            if n < 1 or n > max(d, 1):
                raise ShapeError(f"{where(op)}: cannot split an axis of size {d} into {n} parts")
            chunk = -(-d // n)
            sizes = [min(chunk, d - i * chunk) for i in range(n)]
            if op.attrs.get("num_outputs") is None and d % n:
                raise ShapeError(f"{where(op)}: axis {axis} of size {d} does not split into {n} equal parts; "
                                 f"give split sizes or num_outputs")
        if len(sizes) != n_out or sum(sizes) != d or min(sizes, default=0) < 0:
            raise ShapeError(f"{where(op)}: split sizes {sizes} must be {n_out} non-negative sizes summing to "
                             f"the axis size {d} (input shape {tuple(shape)}, axis {axis})")
        return axis, sizes

    def infer(self, op, in_types, g):
        x = in_types[0]
        n_out = len(g.op_outputs(op)) if g is not None else op.attrs.get("num_outputs")
        axis, sizes = self.sizes(op, x.shape, const_input(op, in_types, g, 1), n_out)
        return [TensorType(x.dtype, x.shape[:axis] + (s,) + x.shape[axis + 1:]) for s in sizes]

    def reference(self, op, x, split=None):
        n_out = op.attrs.get("num_outputs") or (len(split) if split is not None else None)
        axis, sizes = self.sizes(op, x.shape, split, n_out)
        return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))

    def emit(self, k, op):
        b, x_t = k.b, k.in_types[0]
        axis = norm_axis(op.attrs["axis"], x_t.rank)
        outer, after = k.numel(x_t, 0, axis), k.numel(x_t, axis + 1)
        row = imul(b, k.dim(x_t, axis), after)
        off = const(0)
        for p, t in zip(k.outputs, k.out_types):
            chunk = imul(b, k.dim(t, axis), after)
            with loop_nest(b, [outer, chunk], name="split") as (o, j):
                v = k.load(k.inputs[0], iadd(b, iadd(b, imul(b, o, row), off), j), t.dtype)
                k.store(v, p, iadd(b, imul(b, o, chunk), j), t.dtype)
            off = iadd(b, off, chunk)
        b.ret_void()

    @staticmethod
    def grad(ctx, op, dys):
        axis = norm_axis(op.attrs["axis"], ctx.type(ctx.inputs[0]).rank)
        dtype = ctx.type(ctx.inputs[0]).dtype
        parts = [dy if dy is not None else
                 ctx.emit("ExpandAs", [ctx.const(np.zeros((), dtype=dtype)), y], domain="graphc")
                 for dy, y in zip(dys, ctx.outputs)]
        return [ctx.emit("Concat", parts, axis=axis)] + [None] * (len(ctx.inputs) - 1)
