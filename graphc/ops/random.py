"""Random ops for training: ``graphc.RandomDropout`` (Keras's inverted dropout).

The generator is counter based, so a compiled training step draws a fresh mask every step
without state in the kernel and without recompiling: element ``i`` of the noise tensor of a
step gets the ``i``-th output of a splitmix64 stream whose starting state is a hash of the op's
``seed`` attribute and the step's ``counter`` input (an int64 scalar the training graph
increments). Per element that is one 64-bit add and the splitmix64 finalizer, vectorizable and
identical in numpy (the reference reproduces the kernel bit for bit)::

    mix(z)  = z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^ z >> 31
    key     = mix(mix(seed) + (counter + 1) * GOLDEN)          GOLDEN = 0x9E3779B97F4A7C15
    u_i     = (mix(key + (i + 1) * GOLDEN) >> 11) * 2**-53     uniform in [0, 1), 53 bits
    keep_i  = u_i >= rate

all in wrapping uint64 arithmetic (seed and counter taken modulo 2**64).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir

from ..codegen.loops import const, dot, loop_nest
from ..errors import ShapeError
from ..ir import TensorType
from .registry import OPAQUE, OpDef, register_op

DOMAIN = "graphc"
GOLDEN = 0x9E3779B97F4A7C15
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_U64 = (1 << 64) - 1


# --- the generator in numpy -------------------------------------------------------------------
def _mix_np(z):
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


def stream_key(seed: int, counter: int) -> np.uint64:
    """The splitmix64 starting state of (seed, counter)."""
    s = _mix_np(np.uint64(int(seed) & _U64))
    with np.errstate(over="ignore"):
        return _mix_np(s + np.uint64(((int(counter) + 1) * GOLDEN) & _U64))


def uniform(seed: int, counter: int, n: int) -> np.ndarray:
    """The first ``n`` uniforms in [0, 1) (float64) of the (seed, counter) stream."""
    key = stream_key(seed, counter)
    with np.errstate(over="ignore"):
        z = _mix_np(key + (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GOLDEN)))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


# --- the generator in LLVM IR -----------------------------------------------------------------
def _mix_ir(b, z):
    z = b.mul(b.xor(z, b.lshr(z, const(30))), const(_M1 - (1 << 64)))
    z = b.mul(b.xor(z, b.lshr(z, const(27))), const(_M2 - (1 << 64)))
    return b.xor(z, b.lshr(z, const(31)))


def _i64(v):
    """An unsigned 64-bit constant as the signed value llvmlite's i64 constants take."""
    v &= _U64
    return v - (1 << 64) if v >= 1 << 63 else v


def _noise_shape(op, x):
    """The noise tensor's shape (X's dims where noise_shape says -1/None), validated against X."""
    ns = op.attrs.get("noise_shape")
    if ns is None:
        return tuple(x.shape)
    ns = [-1 if d is None else int(d) for d in ns]
    if len(ns) != x.rank or any(not (d == -1 or d == 1 or (isinstance(xd, int) and d == xd))
                                for d, xd in zip(ns, x.shape)):
        raise ShapeError(f"op {op.name!r} (RandomDropout): noise_shape expected {x.rank} entries, each 1, -1 (None) "
                         f"or the input's size along that axis, received {list(op.attrs['noise_shape'])} for input {x}")
    return tuple(xd if d == -1 else d for d, xd in zip(ns, x.shape))


@register_op("RandomDropout", pattern=OPAQUE, domain=DOMAIN, schema=False)
class RandomDropout(OpDef):
    """RandomDropout(X, counter) -> (Y, mask): ``Y = X * mask * (1 / (1 - rate))``, mask 0/1 in X's dtype.

    Attributes: ``rate`` in [0, 1), ``seed`` (int), ``noise_shape`` (None, or one entry per axis
    of X: 1 to share the draw along that axis, -1 or X's size to draw along it, as Keras's
    noise_shape with -1 for None). ``counter``: an int64 scalar, different every step.
    """
    num_inputs = (2, 2)
    num_outputs = (1, 2)
    dtypes = ("float32", "float64", "int64")
    attr_defaults = {"rate": 0.5, "seed": 0, "noise_shape": None}
    deterministic = False  # two dropouts with equal seeds still draw their own masks

    def _rate(self, op):
        rate = float(op.attrs["rate"])
        if not 0.0 <= rate < 1.0:
            raise ShapeError(f"op {op.name!r} (RandomDropout): rate expected a float in [0, 1), received {rate}")
        return rate

    def infer(self, op, in_types, g):
        x, counter = in_types
        self._rate(op)
        if x.dtype not in ("float32", "float64"):
            raise ShapeError(f"op {op.name!r} (RandomDropout): X expected float32 or float64, received {x}")
        if counter.dtype != "int64" or counter.shape not in ((), (1,)):
            raise ShapeError(f"op {op.name!r} (RandomDropout): counter expected an int64 scalar, received {counter}")
        _noise_shape(op, x)
        n_out = len(g.op_outputs(op)) if g is not None else 2
        return [x, x][:n_out]

    def mask(self, op, x_shape, counter):
        """The 0/1 keep mask of X's shape (float64) for ``counter``."""
        rate = self._rate(op)
        noise = _noise_shape(op, TensorType("float64", x_shape))
        u = uniform(op.attrs["seed"], int(np.asarray(counter).reshape(-1)[0]), int(np.prod(noise)))
        return np.broadcast_to((u >= rate).reshape(noise), x_shape)

    def reference(self, op, x, counter):
        keep = self.mask(op, x.shape, counter)
        scale = x.dtype.type(1.0 / (1.0 - self._rate(op)))
        return np.where(keep, x * scale, x.dtype.type(0)).astype(x.dtype), keep.astype(x.dtype)

    def emit(self, k, op):
        b = k.b
        x_t = k.in_types[0]
        dtype = x_t.dtype
        s = k.scalar(dtype)
        X, counter = k.inputs
        rate = self._rate(op)
        noise = _noise_shape(op, x_t)
        seed = _i64(int(op.attrs["seed"]))
        cnt = k.load(counter, const(0), "int64")
        key = _mix_ir(b, b.add(_mix_ir(b, const(seed)), b.mul(b.add(cnt, const(1)), const(_i64(GOLDEN)))))
        dims = k.shape(x_t)
        if tuple(noise) == tuple(x_t.shape):  # no broadcast: one flat loop (vectorizes)
            dims, nstr, xstr = [k.numel(x_t)], [const(1)], [const(1)]
        else:  # row-major strides of the noise tensor; 0 along the axes it is broadcast over
            nstr, xstr, nrun, xrun = [], [], const(1), const(1)
            for a in reversed(range(x_t.rank)):
                nstr.append(const(0) if noise[a] == 1 and x_t.shape[a] != 1 else nrun)
                xstr.append(xrun)
                nrun = nrun if noise[a] == 1 else b.mul(nrun, dims[a])
                xrun = b.mul(xrun, dims[a])
            nstr.reverse()
            xstr.reverse()
        scale = s.c(float(np.dtype(dtype).type(1.0 / (1.0 - rate))))
        dty = ir.DoubleType()
        with loop_nest(b, dims, name="d") as idx:
            i = dot(b, idx, xstr)
            j = dot(b, idx, nstr)
            z = _mix_ir(b, b.add(key, b.mul(b.add(j, const(1)), const(_i64(GOLDEN)))))
            u = b.fmul(b.uitofp(b.lshr(z, const(11)), dty), ir.Constant(dty, 2.0 ** -53))
            keep = b.fcmp_ordered(">=", u, ir.Constant(dty, rate))
            xv = k.load(X, i, dtype)
            k.store(b.select(keep, b.fmul(xv, scale), s.c(0.0)), k.outputs[0], i, dtype)
            if len(k.outputs) > 1:
                k.store(b.select(keep, s.c(1.0), s.c(0.0)), k.outputs[1], i, dtype)
        b.ret_void()

    def grad(self, ctx, op, dys):
        """dX = dY * mask / (1 - rate); the mask output is piecewise constant (no gradient)."""
        if dys[0] is None:
            return [None, None]
        outs = ctx.outputs
        if len(outs) < 2:
            raise ShapeError(f"op {op.name!r} (RandomDropout): the gradient needs the mask output; emit the op "
                             f"with n_out=2")
        dtype = ctx.type(ctx.inputs[0]).dtype
        scale = ctx.const(np.asarray(1.0 / (1.0 - self._rate(op)), dtype=dtype))
        return [ctx.emit("Mul", [ctx.emit("Mul", [dys[0], outs[1]]), scale]), None]
