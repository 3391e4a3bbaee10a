"""Floor, Ceil, Round (half to even, as ONNX and numpy) and Erf: float elementwise ops.

Floor/Ceil/Round are piecewise constant: their gradient is zero. Erf's kernel is its Maclaurin
series for |x| < 1 (terms to x^31, error below 1e-16) and 1 - erfc(|x|) with Numerical Recipes'
Chebyshev fit of erfc (fractional error below 1.2e-7, so below 2e-8 on erf) beyond, signed;
d erf / dx = 2 / sqrt(pi) * exp(-x^2).
"""
from __future__ import annotations

import math

import numpy as np

from .elementwise import _set_grad, _unary

_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
         -0.82215223, 0.17087277)
# erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1)) = x * P(x^2)
_SERIES = [2.0 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(16)]


def _erf_ref(x):
    from math import erf
    return np.vectorize(erf, otypes=[np.float64])(x)


def _erf(s, x):
    ax = s.abs(x)
    small = s.mul(x, s.poly(s.mul(x, x), _SERIES))
    t = s.div(1.0, s.fma(ax, 0.5, 1.0))
    erfc = s.mul(t, s.exp(s.add(s.neg(s.mul(ax, ax)), s.poly(t, list(_ERFC)))))
    large = s.copysign(s.sub(1.0, erfc), x)
    return s.select(s.cmp("<", ax, 1.0), small, s.select(s.is_nan(x), x, large))


def _round_half_even(s, x):
    f = s.floor(x)
    d = s.sub(x, f)
    half = s.mul(f, 0.5)
    even = s.cmp("==", s.floor(half), half)
    tie = s.select(even, f, s.add(f, 1.0))
    return s.select(s.cmp(">", d, 0.5), s.add(f, 1.0), s.select(s.cmp("<", d, 0.5), f, tie))


def _ceil(s, x):
    return s.neg(s.floor(s.neg(x)))


_unary("Floor", lambda op, x: np.floor(x), lambda s, op, x: s.select(s.is_nan(x), x, s.floor(x)))
_unary("Ceil", lambda op, x: np.ceil(x), lambda s, op, x: s.select(s.is_nan(x), x, _ceil(s, x)))
_unary("Round", lambda op, x: np.round(x), lambda s, op, x: s.select(s.is_nan(x), x, _round_half_even(s, x)))
_unary("Erf", lambda op, x: _erf_ref(x), lambda s, op, x: _erf(s, x))


def _zero_grad(ctx, op, dys):
    return [ctx.emit("Mul", [dys[0], ctx.const(0.0, ctx.type(dys[0]).dtype)])]


def _grad_erf(ctx, op, dys):
    x, dt = ctx.inputs[0], ctx.type(ctx.inputs[0]).dtype
    gauss = ctx.emit("Exp", [ctx.emit("Neg", [ctx.emit("Mul", [x, x])])])
    return [ctx.emit("Mul", [dys[0], ctx.emit("Mul", [gauss, ctx.const(2.0 / math.sqrt(math.pi), dt)])])]


for _t in ("Floor", "Ceil", "Round"):
    _set_grad(_t, _zero_grad)
_set_grad("Erf", _grad_erf)
