"""Elementwise math of ``keras.ops`` beyond the basics: trigonometric and hyperbolic functions (ONNX
Sin ... Atanh), exp/log variants, rounding, remainders, NaN/inf tests and the other numpy ufuncs Keras 3
exposes. Each lowers to registry ops (compositions where they are exact up to rounding; graphc's
Expm1/Log1p where Exp - 1 and Log(1 + x) would cancel). Integer inputs are computed as floats in
eager mode (see dispatch.py), so ``mod``/``floor_divide`` of int arrays return float arrays.
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import ShapeError
from .core import cast, emit
from .dispatch import keras_op

__all__ = ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "arcsinh", "arccosh",
           "arctanh", "expm1", "log1p", "log2", "log10", "exp2", "cbrt", "trunc", "fabs", "floor_divide", "mod",
           "fmod", "hypot", "logaddexp", "logaddexp2", "heaviside", "divide_no_nan", "nan_to_num", "isnan", "isinf",
           "isfinite", "isneginf", "isposinf", "signbit", "deg2rad", "rad2deg", "sinc", "fmax", "fmin", "ldexp",
           "logical_xor", "isclose", "allclose", "select", "conj", "conjugate", "real"]


def _float(x):
    """A float tensor for math on ``x`` (traced integer inputs are cast to float32, as Keras does)."""
    from ..engine.trace import SymbolicValue
    if isinstance(x, SymbolicValue) and not x.dtype.startswith("float"):
        return cast.traced(x, "float32")
    return x


def _unary_op(name, op_type, domain=""):
    def fn(x):
        return emit(op_type, [_float(x)], domain=domain) if domain else emit(op_type, [_float(x)])
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} ({'graphc.' if domain else 'ONNX '}{op_type})."
    return keras_op("x")(fn)


sin = _unary_op("sin", "Sin")
cos = _unary_op("cos", "Cos")
tan = _unary_op("tan", "Tan")
arcsin = _unary_op("arcsin", "Asin")
arccos = _unary_op("arccos", "Acos")
arctan = _unary_op("arctan", "Atan")
sinh = _unary_op("sinh", "Sinh")
cosh = _unary_op("cosh", "Cosh")
arcsinh = _unary_op("arcsinh", "Asinh")
arccosh = _unary_op("arccosh", "Acosh")
arctanh = _unary_op("arctanh", "Atanh")
expm1 = _unary_op("expm1", "Expm1", "graphc")
log1p = _unary_op("log1p", "Log1p", "graphc")


def _where(c, a, b):
    return emit("Where", [c, a, b])


def _eq(a, b):
    return emit("Equal", [a, b])


def _lt(a, b):
    return emit("Less", [a, b])


def _not(a):
    return emit("Not", [a])


def _or(a, b):
    return emit("Or", [a, b])


def _and(a, b):
    return emit("And", [a, b])


def _static_len(x, axis, what):
    """The length of ``x`` along ``axis``, which keras.ops ``what`` needs known to trace."""
    n = x.ir_shape[axis]
    if isinstance(n, str):
        raise ShapeError(f"keras.ops.{what}: axis {axis} of {x.shape} must have a known length to trace "
                         f"(it is the symbolic {n!r})")
    return n


def _like(x, v):
    """A scalar const of ``x``'s dtype (comparisons need both sides in one dtype)."""
    from .core import _tracer
    return _tracer([x]).const(np.asarray(v, dtype=x.dtype))


def _pair(x1, x2):
    """Two float tensors (a Python scalar takes the other's dtype)."""
    from .core import convert_to_tensor
    from ..engine.trace import SymbolicValue
    from ..engine.variable import Variable
    x1, x2 = _float(x1), _float(x2)
    dtype = next((v.dtype for v in (x1, x2) if isinstance(v, (SymbolicValue, Variable))), "float32")
    return [v if isinstance(v, SymbolicValue) else convert_to_tensor(v, dtype=dtype) for v in (x1, x2)]


@keras_op("x1", "x2")
def arctan2(x1, x2):
    """atan(x1 / x2) in the quadrant of (x2, x1): +-pi added for x2 < 0, +-pi/2 on x2 = 0."""
    y, x = _pair(x1, x2)
    zero = _like(x, 0.0)
    x_zero = _eq(x, zero)
    base = emit("Atan", [emit("Div", [y, _where(x_zero, _like(x, 1.0), x)])])
    pi = _where(_lt(y, zero), _like(x, -math.pi), _like(x, math.pi))
    left = emit("Add", [base, pi])
    on_axis = emit("Mul", [emit("Sign", [y]), _like(x, math.pi / 2)])
    return _where(x_zero, on_axis, _where(_lt(x, zero), left, base))


@keras_op("x")
def log2(x): return emit("Mul", [emit("Log", [_float(x)]), 1.0 / math.log(2.0)])
@keras_op("x")
def log10(x): return emit("Mul", [emit("Log", [_float(x)]), 1.0 / math.log(10.0)])
@keras_op("x")
def exp2(x): return emit("Exp", [emit("Mul", [_float(x), math.log(2.0)])])
@keras_op("x")
def fabs(x): return emit("Abs", [_float(x)])
@keras_op("x")
def deg2rad(x): return emit("Mul", [_float(x), math.pi / 180.0])
@keras_op("x")
def rad2deg(x): return emit("Mul", [_float(x), 180.0 / math.pi])


@keras_op("x")
def cbrt(x):
    """sign(x) * |x|^(1/3)."""
    x = _float(x)
    return emit("Mul", [emit("Sign", [x]), emit("Pow", [emit("Abs", [x]), 1.0 / 3.0])])


@keras_op("x")
def trunc(x):
    """Round toward zero: sign(x) * floor(|x|)."""
    x = _float(x)
    return emit("Mul", [emit("Sign", [x]), emit("Floor", [emit("Abs", [x])])])


@keras_op("x1", "x2")
def floor_divide(x1, x2):
    x1, x2 = _pair(x1, x2)
    return emit("Floor", [emit("Div", [x1, x2])])


def _remainder(x1, x2, rounding, sign_of):
    """x1 - rounding(x1 / x2) * x2, corrected by one x2 where rounding of the quotient crossed an integer
    (the result keeps the sign of ``sign_of`` and stays below |x2|, as numpy's)."""
    q = emit(rounding, [emit("Div", [x1, x2])]) if rounding == "Floor" else trunc.traced(emit("Div", [x1, x2]))
    r = emit("Sub", [x1, emit("Mul", [q, x2])])
    zero = _like(r, 0.0)
    wrong = _and(_not(_eq(r, zero)), _not(_eq(_lt(r, zero), _lt(sign_of, zero))))
    fix = emit("Add", [r, x2]) if sign_of is x2 else emit("Add", [r, emit("Mul", [emit("Abs", [x2]),
                                                                                  emit("Sign", [x1])])])
    return _where(wrong, fix, r)


@keras_op("x1", "x2")
def mod(x1, x2):
    """numpy's remainder: the result has the sign of x2."""
    x1, x2 = _pair(x1, x2)
    return _remainder(x1, x2, "Floor", x2)


@keras_op("x1", "x2")
def fmod(x1, x2):
    """C's fmod: the result has the sign of x1."""
    x1, x2 = _pair(x1, x2)
    return _remainder(x1, x2, "Trunc", x1)


@keras_op("x1", "x2")
def hypot(x1, x2):
    """sqrt(x1^2 + x2^2) scaled by max(|x1|, |x2|) so squares cannot overflow."""
    x1, x2 = _pair(x1, x2)
    a, b = emit("Abs", [x1]), emit("Abs", [x2])
    m = emit("Max", [a, b])
    safe = _where(_eq(m, _like(m, 0.0)), _like(m, 1.0), m)
    ra, rb = emit("Div", [a, safe]), emit("Div", [b, safe])
    return emit("Mul", [m, emit("Sqrt", [emit("Add", [emit("Mul", [ra, ra]), emit("Mul", [rb, rb])])])])


def _logaddexp(x1, x2, base_log):
    m = emit("Max", [x1, x2])
    d = emit("Neg", [emit("Abs", [emit("Sub", [x1, x2])])])
    if base_log == 1.0:
        tail = emit("Log1p", [emit("Exp", [d])], domain="graphc")
    else:
        tail = emit("Mul", [emit("Log1p", [emit("Exp", [emit("Mul", [d, base_log])])], domain="graphc"),
                            1.0 / base_log])
    return emit("Add", [m, tail])


@keras_op("x1", "x2")
def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)) = max + log1p(exp(-|x1 - x2|))."""
    return _logaddexp(*_pair(x1, x2), 1.0)


@keras_op("x1", "x2")
def logaddexp2(x1, x2):
    """log2(2^x1 + 2^x2) = max + log2(1 + 2^-|x1 - x2|)."""
    return _logaddexp(*_pair(x1, x2), math.log(2.0))


@keras_op("x1", "x2")
def heaviside(x1, x2):
    """0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0."""
    x1, x2 = _pair(x1, x2)
    zero = _like(x1, 0.0)
    pos = _where(emit("Greater", [x1, zero]), _like(x1, 1.0), x2)
    return _where(_lt(x1, zero), zero, pos)


@keras_op("x1", "x2")
def divide_no_nan(x1, x2):
    """x1 / x2, and 0 where x2 == 0."""
    x1, x2 = _pair(x1, x2)
    z = _eq(x2, _like(x2, 0.0))
    q = emit("Div", [x1, _where(z, _like(x2, 1.0), x2)])
    return _where(z, _like(q, 0.0), q)


@keras_op("x")
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's largest finite value), -inf -> ``neginf``."""
    x = _float(x)
    big = float(np.finfo(x.dtype).max)
    pinf = _eq(x, _like(x, np.inf))
    ninf = _eq(x, _like(x, -np.inf))
    y = _where(pinf, _like(x, big if posinf is None else posinf), x)
    y = _where(ninf, _like(x, -big if neginf is None else neginf), y)
    return _where(isnan.traced(x), _like(x, nan), y)


@keras_op("x")
def isnan(x):
    x = _float(x)
    return _not(_eq(x, x))


@keras_op("x")
def isinf(x):
    x = _float(x)
    return _eq(emit("Abs", [x]), _like(x, np.inf))


@keras_op("x")
def isfinite(x):
    x = _float(x)
    return _lt(emit("Abs", [x]), _like(x, np.inf))


@keras_op("x")
def isneginf(x):
    x = _float(x)
    return _eq(x, _like(x, -np.inf))


@keras_op("x")
def isposinf(x):
    x = _float(x)
    return _eq(x, _like(x, np.inf))


@keras_op("x")
def signbit(x):
    """True where x < 0 or x is -0.0 (1 / -0.0 = -inf)."""
    x = _float(x)
    zero = _like(x, 0.0)
    return _or(_lt(x, zero), _lt(emit("Reciprocal", [x]), zero))


@keras_op("x")
def sinc(x):
    """sin(pi x) / (pi x), 1 at 0."""
    x = _float(x)
    z = _eq(x, _like(x, 0.0))
    px = emit("Mul", [_where(z, _like(x, 1.0), x), math.pi])
    return _where(z, _like(x, 1.0), emit("Div", [emit("Sin", [px]), px]))


def _nan_aware(x1, x2, op_type):
    x1, x2 = _pair(x1, x2)
    both = emit(op_type, [x1, x2])
    return _where(isnan.traced(x1), x2, _where(isnan.traced(x2), x1, both))


@keras_op("x1", "x2")
def fmax(x1, x2):
    """Elementwise maximum that ignores NaNs (NaN only where both are NaN)."""
    return _nan_aware(x1, x2, "Max")


@keras_op("x1", "x2")
def fmin(x1, x2):
    return _nan_aware(x1, x2, "Min")


@keras_op("x1", "x2")
def ldexp(x1, x2):
    """x1 * 2**x2."""
    x1, x2 = _pair(x1, x2)
    return emit("Mul", [x1, emit("Pow", [_like(x1, 2.0), x2])])


def _truth(x):
    from ..engine.trace import SymbolicValue
    if isinstance(x, SymbolicValue) and x.dtype == "bool":
        return x
    x = _float(x)
    return _not(_eq(x, _like(x, 0.0)))


@keras_op("x1", "x2")
def logical_xor(x1, x2):
    return _not(_eq(_truth(x1), _truth(x2)))


@keras_op("x1", "x2")
def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|x1 - x2| <= atol + rtol * |x2| (equal infinities are close; NaNs only with ``equal_nan``)."""
    x1, x2 = _pair(x1, x2)
    diff = emit("Abs", [emit("Sub", [x1, x2])])
    tol = emit("Add", [emit("Mul", [emit("Abs", [x2]), float(rtol)]), float(atol)])
    close = _or(_eq(x1, x2), _and(emit("LessOrEqual", [diff, tol]), isfinite.traced(x2)))
    if equal_nan:
        close = _or(close, _and(isnan.traced(x1), isnan.traced(x2)))
    return close


@keras_op("x1", "x2")
def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """A bool scalar: isclose everywhere."""
    c = cast.traced(isclose.traced(x1, x2, rtol, atol, equal_nan), "float32")
    return cast.traced(emit("ReduceMin", [c], keepdims=0), "bool")


@keras_op("condlist", "choicelist", "default")
def select(condlist, choicelist, default=0):
    """The choice of the first true condition, elementwise; ``default`` where none holds."""
    from .core import convert_to_tensor
    from ..engine.trace import SymbolicValue
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: condlist and choicelist must have the same length, received "
                         f"{len(condlist)} and {len(choicelist)}")
    dtype = next((c.dtype for c in choicelist if isinstance(c, SymbolicValue)), "float32")
    out = default if isinstance(default, SymbolicValue) else convert_to_tensor(default, dtype=dtype)
    for c, v in reversed(list(zip(condlist, choicelist))):
        v = v if isinstance(v, SymbolicValue) else convert_to_tensor(v, dtype=dtype)
        out = _where(_truth(c), v, out)
    return out


@keras_op("x")
def conj(x):
    """Complex conjugate: graphc tensors are real, so x itself."""
    return emit("Identity", [x])


@keras_op("x")
def conjugate(x): return emit("Identity", [x])
@keras_op("x")
def real(x): return emit("Identity", [x])
