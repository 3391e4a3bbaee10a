"""Elementwise, linear-algebra, shape and reduction functions of ``keras.ops``."""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedOpError
from ..engine.trace import SymbolicValue, current
from ..engine.variable import Variable

__all__ = ["convert_to_tensor", "add", "subtract", "multiply", "divide", "true_divide", "negative", "power",
           "maximum", "minimum", "matmul", "exp", "log", "sqrt", "abs", "absolute", "square", "clip",
           "reshape", "transpose", "concatenate", "expand_dims", "squeeze", "mean", "sum", "max", "min",
           "cast", "stack", "dot"]


def _tracer(args):
    for a in args:
        if isinstance(a, SymbolicValue):
            return a.tracer
    t = current()
    if t is None:
        raise UnsupportedOpError(
            "keras.ops functions are traced into graphc IR: call them inside a layer's call() or on "
            "symbolic tensors; eager numpy evaluation of keras.ops is not available yet")
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
            out.append(t.const(arr, dtype=arr.dtype if arr.dtype.kind in "iub" and dtype not in ("float32", "float64")
                               else dtype).name)
    return t, out


def emit(op_type, args, n_out=1, **attrs):
    """Add one ONNX op over ``args``; returns SymbolicValue(s)."""
    t, names = _names(args)
    outs = t.b.op(op_type, names, n_out=n_out, **attrs)
    return [t.value(o) for o in outs] if n_out > 1 else t.value(outs)


def convert_to_tensor(x, dtype=None):
    if isinstance(x, SymbolicValue):
        return x if dtype is None or dtype == x.dtype else cast(x, dtype)
    t = _tracer([x])
    return t.variable(x) if isinstance(x, Variable) else t.const(np.asarray(x, dtype=dtype or "float32"))


def add(x, y): return emit("Add", [x, y])
def subtract(x, y): return emit("Sub", [x, y])
def multiply(x, y): return emit("Mul", [x, y])
def divide(x, y): return emit("Div", [x, y])
def negative(x): return emit("Neg", [x])
def power(x, y): return emit("Pow", [x, y])
def maximum(x, y): return emit("Max", [x, y])
def minimum(x, y): return emit("Min", [x, y])
def exp(x): return emit("Exp", [x])
def log(x): return emit("Log", [x])
def sqrt(x): return emit("Sqrt", [x])
def abs(x): return emit("Abs", [x])  # noqa: A001  (Keras's name)
def square(x): return emit("Mul", [x, x])


true_divide = divide
absolute = abs


def clip(x, x_min, x_max):
    return emit("Clip", [x, x_min, x_max])


def matmul(x, y):
    return emit("MatMul", [x, y])


def dot(x, y):
    return matmul(x, y)



def reshape(x, newshape):
    """Reshape; -1 infers one dimension. A leading None/-1 keeps a symbolic batch dimension."""
    x = convert_to_tensor(x)
    shape = [0 if (i == 0 and (d is None or d == -1) and isinstance(x.ir_shape[0], str)) else (-1 if d is None else d)
             for i, d in enumerate(newshape)]
    return emit("Reshape", [x, _tracer([x]).const(np.asarray(shape, dtype=np.int64))])


def transpose(x, axes=None):
    return emit("Transpose", [x], perm=list(axes) if axes is not None else list(reversed(range(x.ndim))))


def concatenate(xs, axis=0):
    return emit("Concat", list(xs), axis=int(axis))


def stack(xs, axis=0):
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def expand_dims(x, axis):
    return emit("Unsqueeze", [x, _tracer([x]).const(np.asarray([axis], dtype=np.int64))])


def squeeze(x, axis=None):
    args = [x] if axis is None else [x, _tracer([x]).const(np.asarray(np.atleast_1d(axis), dtype=np.int64))]
    return emit("Squeeze", args)


def _reduce(op_type, x, axis, keepdims):
    args = [x]
    if axis is not None:
        args.append(_tracer([x]).const(np.asarray(np.atleast_1d(axis), dtype=np.int64)))
    return emit(op_type, args, keepdims=int(bool(keepdims)))


def mean(x, axis=None, keepdims=False): return _reduce("ReduceMean", x, axis, keepdims)
def sum(x, axis=None, keepdims=False): return _reduce("ReduceSum", x, axis, keepdims)  # noqa: A001
def max(x, axis=None, keepdims=False): return _reduce("ReduceMax", x, axis, keepdims)  # noqa: A001
def min(x, axis=None, keepdims=False): return _reduce("ReduceMin", x, axis, keepdims)  # noqa: A001


def cast(x, dtype):
    from ...ir import dtype_name, onnx_dtype
    name = dtype_name(dtype)
    return x if x.dtype == name else emit("Cast", [x], to=onnx_dtype(name))
