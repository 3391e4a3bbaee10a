"""ONNX node -> Keras layer: the op-by-op table behind ``graphc.convert`` (ONNX -> .h5/.keras).

``CONVERTERS[op_type](ctx, op)`` returns the KerasTensor of the node's (first) output; ``ctx`` is
``graphc.convert.KerasBuilder``: ``ctx.tensor(v)`` converts the producer of value ``v`` on demand
(so shape-computing subgraphs that only feed a Reshape are never converted), ``ctx.const(v)`` is
the array of a weight/constant value (None for a computed tensor), ``ctx.apply(op, layer, inputs,
weights)`` calls the layer, sets its weights and checks its output shape against the ONNX type.

ONNX is NCHW, so convolution, pooling, padding and BatchNormalization map to Keras layers with
``data_format="channels_first"`` (and ``axis=1``): the Keras model takes the ONNX model's inputs
unchanged, and ``Flatten`` (channels_last default: no transpose) flattens in ONNX's order. Where a
node has no exact Keras equivalent, ``ctx.fail`` raises an error naming the node and the op.
Recurrent nodes and the ops around them (Gather/Slice/Squeeze/Transpose/Concat of their outputs) are
converted by ``graphc.ops.to_keras_rnn``, which registers itself into ``CONVERTERS``.
"""
from __future__ import annotations

import numpy as np

from .registry import is_op
from .to_keras_rnn import register as _register_recurrent

CF = "channels_first"


def _attr(op, name, default=None):
    v = op.attrs.get(name)
    return default if v is None else v


def _spatial_padding(ctx, op, in_sizes, kernel, strides, dilations, pads_attr, ceil_mode=0):
    """"valid", "same" (TF's SAME_UPPER, as Keras pads) or per-axis (begin, end) pads for ZeroPadding."""
    rank = len(kernel)
    auto = _attr(op, "auto_pad", "NOTSET")
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    if auto == "VALID":
        return "valid"
    if auto == "SAME_LOWER":
        ctx.fail(op, "auto_pad=SAME_LOWER pads at the start; Keras's 'same' pads at the end")
    if any(isinstance(n, str) for n in in_sizes) and auto != "SAME_UPPER":
        ctx.fail(op, f"spatial sizes {in_sizes} are not static, so the padding cannot be matched to Keras's")
    if auto == "SAME_UPPER":
        return "same"
    pads = list(pads_attr or [0] * (2 * rank))
    begin, end = pads[:rank], pads[rank:]
    if ceil_mode:  # the last, partial window reads past the end: that is extra padding at the end
        out = [-(-(n + b + e - k) // s) + 1 for n, b, e, k, s in zip(in_sizes, begin, end, eff, strides)]
        end = [(o - 1) * s + k - n - b for o, s, k, n, b in zip(out, strides, eff, in_sizes, begin)]
    if not any(begin) and not any(end):
        return "valid"
    total = [max((-(-n // s) - 1) * s + k - n, 0) for n, s, k in zip(in_sizes, strides, eff)]
    if begin == [t // 2 for t in total] and end == [t - t // 2 for t in total]:
        return "same"
    return list(zip(begin, end))


def _padding_layer(ctx, op, x, pads):
    rank = len(pads)
    cls = getattr(ctx.keras.layers, f"ZeroPadding{rank}D")
    return ctx.apply(op, cls(pads[0] if rank == 1 else tuple(pads), data_format=CF), [x], check=False,
                     suffix="_pad")


def _conv_bias(ctx, x_value, bias):
    """The Conv producing ``x_value`` if ``bias`` is its per-channel bias added afterwards (graphc's
    Keras layers lower Conv + Add), else None."""
    conv_op = ctx.g.producer(x_value)
    if (not is_op(conv_op, "Conv") or ctx.input(conv_op, 2) or len(ctx.g.consumers(x_value)) != 1
            or ctx.const(ctx.input(conv_op, 1)) is None):
        return None
    rank = len(ctx.g.value(x_value).type.shape)
    c = ctx.const(ctx.input(conv_op, 1)).shape[0]
    if bias.ndim > rank or bias.size != c or (bias.ndim == rank - 1 and bias.shape[0] != c) or \
            (bias.ndim == rank and bias.shape[:2] != (1, c)):
        return None
    return conv_op if bias.ndim >= rank - 1 else None


def conv(ctx, op, bias=None, out_op=None):
    """Conv (``bias``/``out_op``: an Add of a per-channel bias after it, fused into the layer)."""
    x = ctx.tensor(ctx.input(op, 0))
    w, b = ctx.const(ctx.input(op, 1)), ctx.const(ctx.input(op, 2)) if ctx.input(op, 2) else None
    if w is None or (ctx.input(op, 2) and b is None):
        ctx.fail(op, "the kernel and bias must be initializers, not computed tensors")
    b = bias.reshape(-1) if bias is not None else b
    rank = w.ndim - 2
    if rank not in (1, 2, 3):
        ctx.fail(op, f"{rank}-D convolution")
    group, c_in = int(_attr(op, "group", 1)), int(x.shape[1])
    kernel = list(_attr(op, "kernel_shape") or w.shape[2:])
    strides = list(_attr(op, "strides") or [1] * rank)
    dil = list(_attr(op, "dilations") or [1] * rank)
    padding = _spatial_padding(ctx, op, list(ctx.in_type(op, 0).shape[2:]), kernel, strides, dil, _attr(op, "pads"))
    if isinstance(padding, list):
        x, padding = _padding_layer(ctx, op, x, padding), "valid"
    L = ctx.keras.layers
    common = dict(strides=tuple(strides), padding=padding, dilation_rate=tuple(dil), use_bias=b is not None,
                  data_format=CF, name=ctx.layer_name(op))
    if group == 1:
        layer = getattr(L, f"Conv{rank}D")(w.shape[0], tuple(kernel), **common)
        kw = np.transpose(w, list(range(2, w.ndim)) + [1, 0])  # (O, I, *k) -> (*k, I, O)
    elif group == c_in and w.shape[1] == 1 and rank in (1, 2):
        mult = w.shape[0] // c_in  # output channel c * mult + m reads input channel c
        layer = getattr(L, f"DepthwiseConv{rank}D")(tuple(kernel), depth_multiplier=mult, **common)
        kw = np.transpose(w.reshape((c_in, mult) + w.shape[2:]), list(range(2, w.ndim)) + [0, 1])
    else:
        ctx.fail(op, f"group={group} (only 1 or depthwise, group == input channels, have Keras layers)")
    return ctx.apply(out_op or op, layer, [x], [kw] + ([b] if b is not None else []))


def _pool(mode):
    def convert(ctx, op):
        x = ctx.tensor(ctx.input(op, 0))
        kernel = list(op.attrs["kernel_shape"])
        rank = len(kernel)
        strides = list(_attr(op, "strides") or [1] * rank)
        if any(d != 1 for d in (_attr(op, "dilations") or [])):
            ctx.fail(op, "dilated pooling")
        if mode == "max" and _attr(op, "storage_order", 0):
            ctx.fail(op, "storage_order=1")
        padding = _spatial_padding(ctx, op, list(ctx.in_type(op, 0).shape[2:]), kernel, strides, [1] * rank,
                                   _attr(op, "pads"), _attr(op, "ceil_mode", 0))
        if isinstance(padding, list):
            ctx.fail(op, f"pads {padding} match neither Keras's 'valid' nor its 'same' pooling")
        if mode == "average" and padding == "same" and _attr(op, "count_include_pad", 0):
            ctx.fail(op, "count_include_pad=1 (Keras's average pooling leaves padding out of the mean)")
        name = {"max": "MaxPooling", "average": "AveragePooling"}[mode]
        layer = getattr(ctx.keras.layers, f"{name}{rank}D")(tuple(kernel), strides=tuple(strides), padding=padding,
                                                             data_format=CF, name=ctx.layer_name(op))
        return ctx.apply(op, layer, [x])
    return convert


def _global_pool(mode, keepdims=True, x=None, op=None, ctx=None, data_format=CF):
    rank = len(ctx.in_type(op, 0).shape) - 2
    name = {"max": "GlobalMaxPooling", "average": "GlobalAveragePooling"}[mode]
    if rank not in (1, 2, 3):
        ctx.fail(op, f"global pooling over {rank} spatial axes")
    layer = getattr(ctx.keras.layers, f"{name}{rank}D")(data_format=data_format, keepdims=bool(keepdims),
                                                         name=ctx.layer_name(op))
    return ctx.apply(op, layer, [x])


def _global(mode):
    def convert(ctx, op):
        return _global_pool(mode, True, ctx.tensor(ctx.input(op, 0)), op, ctx)
    return convert


def _reduce(mode):
    def convert(ctx, op):
        rank = len(ctx.in_type(op, 0).shape)
        axes = ctx.const(ctx.input(op, 1)) if ctx.input(op, 1) else _attr(op, "axes")
        axes = None if axes is None else sorted(int(a) % rank for a in np.ravel(axes))
        formats = {tuple(range(2, rank)): CF, tuple(range(1, rank - 1)): "channels_last"}
        if axes is None or tuple(axes) not in formats or rank < 3:
            ctx.fail(op, f"a reduction over axes {axes} (only all spatial axes, NC... or N...C, map to global "
                         "pooling)")
        return _global_pool(mode, _attr(op, "keepdims", 1), ctx.tensor(ctx.input(op, 0)), op, ctx,
                            formats[tuple(axes)])
    return convert


def gemm(ctx, op):
    if _attr(op, "transA", 0) or float(_attr(op, "alpha", 1.0)) != 1.0 or float(_attr(op, "beta", 1.0)) != 1.0:
        ctx.fail(op, "transA, alpha or beta other than the defaults")
    w = ctx.const(ctx.input(op, 1))
    if w is None:
        ctx.fail(op, "B must be an initializer")
    kernel = w.T if _attr(op, "transB", 0) else w
    c = ctx.const(ctx.input(op, 2)) if ctx.input(op, 2) else None
    if ctx.input(op, 2) and c is None:
        ctx.fail(op, "C must be an initializer")
    return _dense(ctx, op, ctx.tensor(ctx.input(op, 0)), kernel, c)


def _dense(ctx, op, x, kernel, bias):
    units = kernel.shape[1]
    if bias is not None:
        if bias.size not in (1, units):
            ctx.fail(op, f"a bias of shape {bias.shape} for {units} units")
        bias = np.broadcast_to(bias.reshape(-1), (units,)).copy()
    layer = ctx.keras.layers.Dense(units, use_bias=bias is not None, name=ctx.layer_name(op))
    return ctx.apply(op, layer, [x], [kernel] + ([bias] if bias is not None else []))


def matmul(ctx, op):
    w = ctx.const(ctx.input(op, 1))
    if w is None or w.ndim != 2:
        ctx.fail(op, "only a product with a 2-D initializer (a Dense kernel) has a Keras layer")
    return _dense(ctx, op, ctx.tensor(ctx.input(op, 0)), w, None)


def _merge(cls):
    def convert(ctx, op):
        ins = [v for v in ctx.g.op_inputs(op) if v is not None]
        consts = [ctx.const(v) for v in ins]
        if cls == "Add" and len(ins) == 2 and sum(c is not None for c in consts) == 1:
            x, b = (ins[1], consts[0]) if consts[0] is not None else (ins[0], consts[1])
            mm = ctx.g.producer(x)
            if is_op(mm, "MatMul") and len(ctx.g.consumers(x)) == 1 and ctx.const(ctx.input(mm, 1)) is not None:
                return _dense(ctx, op, ctx.tensor(ctx.input(mm, 0)), ctx.const(ctx.input(mm, 1)), b)
            conv_op = _conv_bias(ctx, x, b)
            if conv_op is not None:
                return conv(ctx, conv_op, bias=b, out_op=op)
        if cls == "Multiply" and len(ins) == 2 and sum(c is not None for c in consts) == 1:
            x, c = (ins[1], consts[0]) if consts[0] is not None else (ins[0], consts[1])
            return _rescale(ctx, op, x, c, 1.0)
        if any(c is not None for c in consts):
            ctx.fail(op, "an operand is a constant (Keras merge layers combine model tensors only)")
        shapes = {tuple(ctx.g.value(v).type.shape) for v in ins}
        if len(shapes) != 1:
            ctx.fail(op, f"operands of different shapes {sorted(map(str, shapes))} (Keras merges do not broadcast)")
        if len(ins) == 1:
            return ctx.tensor(ins[0])
        return ctx.apply(op, getattr(ctx.keras.layers, cls)(name=ctx.layer_name(op)), [ctx.tensor(v) for v in ins])
    return convert


def _rescale(ctx, op, x, c, inverse):
    """x * c (``inverse`` -1: x / c, where 1 / c is exact) as Rescaling, for a scalar constant c."""
    v = _scalar(c)
    if v is None or (inverse < 0 and (v == 0 or np.frexp(v)[0] not in (0.5, -0.5))):
        ctx.fail(op, "only a product with a scalar constant, or a quotient by a power of two, has a Keras layer "
                     "(Rescaling)")
    layer = ctx.keras.layers.Rescaling(v ** inverse, name=ctx.layer_name(op))
    return ctx.apply(op, layer, [ctx.tensor(x)])


def div(ctx, op):
    c = ctx.const(ctx.input(op, 1))
    if ctx.const(ctx.input(op, 0)) is not None or c is None:
        ctx.fail(op, "only a quotient of a model tensor by a scalar constant has a Keras layer (Rescaling)")
    return _rescale(ctx, op, ctx.input(op, 0), c, -1.0)


def concat(ctx, op):
    ins = [v for v in ctx.g.op_inputs(op) if v is not None]
    if any(ctx.const(v) is not None for v in ins):
        ctx.fail(op, "an operand is a constant")
    layer = ctx.keras.layers.Concatenate(axis=int(op.attrs["axis"]), name=ctx.layer_name(op))
    return ctx.apply(op, layer, [ctx.tensor(v) for v in ins])


def _activation(name, check=None):
    def convert(ctx, op):
        if check is not None and not check(op):
            ctx.fail(op, f"attributes {op.attrs} differ from Keras's {name!r}")
        layer = ctx.keras.layers.Activation(name, name=ctx.layer_name(op))
        return ctx.apply(op, layer, [ctx.tensor(ctx.input(op, 0))])
    return convert


def _last_axis(op, ctx):
    rank = len(ctx.in_type(op, 0).shape)
    return int(_attr(op, "axis", -1)) % rank == rank - 1


def softmax(ctx, op):
    layer = ctx.keras.layers.Softmax(axis=int(_attr(op, "axis", -1)), name=ctx.layer_name(op))
    return ctx.apply(op, layer, [ctx.tensor(ctx.input(op, 0))])


def log_softmax(ctx, op):
    if not _last_axis(op, ctx):
        ctx.fail(op, "LogSoftmax over an axis other than the last")
    return _activation("log_softmax")(ctx, op)


def leaky_relu(ctx, op):
    layer = ctx.keras.layers.LeakyReLU(negative_slope=float(_attr(op, "alpha", 0.01)), name=ctx.layer_name(op))
    return ctx.apply(op, layer, [ctx.tensor(ctx.input(op, 0))])


def elu(ctx, op):
    layer = ctx.keras.layers.ELU(alpha=float(_attr(op, "alpha", 1.0)), name=ctx.layer_name(op))
    return ctx.apply(op, layer, [ctx.tensor(ctx.input(op, 0))])


def _scalar(a):
    return None if a is None or np.size(a) != 1 else float(np.ravel(a)[0])


def clip(ctx, op):
    lo = _scalar(ctx.const(ctx.input(op, 1))) if ctx.input(op, 1) else None
    hi = _scalar(ctx.const(ctx.input(op, 2))) if ctx.input(op, 2) else None
    if lo != 0.0 or (ctx.input(op, 2) and hi is None):
        ctx.fail(op, "only Clip(min=0, max=m) (ReLU(max_value=m)) has a Keras layer")
    layer = ctx.keras.layers.ReLU(max_value=hi, name=ctx.layer_name(op))
    return ctx.apply(op, layer, [ctx.tensor(ctx.input(op, 0))])


def prelu(ctx, op):
    slope = ctx.const(ctx.input(op, 1))
    if slope is None:
        ctx.fail(op, "the slope must be an initializer")
    x = ctx.tensor(ctx.input(op, 0))
    alpha = np.broadcast_to(slope, tuple(x.shape[1:])).copy()
    return ctx.apply(op, ctx.keras.layers.PReLU(name=ctx.layer_name(op)), [x], [alpha])


def batch_norm(ctx, op):
    if _attr(op, "training_mode", 0):
        ctx.fail(op, "training_mode=1")
    w = [ctx.const(ctx.input(op, i)) for i in range(1, 5)]
    if any(a is None for a in w):
        ctx.fail(op, "scale, bias, mean and variance must be initializers")
    layer = ctx.keras.layers.BatchNormalization(axis=1, epsilon=float(_attr(op, "epsilon", 1e-5)),
                                                momentum=float(_attr(op, "momentum", 0.9)), name=ctx.layer_name(op))
    return ctx.apply(op, layer, [ctx.tensor(ctx.input(op, 0))], w)


def flatten(ctx, op):
    if int(_attr(op, "axis", 1)) != 1:
        return reshape(ctx, op)
    return ctx.apply(op, ctx.keras.layers.Flatten(name=ctx.layer_name(op)), [ctx.tensor(ctx.input(op, 0))])


def reshape(ctx, op):
    """Reshape/Flatten/Squeeze/Unsqueeze that keep the batch axis: Reshape to the inferred shape."""
    src, out = ctx.in_type(op, 0).shape, ctx.g.value(ctx.g.op_outputs(op)[0]).type.shape
    if not src or not out or out[0] != src[0] or any(isinstance(d, str) for d in out[1:]):
        ctx.fail(op, f"a reshape from {tuple(src)} to {tuple(out)} (Keras's Reshape keeps the batch axis and needs "
                     "static other axes)")
    layer = ctx.keras.layers.Reshape(tuple(int(d) for d in out[1:]), name=ctx.layer_name(op))
    return ctx.apply(op, layer, [ctx.tensor(ctx.input(op, 0))])


def transpose(ctx, op):
    perm = list(op.attrs.get("perm") or reversed(range(len(ctx.in_type(op, 0).shape))))
    if perm[0] != 0:
        ctx.fail(op, f"perm={perm} moves the batch axis (Keras's Permute keeps it first)")
    return ctx.apply(op, ctx.keras.layers.Permute(tuple(perm[1:]), name=ctx.layer_name(op)),
                     [ctx.tensor(ctx.input(op, 0))])


def pad(ctx, op):
    pads = ctx.const(ctx.input(op, 1))
    value = _scalar(ctx.const(ctx.input(op, 2))) if ctx.input(op, 2) else None
    rank = len(ctx.in_type(op, 0).shape)
    if (_attr(op, "mode", "constant") != "constant" or pads is None or (value is not None and value != 0)
            or ctx.input(op, 3)):
        ctx.fail(op, "only zero padding of the spatial axes (ZeroPadding) has a Keras layer")
    pads = [int(p) for p in pads]
    begin, end = pads[:rank], pads[rank:]
    if begin[:2] != [0, 0] or end[:2] != [0, 0] or rank - 2 not in (1, 2, 3):
        ctx.fail(op, f"pads {pads} touch the batch or channel axis")
    return _padding_layer(ctx, op, ctx.tensor(ctx.input(op, 0)), list(zip(begin[2:], end[2:])))


def identity(ctx, op):
    return ctx.tensor(ctx.input(op, 0))


CONVERTERS = {
    "Conv": conv, "Gemm": gemm, "MatMul": matmul, "BatchNormalization": batch_norm,
    "MaxPool": _pool("max"), "AveragePool": _pool("average"),
    "GlobalMaxPool": _global("max"), "GlobalAveragePool": _global("average"),
    "ReduceMean": _reduce("average"), "ReduceMax": _reduce("max"),
    "Add": _merge("Add"), "Sum": _merge("Add"), "Sub": _merge("Subtract"), "Mul": _merge("Multiply"),
    "Div": div, "Max": _merge("Maximum"), "Min": _merge("Minimum"), "Mean": _merge("Average"), "Concat": concat,
    "Relu": _activation("relu"), "Sigmoid": _activation("sigmoid"), "Tanh": _activation("tanh"),
    "Softplus": _activation("softplus"), "Softsign": _activation("softsign"), "Exp": _activation("exponential"),
    "Selu": _activation("selu", lambda op: np.isclose(_attr(op, "alpha", 0), 1.6732632423543772) and
                        np.isclose(_attr(op, "gamma", 0), 1.0507009873554805)),
    "HardSigmoid": _activation("hard_sigmoid", lambda op: np.isclose(_attr(op, "alpha", 0), 1 / 6) and
                               np.isclose(_attr(op, "beta", 0), 0.5)),
    "Softmax": softmax, "LogSoftmax": log_softmax, "LeakyRelu": leaky_relu, "Elu": elu, "Clip": clip,
    "PRelu": prelu, "Flatten": flatten, "Reshape": reshape, "Squeeze": reshape, "Unsqueeze": reshape,
    "Transpose": transpose, "Pad": pad, "Identity": identity, "Dropout": identity,
}


_register_recurrent(CONVERTERS)


def converter(op):
    """The converter for ``op``, or None if no Keras layer corresponds to its op type."""
    return CONVERTERS.get(op.op_type) if not op.domain else None
