"""Neural-network functions of ``keras.ops``: activations, conv, pooling, normalization."""
from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from .core import emit, transpose
from .dispatch import keras_op

__all__ = ["relu", "relu6", "sigmoid", "tanh", "softplus", "softsign", "silu", "swish", "log_sigmoid", "elu",
           "selu", "celu", "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "gelu", "softmax", "log_softmax",
           "conv", "conv_transpose", "max_pool", "average_pool", "batch_normalization", "batch_normalization_training",
           "to_channels_first", "to_channels_last"]


@keras_op("x")
def relu(x): return emit("Relu", [x])
@keras_op("x")
def relu6(x): return emit("Clip", [x, np.float32(0.0), np.float32(6.0)])
@keras_op("x")
def sigmoid(x): return emit("Sigmoid", [x])
@keras_op("x")
def tanh(x): return emit("Tanh", [x])
@keras_op("x")
def softplus(x): return emit("Softplus", [x])
@keras_op("x")
def softsign(x): return emit("Softsign", [x])
@keras_op("x")
def silu(x): return emit("Mul", [x, emit("Sigmoid", [x])])
@keras_op("x")
def swish(x): return emit("Mul", [x, emit("Sigmoid", [x])])
@keras_op("x")
def log_sigmoid(x): return emit("Neg", [emit("Softplus", [emit("Neg", [x])])])


@keras_op("x")
def elu(x, alpha=1.0):
    return emit("Elu", [x], alpha=float(alpha))


@keras_op("x")
def selu(x):
    # Keras's constants (the ONNX defaults round them to float32 the same way)
    return emit("Selu", [x], alpha=1.6732632423543772, gamma=1.0507009873554805)


@keras_op("x")
def celu(x, alpha=1.0):
    """max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)."""
    neg = emit("Min", [x, 0.0])
    return emit("Add", [emit("Relu", [x]), emit("Mul", [emit("Sub", [emit("Exp", [emit("Div", [neg, float(alpha)])]),
                                                                       1.0]), float(alpha)])])


@keras_op("x")
def leaky_relu(x, negative_slope=0.2):
    return emit("LeakyRelu", [x], alpha=float(negative_slope))


@keras_op("x")
def hard_sigmoid(x):
    """Keras 3: relu6(x + 3) / 6 == clip(x / 6 + 0.5, 0, 1) (ONNX's default alpha is 0.2)."""
    return emit("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)


@keras_op("x")
def hard_silu(x):
    """x * hard_sigmoid(x) (Keras's hard_swish alias)."""
    return emit("Mul", [x, hard_sigmoid.traced(x)])


hard_swish = hard_silu


@keras_op("x")
def gelu(x, approximate=True):
    """Keras's default tanh form 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), or with
    ``approximate=False`` the exact 0.5 x (1 + erf(x / sqrt(2)))."""
    if not approximate:
        return emit("Mul", [emit("Mul", [x, 0.5]), emit("Add", [emit("Erf", [emit("Mul", [x, float(np.sqrt(0.5))])]),
                                                               1.0])])
    inner = emit("Mul", [emit("Add", [x, emit("Mul", [emit("Mul", [emit("Mul", [x, x]), x]), 0.044715])]),
                         float(np.sqrt(2.0 / np.pi))])
    return emit("Mul", [emit("Mul", [x, 0.5]), emit("Add", [emit("Tanh", [inner]), 1.0])])


@keras_op("x")
def softmax(x, axis=-1):
    return emit("Softmax", [x], axis=int(axis))


@keras_op("x")
def log_softmax(x, axis=-1):
    return emit("LogSoftmax", [x], axis=int(axis))


# --- layout ------------------------------------------------------------------------------
def to_channels_first(x):
    """(N, *spatial, C) -> (N, C, *spatial)."""
    r = x.ndim
    return transpose(x, [0, r - 1] + list(range(1, r - 1)))


def to_channels_last(x):
    r = x.ndim
    return transpose(x, [0] + list(range(2, r)) + [1])


def _tuple(v, n, what):
    t = tuple(v) if isinstance(v, (list, tuple)) else (v,) * n
    if len(t) != n:
        raise ShapeError(f"{what} must have {n} values for {n} spatial dimensions, received {v!r}")
    return tuple(int(a) for a in t)


def _padding_attrs(padding, spatial, kernel, strides, dilations):
    """ONNX padding attributes for Keras's 'valid'/'same'. 'same' becomes explicit pads (TF's rule:
    the extra pad at the end), which every ONNX runtime accepts, also with dilations; unknown
    spatial sizes fall back to auto_pad SAME_UPPER."""
    p = padding.lower()
    if p not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', received padding={padding!r}")
    if p == "valid":
        return {"auto_pad": "VALID"}
    if any(d is None for d in spatial):
        return {"auto_pad": "SAME_UPPER"}
    before, after = [], []
    for n, k, s, d in zip(spatial, kernel, strides, dilations):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        before.append(total // 2)
        after.append(total - total // 2)
    return {"pads": before + after}


def _channels_first(data_format):
    from .. import config
    return (data_format or config.image_data_format()) == "channels_first"


@keras_op("inputs", "kernel")
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution with a Keras kernel (*kernel_size, in_channels / groups, filters)."""
    r = inputs.ndim - 2
    kshape = kernel.shape
    x = inputs if _channels_first(data_format) else to_channels_first(inputs)
    w = transpose(kernel, [r + 1, r] + list(range(r)))  # -> ONNX (filters, cin / groups, *k)
    cin = x.shape[1]
    if cin % kshape[-2]:
        raise ShapeError(f"conv: input channels {cin} are not a multiple of the kernel's {kshape[-2]}")
    st, dl = _tuple(strides, r, "strides"), _tuple(dilation_rate, r, "dilation_rate")
    y = emit("Conv", [x, w], strides=list(st), dilations=list(dl), group=cin // kshape[-2],
             kernel_shape=list(kshape[:r]), **_padding_attrs(padding, x.shape[2:], kshape[:r], st, dl))
    return y if _channels_first(data_format) else to_channels_last(y)


def conv_transpose_pads(size, kernel, stride, dilation, padding, output_padding):
    """Keras's 'valid'/'same' (with optional output_padding) as ONNX ConvTranspose (pads_begin, pads_end,
    output_padding) along one axis, and the output size (Keras's compute_output_shape).

    Keras (as its JAX backend does) pads the stride-dilated input by (left, right) and correlates with the
    flipped kernel; ConvTranspose's pads are what that removes from the full result: ``span - 1 - left``
    and ``span - 1 - right``. A negative end pad (the output grows past the full result) becomes ONNX's
    output_padding.
    """
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        left, right = span - 1, span - 1 + extra
    else:
        pad_len = stride + span - 2 if output_padding is None else span + span % 2 - 2 + output_padding
        left = min(pad_len // 2 + pad_len % 2, span - 1)
        right = pad_len - left
    pb, pe = span - 1 - left, span - 1 - right
    out = None if size is None else (size - 1) * stride + 1 + left + right - span + 1
    return pb, max(pe, 0), max(-pe, 0), out


@keras_op("inputs", "kernel")
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """N-D transposed convolution with a Keras kernel (*kernel_size, filters, in_channels): ONNX
    ConvTranspose with explicit pads (the layout transposes as in :func:`conv`)."""
    r = inputs.ndim - 2
    kshape = kernel.shape
    x = inputs if _channels_first(data_format) else to_channels_first(inputs)
    if x.shape[1] != kshape[-1]:
        raise ShapeError(f"conv_transpose: input channels {x.shape[1]} differ from the kernel's in_channels "
                         f"{kshape[-1]} (kernel shape {tuple(kshape)})")
    if any(d is None for d in x.shape[2:]):
        raise ShapeError(f"conv_transpose: spatial dimensions must be known, received input shape {inputs.shape}")
    p = padding.lower()
    if p not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', received padding={padding!r}")
    st, dl = _tuple(strides, r, "strides"), _tuple(dilation_rate, r, "dilation_rate")
    op = [None] * r if output_padding is None else _tuple(output_padding, r, "output_padding")
    geo = [conv_transpose_pads(n, k, s, d, p, o) for n, k, s, d, o in zip(x.shape[2:], kshape[:r], st, dl, op)]
    w = transpose(kernel, [r + 1, r] + list(range(r)))  # -> ONNX (in_channels, filters, *k)
    y = emit("ConvTranspose", [x, w], strides=list(st), dilations=list(dl), kernel_shape=list(kshape[:r]),
             pads=[g[0] for g in geo] + [g[1] for g in geo], output_padding=[g[2] for g in geo])
    return y if _channels_first(data_format) else to_channels_last(y)


def _pool(op_type, inputs, pool_size, strides, padding, data_format, **attrs):
    r = inputs.ndim - 2
    k = _tuple(pool_size, r, "pool_size")
    s = k if strides is None else _tuple(strides, r, "strides")
    x = inputs if _channels_first(data_format) else to_channels_first(inputs)
    y = emit(op_type, [x], kernel_shape=list(k), strides=list(s),
             **_padding_attrs(padding, x.shape[2:], k, s, (1,) * r), **attrs)
    return y if _channels_first(data_format) else to_channels_last(y)


@keras_op("inputs")
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool("MaxPool", inputs, pool_size, strides, padding, data_format)


@keras_op("inputs")
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    # TF/Keras 'same' average pooling divides by the number of real (unpadded) elements
    return _pool("AveragePool", inputs, pool_size, strides, padding, data_format, count_include_pad=0)


def _bn(x, mean, variance, axis, offset, scale, n_out=1, **attrs):
    """ONNX BatchNormalization along ``axis`` (moved to axis 1 between Transposes when needed)."""
    r = x.ndim
    axis = axis % r
    ones = np.ones(x.shape[axis], dtype=x.dtype)
    args = [scale if scale is not None else ones, offset if offset is not None else ones * 0, mean, variance]
    if axis == 1 or r == 1:
        return emit("BatchNormalization", [x] + args, n_out=n_out, **attrs)
    perm = [0, axis] + [a for a in range(1, r) if a != axis]
    out = emit("BatchNormalization", [transpose(x, perm)] + args, n_out=n_out, **attrs)
    ys = out if n_out > 1 else [out]
    ys[0] = transpose(ys[0], [int(a) for a in np.argsort(perm)])
    return ys if n_out > 1 else ys[0]


@keras_op("x", "mean", "variance", "offset", "scale")
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset along ``axis`` (ONNX BatchNormalization)."""
    return _bn(x, mean, variance, axis, offset, scale, epsilon=float(epsilon))


def batch_normalization_training(x, moving_mean, moving_variance, axis, offset=None, scale=None, epsilon=1e-3,
                                 momentum=0.99):
    """Normalize with the batch's statistics; returns (y, new moving mean, new moving variance) with
    moving = moving * momentum + batch * (1 - momentum) (ONNX training_mode=1 == Keras 3's update)."""
    return _bn(x, moving_mean, moving_variance, axis, offset, scale, n_out=3, epsilon=float(epsilon),
               momentum=float(momentum), training_mode=1)


# --- one-hot and cross-entropies (Keras 3 JAX-backend numerics; from_logits uses graphc's fused ops) ---
__all__ += ["one_hot", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]


def _ce_axis_last(xs, axis):
    """Move ``axis`` of each tensor to the end (the fused ops reduce the last axis)."""
    r = xs[0].ndim
    a = axis % r
    if a == r - 1:
        return xs
    perm = [i for i in range(r) if i != a] + [a]
    return [transpose(x, perm) for x in xs]


def _softmax_prob_ce(target, output, axis):
    """Keras's cross-entropy of probabilities as one graphc.SoftmaxProbCrossEntropy on the logits when the
    traced ``output`` is a Softmax over the class axis (the loss of a ``Dense(..., activation="softmax")``
    classifier), with the same formula (see graphc/ops/loss_probs.py); None otherwise."""
    from ...ops.loss_probs import softmax_logits
    from ..engine.trace import SymbolicValue
    if not isinstance(output, SymbolicValue) or not isinstance(target, SymbolicValue) or output.ndim == 0:
        return None
    if target.dtype != output.dtype or tuple(target.ir_shape) != tuple(output.ir_shape):
        return None
    logits = softmax_logits(output.tracer.b.g, output.name, axis)
    if logits is None:
        return None
    return emit("SoftmaxProbCrossEntropy", [output.tracer.value(logits), target], domain="graphc", eps=_eps())


def _eps():
    from .. import config
    return float(config.epsilon())


@keras_op("x")
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot rows of ``num_classes`` (labels out of range give zero rows, as in Keras on JAX)."""
    from .. import config
    from .core import _tracer
    if sparse:
        raise NotImplementedError("one_hot(sparse=True) is not supported by graphc")
    like = _tracer([x]).const(np.zeros((int(num_classes),), dtype=dtype or config.floatx()))
    if x.dtype not in ("int64", "int32"):  # eager labels arrive as floats (dispatch.py)
        from .core import cast
        x = cast.traced(x, "int64")
    y = emit("OneHot", [x, like], domain="graphc")
    r = y.ndim
    a = axis % r
    if a != r - 1:
        y = transpose(y, list(range(a)) + [r - 1] + list(range(a, r - 1)))
    return y


def _check_same_shape(target, output):
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(f"Arguments `target` and `output` must have the same shape. Received: "
                         f"target.shape={target.shape}, output.shape={output.shape}")
    if len(target.shape) < 1:
        raise ValueError(f"Arguments `target` and `output` must be at least rank 1. Received: "
                         f"target.shape={target.shape}, output.shape={output.shape}")


@keras_op("target", "output")
def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy; from_logits uses graphc.SigmoidBinaryCrossEntropy."""
    from .core import clip, log, multiply, negative, add, subtract
    _check_same_shape(target, output)
    if from_logits:
        return emit("SigmoidBinaryCrossEntropy", [output, target], domain="graphc")
    eps = _eps()
    output = clip(output, eps, 1.0 - eps)
    bce = multiply(target, log(output))
    bce = add(bce, multiply(subtract(1.0, target), log(subtract(1.0, output))))
    return negative(bce)


@keras_op("target", "output")
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum(target * log p) along ``axis``; from_logits uses graphc.SoftmaxCrossEntropy."""
    from .core import clip, divide, log, multiply, negative, sum as _sum
    _check_same_shape(target, output)
    if from_logits:
        output, target = _ce_axis_last([output, target], axis)
        return emit("SoftmaxCrossEntropy", [output, target], domain="graphc")
    fused = _softmax_prob_ce(target, output, axis)
    if fused is not None:
        return fused
    eps = _eps()
    output = divide(output, _sum(output, axis=axis, keepdims=True))
    output = clip(output, eps, 1.0 - eps)
    return negative(_sum(multiply(target, log(output)), axis=axis))


@keras_op("target", "output")
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy with integer class targets; from_logits uses graphc.SparseSoftmaxCrossEntropy
    (a target outside [0, classes) gives NaN there; Keras on JAX gives 0, the runtime validates ranges)."""
    from .core import clip, divide, log, multiply, negative, squeeze, sum as _sum
    if len(target.shape) == len(output.shape) and target.shape[-1] == 1:
        target = squeeze(target, axis=-1)
    if len(output.shape) < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. Received: output.shape={output.shape}")
    out_shape = tuple(output.shape)
    if tuple(target.shape) != out_shape[:axis % len(out_shape)] + out_shape[axis % len(out_shape) + 1:]:
        raise ValueError(f"Arguments `target` and `output` must have the same shape up until the last dimension: "
                         f"target.shape={target.shape}, output.shape={output.shape}")
    if from_logits:
        (output,) = _ce_axis_last([output], axis)
        return emit("SparseSoftmaxCrossEntropy", [output, target], domain="graphc")
    onehot = one_hot(target, output.shape[axis], axis=axis, dtype=output.dtype)
    fused = _softmax_prob_ce(onehot, output, axis)
    if fused is not None:
        return fused
    eps = _eps()
    output = divide(output, _sum(output, axis=axis, keepdims=True))
    output = clip(output, eps, 1.0 - eps)
    return negative(_sum(multiply(onehot, log(output)), axis=axis))
