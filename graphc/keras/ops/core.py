"""Elementwise, linear-algebra, shape and reduction functions of ``keras.ops``."""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedOpError
from ..engine.keras_tensor import KerasTensor
from ..engine.trace import SymbolicValue, current
from ..engine.variable import Variable
from .dispatch import keras_op

__all__ = ["convert_to_tensor", "add", "subtract", "multiply", "divide", "true_divide", "negative", "power",
           "maximum", "minimum", "matmul", "exp", "log", "sqrt", "rsqrt", "reciprocal", "abs", "absolute", "sign",
           "square", "clip", "reshape", "ravel", "transpose", "swapaxes", "moveaxis", "concatenate", "expand_dims",
           "squeeze", "mean", "sum", "max", "min", "var", "std", "logsumexp", "cast", "stack", "dot", "floor", "ceil",
           "round", "erf"]


def _tracer(args):
    for a in args:
        if isinstance(a, SymbolicValue):
            return a.tracer
    t = current()
    if t is None:
        raise UnsupportedOpError(
            "this graphc-internal op helper only adds ops to a graph being traced: call it inside a layer's "
            "call() or on symbolic tensors (the public keras.ops functions also run eagerly on numpy arrays)")
    return t


def _float_dtype(args):
    for a in args:
        if isinstance(a, (SymbolicValue, Variable)):
            return a.dtype
    return "float32"


def _names(args):
    """Names of IR values for mixed SymbolicValue / Variable / numpy / python-scalar arguments."""
    t = _tracer(args)
    dtype = _float_dtype(args)
    out = []
    for a in args:
        if a is None:
            out.append(None)
        elif isinstance(a, SymbolicValue):
            out.append(a.name)
        elif isinstance(a, Variable):
            out.append(t.variable(a).name)
        else:
            arr = np.asarray(a)
            if isinstance(a, (int, np.integer)) and not isinstance(a, bool) and np.dtype(dtype).kind in "iu":
                keep = np.dtype(dtype)  # a Python int takes an integer tensor's dtype (ids != 0 on int32)
            else:
                keep = arr.dtype if arr.dtype.kind in "iub" and dtype not in ("float32", "float64") else dtype
            out.append(t.const(arr, dtype=keep).name)
    return t, out


def emit(op_type, args, n_out=1, **attrs):
    """Add one ONNX op over ``args``; returns SymbolicValue(s)."""
    t, names = _names(args)
    outs = t.b.op(op_type, names, n_out=n_out, **attrs)
    return [t.value(o) for o in outs] if n_out > 1 else t.value(outs)


def convert_to_tensor(x, dtype=None, sparse=None):
    if isinstance(x, SymbolicValue):
        return x if dtype is None or dtype == x.dtype else cast(x, dtype)
    if current() is None and not isinstance(x, KerasTensor):  # eager: a numpy array, as Keras returns a tensor
        return np.asarray(x.value if isinstance(x, Variable) else x, dtype=dtype)
    t = _tracer([x])
    return t.variable(x) if isinstance(x, Variable) else t.const(np.asarray(x, dtype=dtype or "float32"))


@keras_op("x1", "x2")
def add(x1, x2): return emit("Add", [x1, x2])
@keras_op("x1", "x2")
def subtract(x1, x2): return emit("Sub", [x1, x2])
@keras_op("x1", "x2")
def multiply(x1, x2): return emit("Mul", [x1, x2])
@keras_op("x1", "x2")
def divide(x1, x2): return emit("Div", [x1, x2])
@keras_op("x1", "x2")
def true_divide(x1, x2): return emit("Div", [x1, x2])
@keras_op("x1", "x2")
def power(x1, x2): return emit("Pow", [x1, x2])
@keras_op("x1", "x2")
def maximum(x1, x2): return emit("Max", [x1, x2])
@keras_op("x1", "x2")
def minimum(x1, x2): return emit("Min", [x1, x2])
@keras_op("x")
def negative(x): return emit("Neg", [x])
@keras_op("x")
def exp(x): return emit("Exp", [x])
@keras_op("x")
def log(x): return emit("Log", [x])
@keras_op("x")
def sqrt(x): return emit("Sqrt", [x])
@keras_op("x")
def rsqrt(x): return emit("Reciprocal", [emit("Sqrt", [x])])
@keras_op("x")
def reciprocal(x): return emit("Reciprocal", [x])
@keras_op("x")
def abs(x): return emit("Abs", [x])  # noqa: A001  (Keras's name)
@keras_op("x")
def absolute(x): return emit("Abs", [x])
@keras_op("x")
def sign(x): return emit("Sign", [x])
@keras_op("x")
def square(x): return emit("Mul", [x, x])
@keras_op("x")
def floor(x): return emit("Floor", [x])
@keras_op("x")
def ceil(x): return emit("Ceil", [x])
@keras_op("x")
def erf(x): return emit("Erf", [x])


@keras_op("x")
def round(x, decimals=0):  # noqa: A001  (Keras's name)
    """Half to even, as numpy.round and Keras; ``decimals`` scales by 10**decimals around it."""
    if not decimals:
        return emit("Round", [x])
    scale = 10.0 ** int(decimals)
    return emit("Div", [emit("Round", [emit("Mul", [x, scale])]), scale])


@keras_op("x", "x_min", "x_max")
def clip(x, x_min, x_max):
    return emit("Clip", [x, x_min, x_max])


@keras_op("x1", "x2")
def matmul(x1, x2):
    return emit("MatMul", [x1, x2])


@keras_op("x1", "x2")
def dot(x1, x2):
    """numpy's dot: a matrix product for operands of rank <= 2 (higher ranks: use matmul or tensordot)."""
    r1, r2 = _rank(x1), _rank(x2)
    if r1 > 2 or r2 > 2:
        raise NotImplementedError(f"keras.ops.dot of rank-{r1} and rank-{r2} tensors (numpy's sum over the last "
                                  "axis of x1 and the second-to-last of x2) is not supported by graphc; use matmul")
    if r1 == 0 or r2 == 0:
        return emit("Mul", [x1, x2])
    return emit("MatMul", [x1, x2])


def _rank(x):
    return len(x.shape) if hasattr(x, "shape") else np.ndim(x)


@keras_op("x")
def reshape(x, newshape):
    """Reshape; -1 infers one dimension. A leading None/-1 keeps a symbolic batch dimension."""
    x = convert_to_tensor(x)
    newshape = (newshape,) if isinstance(newshape, int) else tuple(newshape)
    shape = [0 if (i == 0 and (d is None or d == -1) and isinstance(x.ir_shape[0], str)) else (-1 if d is None else d)
             for i, d in enumerate(newshape)]
    return emit("Reshape", [x, _tracer([x]).const(np.asarray(shape, dtype=np.int64))])


@keras_op("x")
def ravel(x):
    return reshape.traced(x, (-1,))


@keras_op("x")
def transpose(x, axes=None):
    return emit("Transpose", [x], perm=[int(a) % _rank(x) for a in axes] if axes is not None
                else list(reversed(range(_rank(x)))))


@keras_op("x")
def swapaxes(x, axis1, axis2):
    perm = list(range(_rank(x)))
    a, b = axis1 % len(perm), axis2 % len(perm)
    perm[a], perm[b] = perm[b], perm[a]
    return transpose.traced(x, perm)


@keras_op("x")
def moveaxis(x, source, destination):
    r = _rank(x)
    src = [a % r for a in np.atleast_1d(source)]
    dst = [a % r for a in np.atleast_1d(destination)]
    perm = [a for a in range(r) if a not in src]
    for d, s_ in sorted(zip(dst, src)):
        perm.insert(d, s_)
    return transpose.traced(x, perm)


@keras_op("xs")
def concatenate(xs, axis=0):
    return emit("Concat", list(xs), axis=int(axis))


@keras_op("x")
def stack(x, axis=0):
    """Join a sequence of tensors along a new axis (Keras names the sequence ``x``)."""
    xs = list(x)
    r = _rank(xs[0]) + 1
    return concatenate.traced([expand_dims.traced(t, axis % r) for t in xs], axis=axis % r)


@keras_op("x")
def expand_dims(x, axis):
    axes = np.atleast_1d(axis)
    return emit("Unsqueeze", [x, _tracer([x]).const(np.asarray(axes, dtype=np.int64))])


@keras_op("x")
def squeeze(x, axis=None):
    args = [x] if axis is None else [x, _tracer([x]).const(np.asarray(np.atleast_1d(axis), dtype=np.int64))]
    return emit("Squeeze", args)


def _reduce(op_type, x, axis, keepdims):
    args = [x]
    if axis is not None:
        args.append(_tracer([x]).const(np.asarray(np.atleast_1d(axis), dtype=np.int64)))
    return emit(op_type, args, keepdims=int(bool(keepdims)))


@keras_op("x")
def mean(x, axis=None, keepdims=False): return _reduce("ReduceMean", x, axis, keepdims)
@keras_op("x")
def sum(x, axis=None, keepdims=False): return _reduce("ReduceSum", x, axis, keepdims)  # noqa: A001


@keras_op("x")
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    y = _reduce("ReduceMax", x, axis, keepdims)
    return y if initial is None else emit("Max", [y, initial])


@keras_op("x")
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    y = _reduce("ReduceMin", x, axis, keepdims)
    return y if initial is None else emit("Min", [y, initial])


@keras_op("x")
def var(x, axis=None, keepdims=False):
    """Population variance (numpy's ddof=0), as Keras: mean(|x - mean(x)|^2)."""
    d = emit("Sub", [x, _reduce("ReduceMean", x, axis, True)])
    return _reduce("ReduceMean", emit("Mul", [d, d]), axis, keepdims)


@keras_op("x")
def std(x, axis=None, keepdims=False):
    return emit("Sqrt", [var.traced(x, axis, keepdims)])


@keras_op("x")
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed stably around the maximum."""
    m = _reduce("ReduceMax", x, axis, True)
    s = _reduce("ReduceSum", emit("Exp", [emit("Sub", [x, m])]), axis, True)
    y = emit("Add", [emit("Log", [s]), m])
    if keepdims:
        return y
    return squeeze.traced(y, axis) if axis is not None else reshape.traced(y, ())


@keras_op("x")
def cast(x, dtype):
    from ...ir import dtype_name, onnx_dtype
    name = dtype_name(dtype)
    return x if x.dtype == name else emit("Cast", [x], to=onnx_dtype(name))
