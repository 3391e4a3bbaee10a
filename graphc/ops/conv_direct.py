"""graphc.DirectConv: a 2-D convolution computed without im2col, optionally followed by a max pool.

``DirectConv(X (N, C, H, W), Wk (KH, KW, C, M), B (M,)?)`` equals ``Conv(X, W, B)`` with
``Wk = Transpose(W, perm=[2, 3, 1, 0])`` (a Keras kernel's own layout: a Keras model's weight
Transposes compose to nothing); attributes are Conv's (group 1, no padding) plus ``pool``:
None, or ``[ph, pw]`` for a fused ``MaxPool(kernel_shape=strides=[ph, pw])`` (floor, no pads)
of the result. With an epilogue (graphc.WithEpilogue) the pool applies to the epilogue's
result: ``pool(body(conv(x)))``.

Made by ``Conv.decompose`` (passes/decompose, every compiled graph; the exported ONNX keeps Conv)
for 2-D, group-1 convolutions without padding that are not pointwise; the pool is folded in by
passes/fuse_pool when the convolution's result has no other reader. The kernel is
codegen/kernels/conv_direct.py. Gradients are not needed: decompose runs after autodiff.
"""
from __future__ import annotations

import math

import numpy as np

from ..codegen.kernels.conv_direct import emit_direct_conv, tile_rows
from ..errors import ShapeError
from ..ir import TensorType
from .conv import conv_reference, window_geometry
from .pool import pool_reference
from .registry import OUT_EWISE_FUSABLE, OpDef, register_op

DOMAIN = "graphc"
_ATTRS = {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None, "pads": None,
          "strides": None, "pool": None}


def direct_geometry(op, x, kernel_hw, static=(), padded=False):
    """The window geometry of ``op`` (a convolution's attributes) on X type ``x`` when the direct kernels
    can run it: 2-D, group 1, float, no padding (unless ``padded``), X's channels and spatial dims and
    the dims ``static`` known; else None. (The decompose rules of DirectConv, its input gradient and
    DirectConvGradWeight.)"""
    if x.rank != 4 or op.attrs["group"] != 1 or x.dtype not in ("float32", "float64"):
        return None
    if not all(isinstance(d, int) for d in tuple(x.shape[1:]) + tuple(static)):
        return None
    geo = window_geometry(op, x, kernel_hw)
    return None if not padded and (any(geo.pads_begin) or any(geo.pads_end)) else geo


def checked_geometry(op, where, x, other, other_layout, static, kernel_hw):
    """The window geometry for a direct kernel's op, or a ShapeError naming what was expected: X and
    ``other`` (laid out as ``other_layout``) of rank 4, the dims ``static`` known, group 1, no padding."""
    if x.rank != 4 or other.rank != 4:
        raise ShapeError(f"{where}: X expected (N, C, H, W) and {other_layout}, received {x} and {other}")
    if not all(isinstance(d, int) for d in static):
        raise ShapeError(f"{where}: X's channels and spatial dims and {other_layout.split()[0]} must be static, "
                         f"received {x}, {other}")
    geo = window_geometry(op, x, kernel_hw)
    if any(geo.pads_begin) or any(geo.pads_end) or op.attrs["group"] != 1:
        raise ShapeError(f"{where}: group must be 1 and padding is not supported, received {op.attrs}")
    return geo


def direct_eligible(op, x, w):
    """Whether Conv ``op`` on X type ``x`` with W type ``w`` runs as DirectConv."""
    geo = direct_geometry(op, x, w.shape[2:])
    # pointwise: a plain GEMM
    return geo is not None and not all(k == 1 and s == 1 for k, s in zip(geo.kernel, geo.strides))


def pool_geometry(out_hw, pool):
    return tuple(o // p for o, p in zip(out_hw, pool))


@register_op("DirectConv", pattern=OUT_EWISE_FUSABLE, domain=DOMAIN, schema=False)
class DirectConv(OpDef):
    num_inputs = (2, 3)
    attr_defaults = dict(_ATTRS)

    def _geo(self, op, x, wk):
        where = f"op {op.name!r} (DirectConv)"
        geo = checked_geometry(op, where, x, wk, "Wk (KH, KW, C, M)", tuple(x.shape[1:]) + tuple(wk.shape), wk.shape[:2])
        if x.shape[1] != wk.shape[2]:
            raise ShapeError(f"{where}: X channels expected Wk.shape[2] = {wk.shape[2]}, received X {x} and Wk {wk}")
        return geo

    def _pool(self, op, geo):
        pool = op.attrs["pool"]
        if pool is None:
            return None
        pool = tuple(int(p) for p in pool)
        if len(pool) != 2 or min(pool) < 1 or any(o < p for o, p in zip(geo.out, pool)):
            raise ShapeError(f"op {op.name!r} (DirectConv): pool {list(pool)} does not fit the output {geo.out}")
        return pool

    def infer(self, op, in_types, g):
        x, wk = in_types[0], in_types[1]
        bias = in_types[2] if len(in_types) > 2 else None
        if x.dtype != wk.dtype or (bias is not None and bias.dtype != x.dtype):
            raise ShapeError(f"op {op.name!r} (DirectConv): X, Wk and B must share a dtype, received {x}, {wk}, {bias}")
        geo = self._geo(op, x, wk)
        m = wk.shape[3]
        if bias is not None and bias.shape != (m,):
            raise ShapeError(f"op {op.name!r} (DirectConv): B expected shape ({m},), received {bias}")
        pool = self._pool(op, geo)
        out = geo.out if pool is None else pool_geometry(geo.out, pool)
        return [TensorType(x.dtype, (x.shape[0], m) + tuple(out))]

    channel_axis = 1
    epilogue_view = "channels"

    def epilogue_ok(self, op, in_types, out_type):
        return op.attrs["pool"] is None  # a pool is folded in after the epilogue, never before it

    def split_pool(self, op):
        """(the op without its pool, the pool as a numpy function or None): how a fused epilogue
        goes between the two (graphc.WithEpilogue's reference)."""
        pool = op.attrs["pool"]
        if pool is None:
            return op, None
        from ..ir import Op
        plain = Op(op.name, op.op_type, {**op.attrs, "pool": None}, op.domain)

        def apply(y):
            from .conv import Window
            geo = Window(y.shape[2:], tuple(pool), tuple(pool), (1, 1), (0, 0), (0, 0),
                         pool_geometry(y.shape[2:], pool))
            return pool_reference(y, geo, "max")
        return plain, apply

    def with_pool(self, op, pool, in_types):
        """The attributes with a fused ``pool`` (ph, pw), or None when the tile cannot hold a window."""
        if op.attrs["pool"] is not None or pool[0] * pool[1] > tile_rows(1, in_types[0].dtype):
            return None
        geo = self._geo(op, in_types[0], in_types[1])
        if any(o < p for o, p in zip(geo.out, pool)):
            return None
        return {**op.attrs, "pool": list(pool)}

    def affine_output(self, b, op, ins, scale, shift):
        """conv(x, Wk, B) * s + t == conv(x, Wk * s, B * s + t) (s along Wk's last axis, the channels)."""
        if op.attrs["pool"] is not None:
            return None
        x, wk = ins[0], ins[1]
        bias = ins[2] if len(ins) > 2 else None
        if scale is not None:
            wk = b.op("Mul", [wk, scale])
            bias = None if bias is None else b.op("Mul", [bias, scale])
        if shift is not None:
            bias = shift if bias is None else b.op("Add", [bias, shift])
        return [x, wk] + ([bias] if bias is not None else []), dict(op.attrs)

    def reference(self, op, x, wk, b=None):
        plain, pool = self.split_pool(op)
        geo = self._geo(plain, TensorType(x.dtype, x.shape), TensorType(wk.dtype, wk.shape))
        y = conv_reference(x, np.transpose(wk, (3, 2, 0, 1)), b, geo, 1)
        return y if pool is None else pool(y)

    def emit(self, k, op, epilogue=None, n_in=None):
        x_t, w_t = k.in_types[0], k.in_types[1]
        n_in = len(k.inputs) if n_in is None else n_in
        X, Wk, B = (k.slot_inputs()[:n_in] + [None])[:3]
        geo = self._geo(op, x_t, w_t)
        pool = self._pool(op, geo)
        emit_direct_conv(k, geo, x_t.shape[1], w_t.shape[3], pool, x_t.dtype, X, Wk, B, k.outputs[0], epilogue,
                         register_epilogue_ok(epilogue))
        k.b.ret_void()


# elementwise ops whose ``scalar`` emitter is plain arithmetic, comparisons and selects with Python
# numbers: they run on vectors as well (codegen/kernels/norm.VectorEmitter)
REGISTER_EPILOGUE_OPS = frozenset({"Relu", "LeakyRelu", "Add", "Sub", "Mul", "Max", "Min", "Neg", "Identity"})


def register_epilogue_ok(ep):
    """Whether a fused epilogue can run on the tile's registers: one result replacing the product,
    extra inputs per channel or scalar, and every step in REGISTER_EPILOGUE_OPS."""
    if ep is None or ep.raw_out or len(ep.op.attrs["outputs"]) != 1:
        return False
    if any(lay not in ("row", "scalar") for lay in ep.layouts):
        return False
    return all(dom == "" and t in REGISTER_EPILOGUE_OPS for t, dom, *_ in ep.op.attrs["body"])


def direct_conv(b, op, ins):
    """Conv's decompose rule: DirectConv with the weights transposed to (KH, KW, C, M), or None."""
    x, w = ins[0], ins[1]
    if not direct_eligible(op, b.type(x), b.type(w)):
        return None
    wk = b.op("Transpose", [w], perm=[2, 3, 1, 0], name=f"{op.name}_wk")
    attrs = {k: op.attrs.get(k, v) for k, v in _ATTRS.items() if k != "pool"}
    attrs["kernel_shape"] = list(b.type(w).shape[2:])
    return [b.op("DirectConv", [x, wk] + [v for v in ins[2:3] if v is not None], domain=DOMAIN,
                 name=f"{op.name}_direct", **attrs)]


def direct_grad_input(b, op, ins):
    """ConvGradInput's decompose rule, or None: for a 2-D group-1 convolution with unit strides and
    dilations, the input gradient is the full correlation of dY with the kernel rotated by 180
    degrees, ``DirectConv(Pad(dY, K-1-pads), Transpose(W[:, :, ::-1, ::-1], [2, 3, 0, 1]))`` (no
    column matrix, no col2im). Taken when the padded output computes at most 1.5x the multiply-adds
    of the column GEMM (the input is at most 1.5x the output's positions)."""
    dy, w, like = ins
    w_t, x_t = b.type(w), b.type(like)
    geo = direct_geometry(op, x_t, w_t.shape[2:], w_t.shape, padded=True)
    if geo is None:
        return None
    kernel = geo.kernel
    if any(s != 1 for s in geo.strides) or any(d != 1 for d in geo.dilations) or all(k == 1 for k in kernel):
        return None
    if any(p > k - 1 for p, k in zip(geo.pads_begin + geo.pads_end, kernel + kernel)):
        return None
    if math.prod(geo.inp) > 1.5 * math.prod(geo.out):
        return None
    begin = [k - 1 - p for k, p in zip(kernel, geo.pads_begin)]
    end = [k - 1 - p for k, p in zip(kernel, geo.pads_end)]
    if any(begin) or any(end):
        dy = b.op("Pad", [dy, b.const(np.array([0, 0] + begin + [0, 0] + end, np.int64))], name=f"{op.name}_pad")
    i64 = np.int64
    flipped = b.op("Slice", [w, b.const(np.array([-1, -1], i64)), b.const(np.array([-(2 ** 62)] * 2, i64)),
                             b.const(np.array([2, 3], i64)), b.const(np.array([-1, -1], i64))], name=f"{op.name}_flip")
    wk = b.op("Transpose", [flipped], perm=[2, 3, 0, 1], name=f"{op.name}_wk")
    return [b.op("DirectConv", [dy, wk], domain=DOMAIN, name=f"{op.name}_direct", kernel_shape=list(kernel),
                 strides=[1, 1], dilations=[1, 1], group=1)]

