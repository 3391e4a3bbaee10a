"""Conv (1-D, 2-D, 3-D; strides, pads, dilations, auto_pad, groups, bias) against onnx.reference."""
import numpy as np
import pytest

import graphc
from graphc.errors import ShapeError
from graphc.ir import GraphBuilder
from graphc.ops import registry
from harness import assert_close, build_op_graph, check_op


def _conv_inputs(x_shape, w_shape, bias=True, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    return [x, w, b]


def check_conv(x_shape, w_shape, attrs=None, bias=True, dtype="float32", **kw):
    """W and B are params (as the Keras front end lowers them); X is the graph input."""
    return check_op("Conv", _conv_inputs(x_shape, w_shape, bias, dtype), attrs or {}, param_slots=(1, 2), **kw)


CONV_2D = [  # (X shape, W shape, attrs)
    ((2, 1, 13, 13), (3, 1, 3, 3), {}),
    ((2, 3, 7, 13), (7, 3, 3, 3), {}),
    ((1, 3, 13, 7), (13, 3, 3, 2), dict(strides=[2, 2])),
    ((2, 7, 13, 13), (3, 7, 5, 5), dict(strides=[3, 2], pads=[2, 2, 2, 2])),
    ((2, 3, 7, 7), (3, 3, 3, 3), dict(pads=[1, 0, 2, 1])),  # asymmetric
    ((1, 3, 13, 7), (7, 3, 3, 3), dict(pads=[0, 2, 1, 0], strides=[2, 3])),
    ((2, 3, 13, 13), (3, 3, 3, 3), dict(dilations=[2, 2])),
    ((1, 3, 13, 13), (7, 3, 3, 2), dict(dilations=[3, 2], strides=[2, 1], pads=[1, 2, 0, 1])),
    ((2, 3, 1, 13), (3, 3, 1, 3), dict(pads=[0, 1, 0, 1])),  # a 1-row image
    ((2, 3, 3, 3), (31, 3, 3, 3), {}),  # 1x1 output, many filters
    ((1, 31, 7, 7), (3, 31, 3, 3), dict(pads=[1, 1, 1, 1])),  # many input channels
    ((2, 3, 7, 7), (3, 3, 3, 3), dict(pads=[4, 3, 3, 4])),  # pads larger than the kernel
    ((2, 3, 7, 13), (7, 3, 3, 3), dict(kernel_shape=[3, 3], strides=[1, 2])),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,attrs", CONV_2D, ids=[f"{x}-{w}-{a}" for x, w, a in CONV_2D])
def test_conv_2d(xs, ws, attrs, bias):
    check_conv(xs, ws, attrs, bias)


AUTO_PAD = [
    ((2, 3, 13, 7), (3, 3, 3, 3), dict(auto_pad="SAME_UPPER")),  # Keras padding='same'
    ((2, 3, 13, 7), (3, 3, 2, 2), dict(auto_pad="SAME_UPPER")),  # odd total pad: extra goes last
    ((2, 3, 13, 7), (3, 3, 2, 2), dict(auto_pad="SAME_LOWER")),  # ... and first
    ((2, 3, 13, 7), (3, 3, 3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2])),
    ((2, 3, 13, 7), (3, 3, 3, 2), dict(auto_pad="SAME_LOWER", strides=[2, 3])),
    ((2, 3, 13, 13), (3, 3, 3, 3), dict(auto_pad="SAME_UPPER", dilations=[2, 3])),
    ((2, 3, 13, 7), (3, 3, 3, 3), dict(auto_pad="VALID", strides=[2, 1])),
    ((2, 3, 7, 7), (3, 3, 1, 1), dict(auto_pad="SAME_LOWER", strides=[2, 2])),
]


@pytest.mark.parametrize("xs,ws,attrs", AUTO_PAD, ids=[f"{x}-{w}-{a}" for x, w, a in AUTO_PAD])
def test_conv_auto_pad(xs, ws, attrs):
    check_conv(xs, ws, attrs)


GROUPS = [  # (X shape, W shape, group)
    ((2, 6, 7, 7), (4, 3, 3, 3), 2),
    ((2, 6, 13, 7), (9, 2, 3, 3), 3),
    ((2, 7, 13, 13), (7, 1, 3, 3), 7),  # depthwise
    ((2, 3, 7, 13), (6, 1, 3, 3), 3),  # depthwise, channel multiplier 2
    ((1, 13, 7, 7), (13, 1, 5, 5), 13),  # depthwise 5x5
]


@pytest.mark.parametrize("attrs", [{}, dict(strides=[2, 2], pads=[1, 1, 1, 1]), dict(auto_pad="SAME_UPPER")])
@pytest.mark.parametrize("xs,ws,group", GROUPS, ids=[f"{x}-{w}-g{g}" for x, w, g in GROUPS])
def test_conv_groups(xs, ws, group, attrs):
    check_conv(xs, ws, dict(attrs, group=group))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("attrs", [{}, dict(strides=[2, 1])], ids=["pointwise", "strided"])
def test_conv_1x1(attrs, bias):
    """A stride-1 unpadded 1x1 conv multiplies the input directly, a strided one runs as graphc.DirectConv:
    neither unfolds the input into an im2col workspace."""
    _, exe = check_conv((2, 13, 7, 3), (31, 13, 1, 1), attrs, bias)
    assert not any(b.kind == "workspace" for b in exe.plan)


CONV_1D = [
    ((2, 3, 31), (7, 3, 3), {}),
    ((2, 1, 13), (3, 1, 5), dict(strides=[2], pads=[2, 1])),
    ((2, 3, 13), (3, 3, 3), dict(dilations=[3], auto_pad="SAME_UPPER")),
    ((2, 6, 13), (6, 1, 3), dict(group=6, auto_pad="SAME_LOWER", strides=[2])),
    ((2, 3, 7), (3, 3, 3), dict(auto_pad="VALID")),
]


@pytest.mark.parametrize("xs,ws,attrs", CONV_1D, ids=[f"{x}-{w}-{a}" for x, w, a in CONV_1D])
def test_conv_1d(xs, ws, attrs):
    check_conv(xs, ws, attrs)


CONV_3D = [
    ((2, 3, 7, 5, 6), (4, 3, 3, 3, 3), {}),
    ((1, 2, 7, 7, 5), (3, 2, 3, 2, 3), dict(strides=[2, 1, 2], pads=[1, 0, 2, 1, 1, 0])),
    ((1, 4, 5, 6, 7), (4, 2, 2, 3, 2), dict(group=2, dilations=[2, 1, 3], auto_pad="SAME_UPPER")),
]


@pytest.mark.parametrize("xs,ws,attrs", CONV_3D, ids=[f"{x}-{w}-{a}" for x, w, a in CONV_3D])
def test_conv_3d(xs, ws, attrs):
    check_conv(xs, ws, attrs)


@pytest.mark.parametrize("xs,ws,attrs", [((3, 3, 13, 7), (7, 3, 3, 3), dict(pads=[1, 0, 2, 1], strides=[2, 1])),
                                         ((3, 4, 7, 7), (4, 1, 3, 3), dict(group=4, auto_pad="SAME_UPPER")),
                                         ((3, 3, 13), (5, 3, 3), dict(dilations=[2]))])
def test_conv_float64_symbolic_batch(xs, ws, attrs):
    """One compiled program serves batches 3, 1 and 7; float64 has the tight tolerance."""
    check_conv(xs, ws, attrs, dtype="float64", symbolic_batch=True, extra_batches=(1, 7))


def test_conv_symbolic_batch_float32():
    check_conv((4, 1, 13, 13), (3, 1, 3, 3), dict(auto_pad="SAME_UPPER"), symbolic_batch=True, extra_batches=(1, 7))


def test_conv_weights_as_graph_inputs():
    """W and B fed at run time (not params) work too."""
    check_op("Conv", _conv_inputs((2, 3, 7, 7), (3, 3, 3, 3)), dict(pads=[1, 1, 1, 1]))


def test_cnn_stack_shares_helpers_across_geometries():
    """Three convs of different shapes and two pools in one program (shared im2col/GEMM helpers)."""
    rng = np.random.default_rng(3)
    b = GraphBuilder(name="cnn")
    x = b.input("x", "float32", ("N", 1, 13, 13))
    layers = [((5, 1, 3, 3), {}), ((7, 5, 3, 3), dict(auto_pad="SAME_UPPER")), ((3, 7, 2, 2), dict(strides=[2, 2]))]
    h, arrays = x, {}
    for i, (ws, attrs) in enumerate(layers):
        w = b.param(f"w{i}", "float32", ws)
        bias = b.param(f"b{i}", "float32", ws[:1])
        arrays[w] = rng.standard_normal(ws).astype(np.float32)
        arrays[bias] = rng.standard_normal(ws[0]).astype(np.float32)
        b.g.value(w).data, b.g.value(bias).data = arrays[w], arrays[bias]
        h = b.op("Relu", [b.op("Conv", [h, w, bias], **attrs)])
        if i < 2:
            h = b.op("MaxPool" if i == 0 else "AveragePool", [h], kernel_shape=[2, 2], strides=[1, 1])
    b.output(h)
    exe = graphc.compile(b.g)
    for n in (2, 1, 5):
        xv = rng.standard_normal((n, 1, 13, 13)).astype(np.float32)
        vals = {x: xv, **arrays}
        for op in b.g.ops():
            ins = [vals[v] for v in b.g.op_inputs(op)]
            vals[b.g.op_outputs(op)[0]] = registry.run_reference(op, ins)[0]
        assert_close(exe.run([xv])[0], vals[h], rtol=1e-4)


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("xs,ws,bs,attrs,match", [
    ((2, 4, 7, 7), (3, 3, 3, 3), None, {}, r"X channels expected W.shape\[1\] \* group = 3 \* 1 = 3"),
    ((2, 6, 7, 7), (4, 2, 3, 3), None, dict(group=2), r"X channels expected .* = 4, received"),
    ((2, 6, 7, 7), (5, 3, 3, 3), None, dict(group=2), "multiple of group 2"),
    ((2, 3, 7, 7), (4, 3, 3, 3), (3,), {}, r"B expected shape \(4,\)"),
    ((2, 3, 7, 7), (4, 3, 3, 3), None, dict(kernel_shape=[2, 2]), "kernel_shape .* disagrees with W"),
    ((2, 3, 7, 7), (4, 3, 3), None, {}, "W expected rank 4"),
    ((2, 3, 2, 7), (4, 3, 3, 3), None, {}, "does not fit spatial axis 0 of size 2"),
    ((2, 3, 7, 7), (4, 3, 3, 3), None, dict(pads=[1, 1]), "pads expected 4 integers"),
    ((2, 3, 7, 7), (4, 3, 3, 3), None, dict(strides=[1, 0]), "strides expected 2 integers >= 1"),
    ((2, 3, 7, 7), (4, 3, 3, 3), None, dict(dilations=[1, 1, 1]), "dilations expected 2 integers"),
    ((2, 3), (4, 3), None, {}, "rank >= 3"),
])
def test_conv_shape_errors(xs, ws, bs, attrs, match):
    x, w = np.zeros(xs, np.float32), np.zeros(ws, np.float32)
    b = None if bs is None else np.zeros(bs, np.float32)
    with pytest.raises(ShapeError, match=match) as e:
        build_op_graph("Conv", [x, w, b], attrs, param_slots=(1, 2))
    assert "(Conv)" in str(e.value)


def test_conv_symbolic_spatial_dims_and_dtype_mismatch():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 3, "H", 7))
    w = b.param("w", "float32", (4, 3, 3, 3))
    with pytest.raises(ShapeError, match="spatial dimensions must be static"):
        b.op("Conv", [x, w])
    x2 = b.input("x2", "float64", ("N", 3, 7, 7))
    with pytest.raises(ShapeError, match="share a dtype"):
        b.op("Conv", [x2, w])
