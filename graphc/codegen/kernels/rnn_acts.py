"""Activations of the recurrent ops' cells (ONNX RNN/GRU/LSTM ``activations``): value and
derivative as ScalarEmitter code, shared by the forward and backward kernels (kernels/rnn.py)."""
from __future__ import annotations

# name -> (default alpha, default beta); None where the function takes no such parameter
ACTIVATIONS = {
    "tanh": (None, None), "sigmoid": (None, None), "relu": (None, None), "softsign": (None, None),
    "softplus": (None, None), "hardsigmoid": (0.2, 0.5), "leakyrelu": (0.01, None), "elu": (1.0, None),
    "affine": (1.0, 0.0), "thresholdedrelu": (1.0, None), "scaledtanh": (1.0, 1.0),
}


def act_value(s, act, x):
    name, alpha, beta = act
    if name == "tanh":
        return s.tanh(x)
    if name == "sigmoid":
        return s.sigmoid(x)
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
        t = s.tanh(x) if y is None else y
        return s.sub(1.0, s.mul(t, t))
    if name == "sigmoid":
        g = s.sigmoid(x) if y is None else y
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
