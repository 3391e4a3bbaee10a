"""More activation and normalization functions of ``keras.ops`` (Keras 3's formulas, JAX backend),
lowered to registry ops, plus ``multi_hot`` and ``sparsemax``."""
from __future__ import annotations

import numpy as np

from .core import _reduce, _tracer, cast, emit, reshape
from .dispatch import keras_op
from .math_ext import _float, _like

__all__ = ["hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink", "glu", "sparse_plus", "sparse_sigmoid",
           "squareplus", "threshold", "normalize", "layer_normalization", "rms_normalization", "multi_hot",
           "sparsemax"]


def _where(c, a, b):
    return emit("Where", [c, a, b])


@keras_op("x")
def hard_tanh(x):
    x = _float(x)
    return emit("Clip", [x, _like(x, -1.0), _like(x, 1.0)])


@keras_op("x")
def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    x = _float(x)
    return _where(emit("Greater", [emit("Abs", [x]), _like(x, threshold)]), x, _like(x, 0.0))


@keras_op("x")
def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, else 0."""
    x = _float(x)
    t = _like(x, threshold)
    inner = _where(emit("Less", [x, emit("Neg", [t])]), emit("Add", [x, t]), _like(x, 0.0))
    return _where(emit("Greater", [x, t]), emit("Sub", [x, t]), inner)


@keras_op("x")
def tanh_shrink(x):
    x = _float(x)
    return emit("Sub", [x, emit("Tanh", [x])])


@keras_op("x")
def glu(x, axis=-1):
    """a * sigmoid(b) with a, b the two halves of x along ``axis``."""
    from .array_ext import _split
    x = _float(x)
    n = x.ir_shape[axis]
    if isinstance(n, int) and n % 2:
        raise ValueError(f"glu: axis {axis} of {x.shape} must have an even length")
    a, b = _split(x, 2, axis, True)
    return emit("Mul", [a, emit("Sigmoid", [b])])


@keras_op("x")
def sparse_plus(x):
    """0 for x <= -1, x for x >= 1, (x + 1)^2 / 4 between."""
    x = _float(x)
    q = emit("Add", [x, _like(x, 1.0)])
    mid = emit("Mul", [emit("Mul", [q, q]), _like(x, 0.25)])
    return _where(emit("LessOrEqual", [x, _like(x, -1.0)]), _like(x, 0.0),
                  _where(emit("GreaterOrEqual", [x, _like(x, 1.0)]), x, mid))


@keras_op("x")
def sparse_sigmoid(x):
    """0 for x <= -1, 1 for x >= 1, (x + 1) / 2 between."""
    x = _float(x)
    return emit("Clip", [emit("Mul", [emit("Add", [x, _like(x, 1.0)]), _like(x, 0.5)]), _like(x, 0.0),
                         _like(x, 1.0)])


@keras_op("x")
def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2."""
    x = _float(x)
    return emit("Mul", [emit("Add", [x, emit("Sqrt", [emit("Add", [emit("Mul", [x, x]), _like(x, b)])])]),
                        _like(x, 0.5)])


@keras_op("x")
def threshold(x, threshold, default_value):
    """x where x > threshold, else default_value."""
    x = _float(x)
    return _where(emit("Greater", [x, _like(x, threshold)]), x, _like(x, default_value))


def _eps(epsilon):
    from .. import config
    return float(config.epsilon() if epsilon is None else epsilon)


@keras_op("x")
def normalize(x, axis=-1, order=2, epsilon=None):
    """x / max(||x||_order, epsilon) along ``axis``; order 2 as x * min(rsqrt(sum x^2), 1 / epsilon)."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    from .reduce_ext import norm
    x = _float(x)
    if x.ndim == 0:
        x = reshape.traced(x, (1,))
    eps = _eps(epsilon)
    if order == 2:
        inv = emit("Reciprocal", [emit("Sqrt", [_reduce("ReduceSum", emit("Mul", [x, x]), [axis], True)])])
        return emit("Mul", [x, emit("Min", [inv, _like(x, 1.0 / eps)])])
    return emit("Div", [x, emit("Max", [norm.traced(x, order, axis, True), _like(x, eps)])])


def _param(v, x, axes):
    """gamma/beta/scale broadcast over the normalized axes (reshaped unless they are the last axis)."""
    if v is None:
        return None
    from .core import convert_to_tensor
    from ..engine.trace import SymbolicValue
    v = v if isinstance(v, SymbolicValue) else convert_to_tensor(v, dtype=x.dtype)
    if v.ndim != x.ndim and axes != [x.ndim - 1]:
        v = reshape.traced(v, [x.ir_shape[a] if a in axes else 1 for a in range(x.ndim)])
    return v


@keras_op("x", "gamma", "beta")
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """(x - mean) * rsqrt(var + epsilon) * gamma + beta over ``axis`` (Keras's moments form)."""
    if kwargs.get("rms_scaling"):
        raise NotImplementedError("layer_normalization(rms_scaling=True) is deprecated in Keras; use "
                                  "keras.ops.rms_normalization")
    from .core import mean, var
    x = _float(x)
    axes = sorted(int(a) % x.ndim for a in np.atleast_1d(axis))
    m, v = mean.traced(x, axes, True), var.traced(x, axes, True)
    inv = emit("Reciprocal", [emit("Sqrt", [emit("Add", [v, _like(x, _eps(epsilon))])])])
    g, b = _param(gamma, x, axes), _param(beta, x, axes)
    if g is not None:
        inv = emit("Mul", [inv, g])
    res = emit("Mul", [emit("Neg", [m]), inv])
    if b is not None:
        res = emit("Add", [res, b])
    return emit("Add", [emit("Mul", [x, inv]), res])


@keras_op("x", "scale")
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x * rsqrt(mean(x^2) + epsilon) * scale over ``axis``."""
    x = _float(x)
    if x.ndim == 0:
        x = reshape.traced(x, (1,))
    axes = sorted(int(a) % x.ndim for a in np.atleast_1d(axis))
    ms = _reduce("ReduceMean", emit("Mul", [x, x]), axes, True)
    y = emit("Mul", [x, emit("Reciprocal", [emit("Sqrt", [emit("Add", [ms, _like(x, _eps(epsilon))])])])])
    s = _param(scale, x, axes)
    return y if s is None else emit("Mul", [y, s])


@keras_op("inputs")
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """1 at every class that occurs in the last axis of ``inputs`` (a 1-D input gives one vector)."""
    from .nn import one_hot
    from .core import transpose
    if num_classes is None and "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if num_classes is None:
        raise ValueError("Argument `num_classes` must be specified.")
    if sparse:
        raise NotImplementedError("multi_hot(sparse=True) is not supported by graphc (tensors are dense)")
    from .. import config
    x = inputs
    if x.dtype not in ("int64", "int32"):
        x = cast.traced(x, "int64")
    one_d = x.ndim == 1
    if one_d:
        x = reshape.traced(x, (1, -1))
    hot = one_hot(x, int(num_classes), dtype=dtype or config.floatx())  # (..., k, classes)
    y = _reduce("ReduceMax", hot, [-2], False)
    if one_d:
        y = reshape.traced(y, (int(num_classes),))
    r = y.ndim
    a = axis % r
    if a != r - 1:
        y = transpose.traced(y, list(range(a)) + [r - 1] + list(range(a, r - 1)))
    return y


@keras_op("x")
def sparsemax(x, axis=-1):
    """Sparsemax (Martins & Astudillo 2016): the Euclidean projection onto the simplex along ``axis``,
    with the sorted cumulative sums of reduce_ext's sort and cumsum."""
    from .math_ext import _static_len
    from .reduce_ext import _last, _back, _sorted, cumsum
    x = _float(x)
    x, inv = _last(x, axis)
    n = _static_len(x, x.ndim - 1, "sparsemax")
    z = _sorted(x, -1, True)  # descending
    k = _tracer([x]).const(np.arange(1, n + 1, dtype=x.dtype))
    cs = cumsum.traced(z, -1)
    support = cast.traced(emit("Greater", [emit("Add", [emit("Mul", [z, k]), _like(x, 1.0)]), cs]), x.dtype)
    k_z = _reduce("ReduceSum", support, [-1], True)
    tau = emit("Div", [emit("Sub", [_reduce("ReduceSum", emit("Mul", [support, z]), [-1], True),
                                    _like(x, 1.0)]), k_z])
    return _back(emit("Relu", [emit("Sub", [x, tau])]), inv)

