"""Normalization: BatchNormalization (inference and training form) and its gradient.

Inference (``training_mode=0``): ``Y = (X - mean) / sqrt(var + epsilon) * scale + B`` with the
per-channel vectors broadcast over channel axis 1 of an (N, C, ...) tensor of any rank >= 2.

Training (``training_mode=1``, ONNX opset 18): Y normalizes with the batch mean and the
population (biased) batch variance over every axis but 1, and the optional outputs 2 and 3 are
the updated running statistics ``input_mean * momentum + batch_mean * (1 - momentum)`` (same for
the variance, with the biased batch variance), which is also Keras 3's update. The kernel runs
per channel: a vectorized sum for the mean, another for the centered sum of squares and the
centered sum that corrects the mean (two passes: no cancellation), then the normalization.

Gradients: training mode goes through the batch statistics with the graphc-domain
``BatchNormalizationGrad(X, scale, dY, dRunningMean, dRunningVar) -> (dscale, dB[, dX])`` (it
recomputes the batch statistics rather than storing them); inference mode is a composition of
ONNX ops (the statistics are constants of the step there).
"""
from __future__ import annotations

import numpy as np

from ..codegen.kernels.norm import emit_strided_sums
from ..codegen.loops import for_range, iadd, imul
from ..errors import ShapeError, UnsupportedOpError
from ..ir import TensorType
from .registry import OPAQUE, OUT_EWISE_FUSABLE, OpDef, register_op

_PARAMS = ("scale", "B", "input_mean", "input_var")
DOMAIN = "graphc"


def _channel_shape(ndim):
    return (1, -1) + (1,) * (ndim - 2)


def _stat_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def batchnorm_training_reference(x, scale, bias, mean, var, epsilon, momentum):
    """numpy training-mode BatchNormalization: (Y, running_mean, running_var)."""
    axes = _stat_axes(x.ndim)
    xd = x.astype(np.float64)
    bm, bv = xd.mean(axis=axes), xd.var(axis=axes)
    shape = _channel_shape(x.ndim)
    y = (xd - bm.reshape(shape)) / np.sqrt(bv.reshape(shape) + epsilon) * scale.reshape(shape) + bias.reshape(shape)
    return (y.astype(x.dtype), (mean * momentum + bm * (1 - momentum)).astype(x.dtype),
            (var * momentum + bv * (1 - momentum)).astype(x.dtype))


def batchnorm_grad_reference(x, scale, dy, dmean, dvar, epsilon, momentum):
    """numpy BatchNormalizationGrad: (dscale, dB, dX) through the batch statistics."""
    axes = _stat_axes(x.ndim)
    shape = _channel_shape(x.ndim)
    xd = x.astype(np.float64)
    m = x.size // x.shape[1]
    mean = xd.mean(axis=axes)
    xc = xd - mean.reshape(shape)
    inv = 1.0 / np.sqrt((xc * xc).mean(axis=axes) + epsilon)
    dyd = np.zeros_like(xd) if dy is None else dy.astype(np.float64)
    sdy, sdyxc = dyd.sum(axis=axes), (dyd * xc).sum(axis=axes)
    k1 = scale * inv
    k2 = -k1 * inv * inv * sdyxc / m
    k3 = -k1 * sdy / m
    if dmean is not None:
        k3 = k3 + (1 - momentum) * dmean / m
    if dvar is not None:
        k2 = k2 + (1 - momentum) * 2 * dvar / m
    dx = k1.reshape(shape) * dyd + xc * k2.reshape(shape) + k3.reshape(shape)
    return (sdyxc * inv).astype(x.dtype), sdy.astype(x.dtype), dx.astype(x.dtype)


def _emit_stats(k, dtype, X, N, C, P, c, count):
    """(mean, biased variance) of channel ``c`` of X (N, C, P): two vectorized passes, the second
    summing the centered values too, which corrects the mean's rounding error (the corrected
    two-pass algorithm, Chan, Golub & LeVeque 1983)."""
    s = k.scalar(dtype)
    stride, base = imul(k.b, C, P), imul(k.b, c, P)
    (sx,) = emit_strided_sums(k, dtype, [X], N, stride, base, P, lambda o, v, p: [v[0]])
    mean = s.div(sx, count)
    d, sq = emit_strided_sums(k, dtype, [X], N, stride, base, P,
                              lambda o, v, p: [o.sub(v[0], p[0]), o.mul(o.sub(v[0], p[0]), o.sub(v[0], p[0]))],
                              [mean])
    return s.add(mean, s.div(d, count)), s.div(s.sub(sq, s.div(s.mul(d, d), count)), count)


@register_op("BatchNormalization", pattern=OUT_EWISE_FUSABLE)
class BatchNormalization(OpDef):
    statistic_inputs = (3, 4)  # input_mean, input_var: the running statistics

    def _check_mode(self, op, n_out):
        if op.attrs["training_mode"] not in (0, 1):
            raise UnsupportedOpError(f"op {op.name!r} (BatchNormalization): training_mode expected 0 or 1, "
                                     f"received {op.attrs['training_mode']}")
        if not op.attrs["training_mode"] and n_out > 1:
            raise UnsupportedOpError(f"op {op.name!r} (BatchNormalization): expected 1 output in inference mode, "
                                     f"received {n_out} (running statistics are outputs with training_mode=1)")

    def infer(self, op, in_types, g):
        n_out = len(g.op_outputs(op)) if g is not None else 1
        self._check_mode(op, n_out)
        x = in_types[0]
        where = f"op {op.name!r} (BatchNormalization)"
        if x.rank < 2:
            raise ShapeError(f"{where}: X expected rank >= 2 (N, C, ...), received {x}")
        for name, t in zip(_PARAMS, in_types[1:]):
            if t.dtype != x.dtype or t.shape != (x.shape[1],):
                raise ShapeError(f"{where}: {name} expected {x.dtype}[{x.shape[1]}] (one value per channel of X {x}), "
                                 f"received {t}")
        return [x, in_types[3], in_types[4]][:n_out]

    def reference(self, op, x, scale, bias, mean, var):
        if op.attrs["training_mode"]:
            return batchnorm_training_reference(x, scale, bias, mean, var, op.attrs["epsilon"], op.attrs["momentum"])
        shape = _channel_shape(x.ndim)
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
        N, C, P = k.dim(x_t, 0), k.dim(x_t, 1), k.numel(x_t, 2)
        eps = op.attrs["epsilon"]
        training = bool(op.attrs["training_mode"])
        count = b.sitofp(imul(b, N, P), s.ty)
        with for_range(b, C, name="c") as c:
            if training:
                m, v = _emit_stats(k, dtype, X, N, C, P, c, count)
                mom = op.attrs["momentum"]
                running = [k.load(mean, c, dtype), k.load(var, c, dtype)]  # read before the (maybe aliased) writes
                for out, old, new in zip(k.outputs[1:], running, (m, v)):
                    k.store(s.add(s.mul(old, mom), s.mul(new, 1.0 - mom)), out, c, dtype)
            else:
                m, v = k.load(mean, c, dtype), k.load(var, c, dtype)
            a = s.div(k.load(scale, c, dtype), s.sqrt(s.add(v, eps)))
            bb = k.load(bias, c, dtype)
            with for_range(b, N, name="n") as n:
                base = imul(b, iadd(b, imul(b, n, C), c), P)
                with for_range(b, P, name="p") as i:
                    idx = iadd(b, base, i)
                    k.store(s.fma(s.sub(k.load(X, idx, dtype), m), a, bb), Y, idx, dtype)
        b.ret_void()

    def decompose(self, b, op, ins):
        """Inference form as elementwise ops: ``((x + (-mean)) * a) + B`` with ``a = scale / sqrt(var + eps)``
        per channel (computed from the weights alone, so codegen hoists it out of the per-call program).
        Subtracting the mean first keeps the kernel's accuracy; passes/fold_scales distributes the
        scale into a preceding Conv/Gemm's weights when there is one."""
        if op.attrs["training_mode"]:
            return None
        x, scale, bias, mean, var = ins
        xt = b.type(x)
        eps = b.const(np.asarray(op.attrs["epsilon"], dtype=xt.dtype), name=f"{op.name}_eps")
        a = b.op("Div", [scale, b.op("Sqrt", [b.op("Add", [var, eps])])], name=f"{op.name}_a")
        shape = b.const(np.array((-1,) + (1,) * (xt.rank - 2), dtype=np.int64), name=f"{op.name}_shape")
        per_channel = [b.op("Reshape", [v, shape], name=f"{op.name}_r") for v in (b.op("Neg", [mean]), a, bias)]
        y = b.op("Add", [x, per_channel[0]], name=f"{op.name}_center")
        y = b.op("Mul", [y, per_channel[1]], name=f"{op.name}_scale")
        return [b.op("Add", [y, per_channel[2]], name=f"{op.name}_shift")]

    def grad(self, ctx, op, dys):
        dys = list(dys) + [None] * (3 - len(dys))
        needs = ctx.needs
        x, scale = ctx.inputs[0], ctx.inputs[1]
        mom = op.attrs["momentum"]
        dtype = ctx.type(x).dtype
        out = [None] * 5
        if op.attrs["training_mode"]:
            if needs[0] or needs[1] or needs[2]:
                n_out = 3 if needs[0] else 2
                res = ctx.emit("BatchNormalizationGrad", [x, scale] + dys[:3], n_out=n_out, domain=DOMAIN,
                               epsilon=op.attrs["epsilon"], momentum=mom)
                out[1], out[2] = res[0], res[1]
                out[0] = res[2] if needs[0] else None
            for slot, d in ((3, dys[1]), (4, dys[2])):  # running stat = input * momentum + ...
                if needs[slot] and d is not None:
                    out[slot] = ctx.emit("Mul", [d, ctx.const(np.asarray(mom, dtype))])
            return out
        return self._grad_inference(ctx, op, dys[0])

    @staticmethod
    def _grad_inference(ctx, op, dy):
        """Running statistics are inputs: Y = (X - mean) * a + B with a = scale / sqrt(var + eps)."""
        x, scale, _, mean, var = ctx.inputs
        t = ctx.type(x)
        axes = [0] + list(range(2, t.rank))
        eps = ctx.emit("Add", [var, ctx.const(np.asarray(op.attrs["epsilon"], t.dtype))])
        root = ctx.emit("Sqrt", [eps])
        a = ctx.emit("Div", [scale, root])

        def chan(v):  # (C,) -> (1, C, 1, ...)
            return ctx.emit("Unsqueeze", [v, ctx.ints(axes)])

        def csum(v):
            return ctx.emit("ReduceSum", [v, ctx.ints(axes)], keepdims=0)

        out = [None] * 5
        if ctx.needs[0]:
            out[0] = ctx.emit("Mul", [dy, chan(a)])
        db = csum(dy) if ctx.needs[2] or ctx.needs[3] else None
        out[2] = db if ctx.needs[2] else None
        if ctx.needs[3]:
            out[3] = ctx.emit("Neg", [ctx.emit("Mul", [db, a])])
        if ctx.needs[1] or ctx.needs[4]:
            raw = csum(ctx.emit("Mul", [dy, ctx.emit("Sub", [x, chan(mean)])]))  # sum dy * (x - mean)
            if ctx.needs[1]:
                out[1] = ctx.emit("Div", [raw, root])
            if ctx.needs[4]:
                half = ctx.const(np.asarray(-0.5, t.dtype))
                out[4] = ctx.emit("Mul", [ctx.emit("Div", [ctx.emit("Mul", [raw, a]), eps]), half])
        return out


@register_op("BatchNormalizationGrad", pattern=OPAQUE, domain=DOMAIN, schema=False)
class BatchNormalizationGrad(OpDef):
    """BatchNormalizationGrad(X, scale, dY?, dRunningMean?, dRunningVar?) -> (dscale, dB[, dX]).

    The gradient of training-mode BatchNormalization through the batch statistics (m elements
    per channel, xhat = (x - mean) / sqrt(var + eps)): ``dB = sum dY``, ``dscale = sum dY xhat``,
    ``dX = scale / sqrt(var + eps) * (dY - dB / m - xhat * dscale / m)``, plus the running
    statistics' terms ``(1 - momentum) * (dRunningMean / m + 2 (x - mean) dRunningVar / m)``.
    Absent gradients count as zeros; dX is computed only when a third output is asked for.
    """
    num_inputs = (2, 5)
    num_outputs = (2, 3)
    attr_defaults = {"epsilon": 1e-5, "momentum": 0.9}

    def infer(self, op, in_types, g):
        x = in_types[0]
        where = f"op {op.name!r} (BatchNormalizationGrad)"
        for name, t, want in (("scale", in_types[1], (x.shape[1],)), ("dY", _at(in_types, 2), x.shape),
                              ("dRunningMean", _at(in_types, 3), (x.shape[1],)),
                              ("dRunningVar", _at(in_types, 4), (x.shape[1],))):
            if t is not None and (t.dtype != x.dtype or t.shape != want):
                raise ShapeError(f"{where}: {name} expected {TensorType(x.dtype, want)} for X {x}, received {t}")
        n_out = len(g.op_outputs(op)) if g is not None else 3
        c = in_types[1]
        return [c, c, x][:n_out]

    def reference(self, op, x, scale, dy=None, dmean=None, dvar=None):
        return batchnorm_grad_reference(x, scale, dy, dmean, dvar, op.attrs["epsilon"], op.attrs["momentum"])

    def emit(self, k, op):
        b = k.b
        x_t = k.in_types[0]
        dtype = x_t.dtype
        s = k.scalar(dtype)
        X, scale, dY, dmean, dvar = (k.slot_inputs() + [None] * 5)[:5]
        dscale, dB = k.outputs[0], k.outputs[1]
        dX = k.outputs[2] if len(k.outputs) > 2 else None
        N, C, P = k.dim(x_t, 0), k.dim(x_t, 1), k.numel(x_t, 2)
        m = b.sitofp(imul(b, N, P), s.ty)
        mom = op.attrs["momentum"]
        with for_range(b, C, name="c") as c:
            mean, var = _emit_stats(k, dtype, X, N, C, P, c, m)
            inv = s.div(1.0, s.sqrt(s.add(var, op.attrs["epsilon"])))
            if dY is not None:
                sdy, sdyxc = emit_strided_sums(k, dtype, [X, dY], N, imul(b, C, P), imul(b, c, P), P,
                                               lambda o, v, p: [v[1], o.mul(v[1], o.sub(v[0], p[0]))], [mean])
            else:
                sdy = sdyxc = s.c(0.0)
            k.store(s.mul(sdyxc, inv), dscale, c, dtype)
            k.store(sdy, dB, c, dtype)
            if dX is not None:
                k1 = s.mul(k.load(scale, c, dtype), inv)
                k2 = s.neg(s.div(s.mul(s.mul(s.mul(k1, inv), inv), sdyxc), m))
                k3 = s.neg(s.div(s.mul(k1, sdy), m))
                if dmean is not None:
                    k3 = s.add(k3, s.div(s.mul(k.load(dmean, c, dtype), 1.0 - mom), m))
                if dvar is not None:
                    k2 = s.add(k2, s.div(s.mul(k.load(dvar, c, dtype), 2.0 * (1.0 - mom)), m))
                with for_range(b, N, name="n") as n:
                    base = imul(b, iadd(b, imul(b, n, C), c), P)
                    with for_range(b, P, name="p") as i:
                        idx = iadd(b, base, i)
                        v = s.fma(s.sub(k.load(X, idx, dtype), mean), k2, k3)
                        if dY is not None:
                            v = s.fma(k.load(dY, idx, dtype), k1, v)
                        k.store(v, dX, idx, dtype)
        b.ret_void()


def _at(seq, i):
    return seq[i] if i < len(seq) else None
