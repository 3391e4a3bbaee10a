"""Normalization: BatchNormalization in inference form (running statistics, one output).

``Y = (X - mean) / sqrt(var + epsilon) * scale + B`` with the per-channel vectors broadcast
over channel axis 1 of an (N, C, ...) tensor of any rank >= 2. The training form (batch
statistics and the running-mean/var outputs) joins with the training issue.
"""
from __future__ import annotations

from ..codegen.loops import for_range, iadd, imul
from ..errors import ShapeError, UnsupportedOpError
from .registry import OUT_EWISE_FUSABLE, OpDef, register_op

_PARAMS = ("scale", "B", "input_mean", "input_var")


@register_op("BatchNormalization", pattern=OUT_EWISE_FUSABLE)
class BatchNormalization(OpDef):
    def _check_mode(self, op, n_out):
        if op.attrs["training_mode"]:
            raise UnsupportedOpError(f"op {op.name!r} (BatchNormalization): training_mode=1 is not supported yet; "
                                     "expected training_mode=0 (inference with running statistics)")
        if n_out > 1:
            raise UnsupportedOpError(f"op {op.name!r} (BatchNormalization): expected 1 output in inference mode, "
                                     f"received {n_out}")

    def infer(self, op, in_types, g):
        self._check_mode(op, len(g.op_outputs(op)) if g is not None else 1)
        x = in_types[0]
        where = f"op {op.name!r} (BatchNormalization)"
        if x.rank < 2:
            raise ShapeError(f"{where}: X expected rank >= 2 (N, C, ...), received {x}")
        for name, t in zip(_PARAMS, in_types[1:]):
            if t.dtype != x.dtype or t.shape != (x.shape[1],):
                raise ShapeError(f"{where}: {name} expected {x.dtype}[{x.shape[1]}] (one value per channel of X {x}), "
                                 f"received {t}")
        return [x]

    def reference(self, op, x, scale, bias, mean, var):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        s, b, m, v = (a.reshape(shape) for a in (scale, bias, mean, var))
        return (s * (x - m) / (v + op.attrs["epsilon"]) ** 0.5 + b).astype(x.dtype)

    def emit(self, k, op):
        self._check_mode(op, len(k.out_types))
        b = k.b
        x_t = k.in_types[0]
        dtype = x_t.dtype
        s = k.scalar(dtype)
        X, scale, bias, mean, var = k.inputs
        Y = k.outputs[0]
        C, P = k.dim(x_t, 1), k.numel(x_t, 2)
        with for_range(b, k.dim(x_t, 0), name="n") as n:
            with for_range(b, C, name="c") as c:
                a = s.div(k.load(scale, c, dtype), s.sqrt(s.add(k.load(var, c, dtype), op.attrs["epsilon"])))
                m, bb = k.load(mean, c, dtype), k.load(bias, c, dtype)
                base = imul(b, iadd(b, imul(b, n, C), c), P)
                with for_range(b, P, name="p") as i:
                    idx = iadd(b, base, i)
                    k.store(s.fma(s.sub(k.load(X, idx, dtype), m), a, bb), Y, idx, dtype)
        b.ret_void()
