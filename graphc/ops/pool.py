"""Pooling: MaxPool, AveragePool (windowed, 1-3 spatial axes), GlobalAveragePool, GlobalMaxPool.

Windowed pools fold only the in-bounds elements of each window (bounds computed per output
position), so padding never needs a sentinel value; AveragePool divides by the number of
in-bounds elements (``count_include_pad=0``, Keras 'same') or by the number of elements inside
the padded input (``count_include_pad=1``; windows that ceil_mode pushes past the end
padding count only up to it, as in PyTorch and onnxruntime). Max pools skip NaN inputs, as
onnx.reference's MaxPool does (a window of NaNs gives -inf).

Training: MaxPool's gradient is the graphc-domain MaxPoolGrad(X, dY), which recomputes each
window's argmax (the first element equal to the maximum; no indices tensor is stored) and
scatters dY there, branch-free; AveragePool's is AveragePoolGrad(dY, like=X), which spreads
dY / count over each window. Both run in one pass over the windows with the forward's
border/interior split. GlobalAveragePool's gradient is a broadcast times 1/count;
GlobalMaxPool's is MaxPoolGrad with a whole-input window.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..codegen.kernels.conv import emit_row_reduce, emit_window_backward, emit_window_reduce
from ..codegen.loops import imul
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

    def fusable_window(self, op, x):
        """(ph, pw) when this is a 2-D max pool of non-overlapping windows (strides = kernel, no
        padding or dilation, floor) that a producer may compute in its own kernel
        (passes/fuse_pool), else None."""
        a = op.attrs
        ks = tuple(a["kernel_shape"] or ())
        if x.rank != 4 or len(ks) != 2 or a["ceil_mode"] or a["storage_order"]:
            return None
        geo = _geometry(op, x)
        if geo.strides != ks or any(geo.pads_begin) or any(geo.pads_end) or any(d != 1 for d in geo.dilations):
            return None
        return ks

    def emit(self, k, op):
        if len(k.out_types) > 1:
            raise UnsupportedOpError(f"op {op.name!r} (MaxPool): the Indices output is not supported")
        emit_window_reduce(k, _geometry(op, k.in_types[0]), k.out_types[0].dtype, -math.inf,
                           lambda s, acc, v: s.max(acc, v), lambda s, acc, n: acc)
        k.b.ret_void()

    def grad(self, ctx, op, dys):
        return [ctx.emit("MaxPoolGrad", [ctx.inputs[0], dys[0]], domain=DOMAIN, **_pool_attrs(op, MaxPoolGrad))]


@register_op("AveragePool", pattern=OUT_EWISE_FUSABLE)
class AveragePool(_Pool):
    kind = "avg"

    def emit(self, k, op):
        emit_window_reduce(k, _geometry(op, k.in_types[0]), k.out_types[0].dtype, 0.0,
                           lambda s, acc, v: s.add(acc, v), lambda s, acc, n: s.div(acc, k.b.sitofp(n, s.ty)),
                           count="padded" if op.attrs["count_include_pad"] else "valid")
        k.b.ret_void()

    def grad(self, ctx, op, dys):
        return [ctx.emit("AveragePoolGrad", [dys[0], ctx.inputs[0]], domain=DOMAIN,
                         **_pool_attrs(op, AveragePoolGrad))]


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

    def grad(self, ctx, op, dys):
        """dX = broadcast(dY) * numel(dY) / numel(X), i.e. dY / (spatial size), sizes read at run time."""
        x = ctx.inputs[0]
        ratio = ctx.emit("SizeRatio", [dys[0], x], domain=DOMAIN)
        return [ctx.emit("Mul", [ctx.emit("ExpandAs", [dys[0], x], domain=DOMAIN), ratio])]


@register_op("GlobalMaxPool", pattern=OUT_EWISE_FUSABLE)
class GlobalMaxPool(_GlobalPool):
    def reference(self, op, x):
        return np.fmax.reduce(x, axis=tuple(range(2, x.ndim)), keepdims=True, initial=-np.inf)

    def emit(self, k, op):
        emit_row_reduce(k, k.out_types[0].dtype, -math.inf, lambda s, acc, v: s.max(acc, v), lambda s, acc, n: acc)
        k.b.ret_void()

    def grad(self, ctx, op, dys):
        """MaxPoolGrad with one window covering the whole (static) spatial extent."""
        x = ctx.type(ctx.inputs[0])
        if not all(isinstance(d, int) for d in x.shape[2:]):
            raise UnsupportedOpError(f"op {op.name!r} (GlobalMaxPool): the gradient needs static spatial dims, "
                                     f"received input {x}")
        return [ctx.emit("MaxPoolGrad", [ctx.inputs[0], dys[0]], domain=DOMAIN, kernel_shape=list(x.shape[2:]))]


# --- backward kernels (graphc domain) -----------------------------------------------------------
DOMAIN = "graphc"
_WINDOW_ATTRS = {"auto_pad": "NOTSET", "ceil_mode": 0, "dilations": None, "kernel_shape": None, "pads": None,
                 "strides": None}


def _pool_attrs(op, grad_cls):
    return {k: op.attrs.get(k, v) for k, v in grad_cls.attr_defaults.items()}


def _check_window_input(op, x, dy, geo):
    want = x.shape[:2] + geo.out
    if dy.dtype != x.dtype or dy.shape != want:
        raise ShapeError(f"op {op.name!r} ({op.op_type}): dY expected {x.dtype}[{','.join(map(str, want))}] (the "
                         f"forward output for input {x}), received {dy}")


def pool_grad_reference(x, dy, geo, kind, count_include_pad=False):
    """numpy input gradient of :func:`pool_reference` (first element equal to the maximum for max pools)."""
    pos = [geo.positions(d) for d in range(geo.rank)]
    dx = np.zeros(x.shape[:2] + tuple(geo.inp))
    nc = int(np.prod(x.shape[:2]))
    xr = x.reshape((nc,) + tuple(geo.inp)).astype(np.float64)
    dxr = dx.reshape((nc,) + tuple(geo.inp))
    dyr = dy.reshape((nc,) + tuple(geo.out)).astype(np.float64)
    for o in itertools.product(*map(range, geo.out)):
        idx = [p[oi] for p, oi in zip(pos, o)]
        valid = [(i >= 0) & (i < n) for i, n in zip(idx, geo.inp)]
        win = [i[v] for i, v in zip(idx, valid)]
        if any(w.size == 0 for w in win):
            continue
        sel = (slice(None),) + np.ix_(*win)
        g = dyr[(slice(None),) + o]
        if kind == "max":
            vals = xr[sel].reshape(nc, -1)
            finite = np.where(np.isnan(vals), -np.inf, vals)
            arg = np.argmax(finite, axis=1)
            flat = dxr[sel].reshape(nc, -1)
            flat[np.arange(nc), arg] += np.where(np.isnan(vals).all(axis=1), 0.0, g)  # all-NaN: no gradient
            dxr[sel] = flat.reshape(dxr[sel].shape)
        else:
            if count_include_pad:
                inside = [((i >= -pb) & (i < n + pe)).sum() for i, n, pb, pe in
                          zip(idx, geo.inp, geo.pads_begin, geo.pads_end)]
                count = math.prod(int(c) for c in inside)
            else:
                count = math.prod(w.size for w in win)
            dxr[sel] += (g / count).reshape((nc,) + (1,) * geo.rank)
    return dx.astype(x.dtype)


class _PoolGrad(OpDef):
    """The pools' input gradients take an elementwise epilogue (passes/fuse_epilogue): the gradient
    of the activation below (``ReluGrad(dX, y)``) runs on each finished channel row while it is in
    cache, instead of as another pass over the layer's largest tensor."""
    epilogue_view = "channels"

    def epilogue_ok(self, op, in_types, out_type):
        return out_type.rank >= 3 and isinstance(out_type.shape[1], int)


@register_op("MaxPoolGrad", pattern=OUT_EWISE_FUSABLE, domain=DOMAIN, schema=False)
class MaxPoolGrad(_PoolGrad):
    """MaxPoolGrad(X, dY) -> dX: dY routed to each window's first maximum (MaxPool's attributes)."""
    num_inputs = (2, 2)
    attr_defaults = {**_WINDOW_ATTRS, "storage_order": 0}

    def infer(self, op, in_types, g):
        x, dy = in_types
        _check_window_input(op, x, dy, _geometry(op, x))
        return [x]

    def reference(self, op, x, dy):
        return pool_grad_reference(x, dy, _geometry(op, TensorType(x.dtype, x.shape)), "max")

    def emit(self, k, op, epilogue=None, n_in=None):
        x_t = k.in_types[0]
        X, dY = k.inputs[:2]
        emit_window_backward(k, _geometry(op, x_t), x_t.dtype, "max", X, dY, k.outputs[0],
                             imul(k.b, k.dim(x_t, 0), k.dim(x_t, 1)), epilogue=epilogue, channels=x_t.shape[1])
        k.b.ret_void()


@register_op("AveragePoolGrad", pattern=OUT_EWISE_FUSABLE, domain=DOMAIN, schema=False)
class AveragePoolGrad(_PoolGrad):
    """AveragePoolGrad(dY, like) -> dX of like's type (AveragePool's attributes; like is not read)."""
    num_inputs = (2, 2)
    attr_defaults = {**_WINDOW_ATTRS, "count_include_pad": 0}

    def infer(self, op, in_types, g):
        dy, x = in_types
        _check_window_input(op, x, dy, _geometry(op, x))
        return [x]

    def reference(self, op, dy, x):
        return pool_grad_reference(x, dy, _geometry(op, TensorType(x.dtype, x.shape)), "avg",
                                   bool(op.attrs["count_include_pad"]))

    def emit(self, k, op, epilogue=None, n_in=None):
        x_t = k.in_types[1]
        dY = k.inputs[0]
        emit_window_backward(k, _geometry(op, x_t), x_t.dtype, "avg", None, dY, k.outputs[0],
                             imul(k.b, k.dim(x_t, 0), k.dim(x_t, 1)),
                             count="padded" if op.attrs["count_include_pad"] else "valid", epilogue=epilogue,
                             channels=x_t.shape[1])
        k.b.ret_void()
