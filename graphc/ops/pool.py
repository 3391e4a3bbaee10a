"""Pooling: MaxPool, AveragePool (windowed, 1-3 spatial axes), GlobalAveragePool, GlobalMaxPool.

Windowed pools fold only the in-bounds elements of each window (bounds computed per output
position), so padding never needs a sentinel value; AveragePool divides by the number of
in-bounds elements (``count_include_pad=0``, Keras 'same') or by the number of elements inside
the padded input (``count_include_pad=1``; windows that ceil_mode pushes past the end
padding count only up to it, as in PyTorch and onnxruntime). Max pools skip NaN inputs, as
onnx.reference's MaxPool does (a window of NaNs gives -inf).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..codegen.kernels.conv import emit_row_reduce, emit_window_reduce
from ..errors import ShapeError, UnsupportedOpError
from ..ir import TensorType
from .conv import window_geometry
from .registry import OUT_EWISE_FUSABLE, OpDef, register_op


def _geometry(op, x):
    geo = window_geometry(op, x, op.attrs["kernel_shape"], ceil_mode=bool(op.attrs["ceil_mode"]))
    if op.attrs["auto_pad"] == "NOTSET":
        for d in range(geo.rank):
            if max(geo.pads_begin[d], geo.pads_end[d]) >= geo.span(d):
                raise ShapeError(f"op {op.name!r} ({op.op_type}): pads {list(op.attrs['pads'])} must be smaller "
                                 f"than the window extent {geo.span(d)} along spatial axis {d}")
    return geo


def _single_output(op, g):
    if g is not None and len(g.op_outputs(op)) > 1:
        raise UnsupportedOpError(f"op {op.name!r} ({op.op_type}): the Indices output is not supported; "
                                 f"expected 1 output, received {len(g.op_outputs(op))}")


def pool_reference(x, geo, kind, count_include_pad=False):
    """numpy pooling over the in-bounds elements of each window (see the module docstring)."""
    pos = [geo.positions(d) for d in range(geo.rank)]
    valid = [(p >= 0) & (p < n) for p, n in zip(pos, geo.inp)]
    inside = [p < n + pe for p, n, pe in zip(pos, geo.inp, geo.pads_end)]  # positions >= -pb always
    acc = np.full(x.shape[:2] + geo.out, -np.inf if kind == "max" else 0.0)
    count = np.zeros(geo.out)
    for js in itertools.product(*map(range, geo.kernel)):
        idx = np.ix_(*[np.clip(p[:, j], 0, n - 1) for p, j, n in zip(pos, js, geo.inp)])
        v = x[(slice(None), slice(None)) + idx].astype(np.float64)
        mask = np.ones(geo.out, bool)
        cnt = np.ones(geo.out, bool)
        for d, j in enumerate(js):
            shape = [1] * geo.rank
            shape[d] = -1
            mask = mask & valid[d][:, j].reshape(shape)
            cnt = cnt & (inside if count_include_pad else valid)[d][:, j].reshape(shape)
        if kind == "max":
            acc = np.where(mask, np.fmax(acc, v), acc)
        else:
            acc = acc + np.where(mask, v, 0.0)
            count = count + cnt
    return (acc if kind == "max" else acc / count).astype(x.dtype)


class _Pool(OpDef):
    kind = "max"

    def infer(self, op, in_types, g):
        _single_output(op, g)
        x = in_types[0]
        geo = _geometry(op, x)
        return [TensorType(x.dtype, x.shape[:2] + geo.out)]

    def reference(self, op, x):
        geo = _geometry(op, TensorType(x.dtype, x.shape))
        return pool_reference(x, geo, self.kind, bool(op.attrs.get("count_include_pad")))


@register_op("MaxPool", pattern=OUT_EWISE_FUSABLE)
class MaxPool(_Pool):
    kind = "max"

    def emit(self, k, op):
        if len(k.out_types) > 1:
            raise UnsupportedOpError(f"op {op.name!r} (MaxPool): the Indices output is not supported")
        emit_window_reduce(k, _geometry(op, k.in_types[0]), k.out_types[0].dtype, -math.inf,
                           lambda s, acc, v: s.max(acc, v), lambda s, acc, n: acc)
        k.b.ret_void()


@register_op("AveragePool", pattern=OUT_EWISE_FUSABLE)
class AveragePool(_Pool):
    kind = "avg"

    def emit(self, k, op):
        emit_window_reduce(k, _geometry(op, k.in_types[0]), k.out_types[0].dtype, 0.0,
                           lambda s, acc, v: s.add(acc, v), lambda s, acc, n: s.div(acc, k.b.sitofp(n, s.ty)),
                           count="padded" if op.attrs["count_include_pad"] else "valid")
        k.b.ret_void()


class _GlobalPool(OpDef):
    def infer(self, op, in_types, g):
        x = in_types[0]
        if x.rank < 3:
            raise ShapeError(f"op {op.name!r} ({op.op_type}): input expected rank >= 3 (N, C, spatial...), "
                             f"received {x}")
        return [TensorType(x.dtype, x.shape[:2] + (1,) * (x.rank - 2))]


@register_op("GlobalAveragePool", pattern=OUT_EWISE_FUSABLE)
class GlobalAveragePool(_GlobalPool):
    def reference(self, op, x):
        return x.astype(np.float64).mean(axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype)

    def emit(self, k, op):
        b = k.b
        emit_row_reduce(k, k.out_types[0].dtype, 0.0, lambda s, acc, v: s.add(acc, v),
                        lambda s, acc, n: s.div(acc, b.sitofp(n, s.ty)))
        b.ret_void()


@register_op("GlobalMaxPool", pattern=OUT_EWISE_FUSABLE)
class GlobalMaxPool(_GlobalPool):
    def reference(self, op, x):
        return np.fmax.reduce(x, axis=tuple(range(2, x.ndim)), keepdims=True, initial=-np.inf)

    def emit(self, k, op):
        emit_row_reduce(k, k.out_types[0].dtype, -math.inf, lambda s, acc, v: s.max(acc, v), lambda s, acc, n: acc)
        k.b.ret_void()
