"""Activations of the recurrent ops' cells (ONNX RNN/GRU/LSTM ``activations``): value and
derivative as ScalarEmitter code, shared by the forward and backward kernels (kernels/rnn.py).

In float32, tanh and sigmoid (five evaluations per LSTM cell and step, forward and backward) take
cheaper forms than ScalarEmitter's ~1 ulp ones, which made the forward cell cost as much as its
step's whole recurrent product: tanh is a rational minimax approximation on [-7.9, 7.9] (odd
numerator of degree 13 over an even denominator of degree 6, as Eigen and onnxruntime's MLAS use
for their LSTM cells; about 6 ulp, relative error below 4e-7 everywhere including near 0), and
sigmoid is ``1 / (1 + exp(-x))`` with ``exp`` on the clamped range [-87, 87] only (one power of
two, no overflow or underflow selects; about 3 ulp). Both give NaN for NaN. float64 keeps
ScalarEmitter's functions (the finite-difference gradient checks run in float64).
"""
from __future__ import annotations

import math

from llvmlite import ir

# name -> (default alpha, default beta); None where the function takes no such parameter
ACTIVATIONS = {
    "tanh": (None, None), "sigmoid": (None, None), "relu": (None, None), "softsign": (None, None),
    "softplus": (None, None), "hardsigmoid": (0.2, 0.5), "leakyrelu": (0.01, None), "elu": (1.0, None),
    "affine": (1.0, 0.0), "thresholdedrelu": (1.0, None), "scaledtanh": (1.0, 1.0),
}


# tanh(x) ~ x * P(x^2) / Q(x^2) on [-TANH_CLAMP, TANH_CLAMP] (float32; Eigen's generic_fast_tanh_float)
TANH_CLAMP = 7.90531110763549805
TANH_P = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
          -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16)
TANH_Q = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)
SIGMOID_CLAMP = 87.0  # exp(+-87) and 2**(+-126) stay normal floats


def tanh(s, x):
    if s.dtype != "float32":
        return s.tanh(x)
    xc = s.clip(x, -TANH_CLAMP, TANH_CLAMP)  # NaN passes the clip (ScalarEmitter.max/min keep x's NaN)
    x2 = s.mul(xc, xc)
    return s.div(s.mul(xc, s.poly(x2, TANH_P)), s.poly(x2, TANH_Q))


def sigmoid(s, x):
    if s.dtype != "float32":
        return s.sigmoid(x)
    z = s.clip(s.neg(x), -SIGMOID_CLAMP, SIGMOID_CLAMP)
    n = s.floor(s.fma(z, 1.0 / math.log(2.0), 0.5))
    r = s.sub(s.sub(z, s.mul(n, 0.693359375)), s.mul(n, -2.12194440e-4))  # Cody-Waite ln 2
    p = s.poly(r, [1.0 / math.factorial(k) for k in range(8)])
    bits = s.b.shl(s.b.add(s.b.fptosi(n, ir.IntType(32)), ir.Constant(ir.IntType(32), 127)),
                   ir.Constant(ir.IntType(32), 23))
    e = s.mul(p, s.b.bitcast(bits, s.ty))
    return s.select(s.is_nan(x), x, s.div(1.0, s.add(e, 1.0)))


def act_value(s, act, x):
    name, alpha, beta = act
    if name == "tanh":
        return tanh(s, x)
    if name == "sigmoid":
        return sigmoid(s, x)
    if name == "relu":
        return s.max(x, 0.0)
    if name == "softsign":
        return s.div(x, s.add(s.abs(x), 1.0))
    if name == "softplus":
        return s.softplus(x)
    if name == "hardsigmoid":
        return s.clip(s.fma(x, alpha, beta), 0.0, 1.0)
    if name == "leakyrelu":
        return s.select(s.cmp(">=", x, 0.0), x, s.mul(x, alpha))
    if name == "elu":
        return s.select(s.cmp(">=", x, 0.0), x, s.mul(s.expm1(x), alpha))
    if name == "affine":
        return s.fma(x, alpha, beta)
    if name == "thresholdedrelu":
        return s.select(s.cmp(">", x, alpha), x, 0.0)
    if name == "scaledtanh":
        return s.mul(s.tanh(s.mul(x, beta)), alpha)
    raise ValueError(f"unknown activation {name!r}")


def act_deriv(s, act, x, y=None):
    """d act / dx at x; ``y`` (optional) is act(x), which tanh and sigmoid reuse."""
    name, alpha, beta = act
    if name == "tanh":
        t = tanh(s, x) if y is None else y
        return s.sub(1.0, s.mul(t, t))
    if name == "sigmoid":
        g = sigmoid(s, x) if y is None else y
        return s.mul(g, s.sub(1.0, g))
    if name == "relu":
        return s.select(s.cmp(">", x, 0.0), 1.0, 0.0)
    if name == "softsign":
        d = s.add(s.abs(x), 1.0)
        return s.div(1.0, s.mul(d, d))
    if name == "softplus":
        return s.sigmoid(x)
    if name == "hardsigmoid":
        y = s.fma(x, alpha, beta)
        return s.select(s.b.and_(s.cmp(">", y, 0.0), s.cmp("<", y, 1.0)), alpha, 0.0)
    if name == "leakyrelu":
        return s.select(s.cmp(">=", x, 0.0), 1.0, alpha)
    if name == "elu":
        return s.select(s.cmp(">=", x, 0.0), 1.0, s.mul(s.exp(x), alpha))
    if name == "affine":
        return s.c(alpha)
    if name == "thresholdedrelu":
        return s.select(s.cmp(">", x, alpha), 1.0, 0.0)
    if name == "scaledtanh":
        t = s.tanh(s.mul(x, beta))
        return s.mul(s.sub(1.0, s.mul(t, t)), alpha * beta)
    raise ValueError(f"unknown activation {name!r}")
