"""``keras.activations``: activation functions by name, traced into IR ops (Keras 3 formulas)."""
from __future__ import annotations

from . import ops


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras 3's relu: x where x > threshold (else 0), clipped at max_value, minus
    negative_slope * relu(threshold - x)."""
    if not threshold:
        if negative_slope and max_value is None:
            return ops.leaky_relu(x, negative_slope)
        y = ops.relu(x) if max_value is None else ops.clip(x, 0.0, float(max_value))
        if negative_slope:
            y = ops.subtract(y, ops.multiply(ops.relu(ops.negative(x)), float(negative_slope)))
        return y
    from .ops.core import emit
    step = ops.relu(emit("Sign", [ops.subtract(x, float(threshold))]))  # 1.0 where x > threshold, else 0.0
    y = ops.multiply(x, step)
    if max_value is not None:
        y = ops.clip(y, 0.0, float(max_value))
    if negative_slope:
        y = ops.subtract(y, ops.multiply(ops.relu(ops.subtract(float(threshold), x)), float(negative_slope)))
    return y


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope)


def relu6(x):
    return ops.relu6(x)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def selu(x):
    return ops.selu(x)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def silu(x):
    return ops.silu(x)


swish = silu


def sigmoid(x):
    return ops.sigmoid(x)


def hard_sigmoid(x):
    return ops.hard_sigmoid(x)


def tanh(x):
    return ops.tanh(x)


def exponential(x):
    return ops.exp(x)


def linear(x):
    return x


def softmax(x, axis=-1):
    return ops.softmax(x, axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis)


def gelu(x, approximate=False):
    """Keras 3's activation gelu defaults to the exact erf form (keras.ops.gelu to the tanh form)."""
    return ops.gelu(x, approximate)


def celu(x, alpha=1.0):
    return ops.celu(x, alpha)


def glu(x, axis=-1):
    return ops.glu(x, axis)


def hard_silu(x):
    return ops.hard_silu(x)


hard_swish = hard_silu


def hard_tanh(x):
    return ops.hard_tanh(x)


def hard_shrink(x, threshold=0.5):
    return ops.hard_shrink(x, threshold)


def soft_shrink(x, threshold=0.5):
    return ops.soft_shrink(x, threshold)


def tanh_shrink(x):
    return ops.tanh_shrink(x)


def threshold(x, threshold, default_value):
    return ops.threshold(x, threshold, default_value)


def sparse_plus(x):
    return ops.sparse_plus(x)


def sparse_sigmoid(x):
    return ops.sparse_sigmoid(x)


def squareplus(x, b=4):
    return ops.squareplus(x, b)


def log_sigmoid(x):
    return ops.log_sigmoid(x)


def mish(x):
    """x * tanh(softplus(x)) (Keras 3 has no keras.ops.mish)."""
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


_ALL = {f.__name__: f for f in (relu, leaky_relu, relu6, elu, selu, softplus, softsign, silu, sigmoid,
                                 hard_sigmoid, tanh, exponential, linear, softmax, log_softmax, gelu, celu, glu,
                                 hard_silu, hard_tanh, hard_shrink, soft_shrink, tanh_shrink, threshold,
                                 sparse_plus, sparse_sigmoid, squareplus, log_sigmoid, mish)}
_ALL["swish"] = silu
_ALL["hard_swish"] = hard_silu


def get(identifier):
    """An activation function from None (linear), a name, a serialized dict or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        identifier = identifier.get("config", identifier.get("class_name"))
        if isinstance(identifier, dict):
            identifier = identifier.get("name")
    if isinstance(identifier, str):
        fn = _ALL.get(identifier)
        if fn is None:
            raise ValueError(f"Could not interpret activation function identifier: {identifier!r}. "
                             f"Known: {sorted(_ALL)}")
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(fn):
    for name, f in _ALL.items():
        if f is fn:
            return name
    name = getattr(fn, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize activation {fn!r}: it has no name")
    return name
