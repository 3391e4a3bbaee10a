"""graphc.DirectConvGradWeight: a 2-D convolution's weight gradient without im2col.

``DirectConvGradWeight(X (N, C, H, W), dY (N, M, OH, OW)) -> dWk (KH, KW, C, M)``: the gradient of
``Conv(X, W)`` w.r.t. W in the Keras kernel's own layout. Attributes are Conv's (group 1, no padding).

Made by ``ConvGradWeight.decompose`` (passes/decompose, every compiled graph after autodiff; the
unfused pipeline keeps ConvGradWeight) for 2-D, group-1 weight gradients without padding whose
kernel has at least ``min_taps`` taps ``C*KH*KW`` (one register tile's rows) and whose image's
output gradient fits the kernel's chunk buffer, as
``Transpose(DirectConvGradWeight(X, dY), [3, 2, 0, 1])``; the second ``cancel_transposes``
composes that Transpose with the layer's own weight-gradient Transpose to nothing. The kernel is
codegen/kernels/conv_grad_weight.py: for the issue-6 CNN's second convolution, the column matrix
im2col wrote (288 x 121 per image) and the GEMM's packing of it are gone (7.5 -> 4.8 ms per step;
the first layer's 1.9 -> 1.4 ms).
"""
from __future__ import annotations

import numpy as np

from ..codegen.kernels.conv_grad_weight import CHUNK_BYTES, emit_direct_conv_grad_weight
from ..codegen.kernels.gemm import blocking, vector_bits
from ..errors import ShapeError
from ..ir import TensorType
from .conv import conv_grad_weight_reference
from .conv_direct import checked_geometry, direct_geometry
from .registry import OPAQUE, OpDef, register_op

DOMAIN = "graphc"
_ATTRS = {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None, "pads": None, "strides": None}


def min_taps(dtype):
    """Kernel taps C*KH*KW below which the im2col GEMM stays: one register tile's rows."""
    return blocking(dtype, vector_bits()).mr


@register_op("DirectConvGradWeight", pattern=OPAQUE, domain=DOMAIN, schema=False)
class DirectConvGradWeight(OpDef):
    num_inputs = (2, 2)
    attr_defaults = dict(_ATTRS)

    def _geo(self, op, x, dy):
        where = f"op {op.name!r} (DirectConvGradWeight)"
        if op.attrs["kernel_shape"] is None:
            raise ShapeError(f"{where}: kernel_shape is required, received {op.attrs}")
        geo = checked_geometry(op, where, x, dy, "dY (N, M, OH, OW)", tuple(x.shape[1:]) + tuple(dy.shape[1:]),
                               op.attrs["kernel_shape"])
        if dy.shape[0] != x.shape[0] or tuple(dy.shape[2:]) != tuple(geo.out):
            raise ShapeError(f"{where}: dY expected shape ({x.shape[0]}, M, {', '.join(map(str, geo.out))}) (the "
                             f"forward output), received {dy}")
        return geo

    def infer(self, op, in_types, g):
        x, dy = in_types
        if x.dtype != dy.dtype or x.dtype not in ("float32", "float64"):
            raise ShapeError(f"op {op.name!r} (DirectConvGradWeight): X and dY must share a float32/float64 dtype, "
                             f"received {x}, {dy}")
        geo = self._geo(op, x, dy)
        return [TensorType(x.dtype, tuple(geo.kernel) + (x.shape[1], dy.shape[1]))]

    def reference(self, op, x, dy):
        geo = self._geo(op, TensorType(x.dtype, x.shape), TensorType(dy.dtype, dy.shape))
        return np.ascontiguousarray(np.transpose(conv_grad_weight_reference(x, dy, geo, 1), (2, 3, 1, 0)))

    def emit(self, k, op):
        x_t, dy_t = k.in_types
        X, dY = k.inputs
        geo = self._geo(op, x_t, dy_t)
        emit_direct_conv_grad_weight(k, geo, x_t.shape[1], dy_t.shape[1], x_t.dtype, X, dY, k.outputs[0])
        k.b.ret_void()


def direct_grad_weight(b, op, ins):
    """ConvGradWeight's decompose rule: the direct kernel between two Transposes, or None."""
    x, dy = ins
    x_t, dy_t = b.type(x), b.type(dy)
    geo = direct_geometry(op, x_t, op.attrs["kernel_shape"], dy_t.shape[1:])
    if geo is None:
        return None
    if x_t.shape[1] * int(np.prod(geo.kernel)) < min_taps(x_t.dtype):
        return None
    if dy_t.shape[1] * int(np.prod(geo.out)) * np.dtype(x_t.dtype).itemsize > CHUNK_BYTES:
        return None  # one image's dY would not fit the kernel's stack buffer
    attrs = {k: op.attrs.get(k, v) for k, v in _ATTRS.items()}
    dwk = b.op("DirectConvGradWeight", [x, dy], domain=DOMAIN, name=f"{op.name}_direct", **attrs)
    return [b.op("Transpose", [dwk], perm=[3, 2, 0, 1], name=f"{op.name}_dw")]
