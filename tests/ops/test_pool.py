"""MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool against onnx.reference and onnxruntime.

onnx.reference (onnx 1.23) gets some MaxPool configurations wrong: SAME_LOWER, and pads with
ceil_mode or with 1-D/3-D inputs when every stride and dilation is 1 (its 2-D-only fast
path), and GlobalMaxPool on inputs that are not 4-D. Those cases are checked against
onnxruntime instead, another oracle nobody here wrote.
"""
import numpy as np
import onnx.helper as oh
import onnxruntime as ort
import pytest

import graphc
from graphc.errors import ShapeError, UnsupportedOpError
from graphc.ops import registry
from harness import assert_close, build_op_graph, check_op


def _x(shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def ort_run(op_type, x, attrs):
    node = oh.make_node(op_type, ["x"], ["y"], **{k: v for k, v in attrs.items() if v is not None})
    graph = oh.make_graph([node], "t", [oh.make_tensor_value_info("x", 1, x.shape)],
                          [oh.make_tensor_value_info("y", 1, None)])
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)], ir_version=8)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def check_ort(op_type, x, attrs, extra_batches=(1, 7)):
    """Like check_op (symbolic batch, one compiled program) with onnxruntime as the oracle."""
    g = build_op_graph(op_type, [x], attrs, symbolic_batch=True)
    exe = graphc.compile(g)
    op = next(iter(g.ops()))
    for n in (x.shape[0],) + tuple(extra_batches):
        xn = np.resize(x, (n,) + x.shape[1:]).astype(x.dtype)
        expected = ort_run(op_type, xn, attrs)
        assert_close(exe.run([xn])[0], expected, what=f"{op_type} vs onnxruntime")
        assert_close(registry.run_reference(op, [xn])[0], expected, what=f"{op_type} numpy reference vs onnxruntime")


# --- MaxPool ----------------------------------------------------------------------------------

MAXPOOL_2D = [
    ((2, 3, 13, 7), dict(kernel_shape=[2, 2], strides=[2, 2])),  # Keras MaxPooling2D default, odd size
    ((1, 7, 7, 13), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ((2, 1, 13, 13), dict(kernel_shape=[3, 2], strides=[2, 3], pads=[2, 0, 1, 1])),  # asymmetric
    ((2, 3, 7, 7), dict(kernel_shape=[3, 3], pads=[1, 2, 2, 1])),  # stride 1
    ((1, 3, 7, 13), dict(kernel_shape=[1, 1], strides=[1, 2])),
    ((2, 3, 7, 7), dict(kernel_shape=[7, 7])),  # window = input
    ((1, 3, 13, 13), dict(kernel_shape=[3, 3], strides=[2, 2], dilations=[2, 2], pads=[1, 1, 2, 2])),
    ((2, 3, 13, 7), dict(kernel_shape=[2, 3], strides=[1, 2], dilations=[3, 1])),
    ((2, 3, 13, 13), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),  # onnx/ort keep a partial window
    ((2, 3, 7, 13), dict(kernel_shape=[2, 2], strides=[3, 3], pads=[1, 0, 1, 1], ceil_mode=1)),
    ((2, 3, 13, 13), dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
    ((2, 3, 7, 13), dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER")),
    ((2, 3, 13, 7), dict(kernel_shape=[3, 2], strides=[2, 1], auto_pad="VALID")),
]


@pytest.mark.parametrize("shape,attrs", MAXPOOL_2D, ids=[str(a) for _, a in MAXPOOL_2D])
def test_maxpool_2d(shape, attrs):
    check_op("MaxPool", [_x(shape)], attrs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_maxpool_symbolic_batch_and_float64(dtype):
    x = _x((3, 3, 13, 7), dtype)
    check_op("MaxPool", [x], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 1]),
             symbolic_batch=True, extra_batches=(1, 7))


MAXPOOL_ORT = [  # onnx.reference is wrong here (see the module docstring)
    ((2, 3, 13, 13), dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER")),
    ((2, 3, 7, 13), dict(kernel_shape=[2, 2], strides=[1, 1], auto_pad="SAME_LOWER")),
    ((2, 3, 7, 13), dict(kernel_shape=[2, 3], strides=[1, 2], auto_pad="SAME_LOWER")),
    ((2, 3, 13), dict(kernel_shape=[3], pads=[1, 2])),  # 1-D
    ((2, 3, 13), dict(kernel_shape=[2], auto_pad="SAME_UPPER")),
    ((2, 3, 31), dict(kernel_shape=[3], strides=[2], pads=[0, 1], ceil_mode=1)),
    ((1, 2, 7, 5, 3), dict(kernel_shape=[3, 2, 2], pads=[1, 0, 1, 1, 1, 0])),  # 3-D
    ((1, 2, 7, 7, 5), dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2])),
    ((2, 3, 7, 7), dict(kernel_shape=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
    ((2, 3, 13, 7), dict(kernel_shape=[3, 3], pads=[2, 0, 1, 2], ceil_mode=1)),
]


@pytest.mark.parametrize("shape,attrs", MAXPOOL_ORT, ids=[str(a) for _, a in MAXPOOL_ORT])
def test_maxpool_against_onnxruntime(shape, attrs):
    check_ort("MaxPool", _x(shape), attrs)


@pytest.mark.parametrize("auto_pad,pads", [("SAME_UPPER", [1, 0, 2, 1]), ("SAME_LOWER", [2, 1, 1, 0])])
def test_maxpool_same_with_dilations_follows_the_spec(auto_pad, pads):
    """SAME pads for the dilated window (ONNX spec); onnx.reference and onnxruntime both size the
    pads for the undilated one, so the oracle is the same op with the spec's explicit pads."""
    x = _x((2, 3, 7, 14))
    attrs = dict(kernel_shape=[2, 2], dilations=[3, 2], strides=[1, 3])  # total pads 3 and 1: odd
    expected, _ = check_op("MaxPool", [x], dict(attrs, pads=pads))
    g = build_op_graph("MaxPool", [x], dict(attrs, auto_pad=auto_pad))
    assert_close(graphc.compile(g).run([x])[0], expected[0])
    assert_close(registry.run_reference(next(iter(g.ops())), [x])[0], expected[0])


# --- AveragePool -----------------------------------------------------------------------------

AVGPOOL = [
    ((2, 3, 13, 7), dict(kernel_shape=[2, 2], strides=[2, 2])),
    ((2, 3, 7, 13), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ((2, 1, 13, 13), dict(kernel_shape=[3, 2], strides=[2, 3], pads=[2, 0, 1, 1])),
    ((2, 3, 7, 7), dict(kernel_shape=[3, 3], auto_pad="SAME_UPPER")),  # Keras 'same', stride 1
    ((2, 3, 7, 13), dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER")),  # Keras 'same'
    ((2, 3, 13, 7), dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER")),
    ((2, 3, 7, 13), dict(kernel_shape=[3, 2], strides=[1, 2], auto_pad="VALID")),
    ((2, 3, 13, 13), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    ((2, 3, 7, 13), dict(kernel_shape=[3, 3], strides=[3, 2], pads=[1, 0, 0, 1], ceil_mode=1)),
    ((2, 3, 13), dict(kernel_shape=[3], strides=[2], pads=[1, 2])),  # 1-D
    ((2, 3, 31), dict(kernel_shape=[2], strides=[2], auto_pad="SAME_UPPER")),
    ((1, 2, 7, 5, 3), dict(kernel_shape=[3, 2, 2], pads=[1, 0, 1, 1, 1, 0])),  # 3-D
    ((1, 2, 7, 7, 5), dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2], auto_pad="SAME_UPPER")),
]


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("shape,attrs", AVGPOOL, ids=[str(a) for _, a in AVGPOOL])
def test_averagepool(shape, attrs, count_include_pad):
    check_op("AveragePool", [_x(shape)], dict(attrs, count_include_pad=count_include_pad))


def test_averagepool_keras_same_excludes_padding():
    """Keras AveragePooling2D(padding='same') divides by the in-bounds count at the border."""
    x = np.ones((1, 1, 3, 3), np.float32)
    out, _ = check_op("AveragePool", [x], dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER"))
    np.testing.assert_array_equal(out[0], np.ones((1, 1, 2, 2), np.float32))
    out, _ = check_op("AveragePool", [x], dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER",
                                                 count_include_pad=1))
    np.testing.assert_array_equal(out[0][0, 0], [[1, 0.5], [0.5, 0.25]])


@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_averagepool_float64_symbolic_batch(count_include_pad):
    x = _x((3, 3, 13, 7), "float64")
    check_op("AveragePool", [x], dict(kernel_shape=[3, 3], strides=[2, 1], pads=[1, 1, 2, 0], ceil_mode=1,
                                      count_include_pad=count_include_pad), symbolic_batch=True, extra_batches=(1, 7))


# --- global pools ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op_type", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("shape", [(2, 3, 7, 13), (3, 31, 1, 1), (2, 1, 13, 3)])
def test_global_pool_2d(op_type, shape, dtype):
    check_op(op_type, [_x(shape, dtype)], {}, symbolic_batch=True, extra_batches=(1, 7))


@pytest.mark.parametrize("shape", [(2, 3, 13), (2, 3, 7, 5, 3)])
def test_global_average_pool_1d_3d(shape):
    check_op("GlobalAveragePool", [_x(shape)], {}, symbolic_batch=True, extra_batches=(1, 7))


@pytest.mark.parametrize("shape", [(2, 3, 13), (2, 3, 7, 5, 3)])
def test_global_max_pool_1d_3d(shape):
    check_ort("GlobalMaxPool", _x(shape), {})


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("op_type,shape,attrs,match", [
    ("MaxPool", (2, 3, 7, 7), dict(kernel_shape=[3]), "kernel_shape expected 2 integers"),
    ("MaxPool", (2, 3, 7, 7), dict(kernel_shape=[3, 3], strides=[0, 1]), "strides expected 2 integers >= 1"),
    ("MaxPool", (2, 3, 7, 7), dict(kernel_shape=[3, 3], pads=[1, 1]), "pads expected 4 integers"),
    ("MaxPool", (2, 3, 7, 7), dict(kernel_shape=[3, 3], pads=[3, 0, 0, 0]), "must be smaller than the window"),
    ("AveragePool", (2, 3, 2, 7), dict(kernel_shape=[3, 3]), "does not fit spatial axis 0 of size 2"),
    ("AveragePool", (2, 3), dict(kernel_shape=[3]), "rank >= 3"),
    ("GlobalMaxPool", (2, 3), {}, "rank >= 3"),
])
def test_pool_shape_errors(op_type, shape, attrs, match):
    with pytest.raises(ShapeError, match=match) as e:
        build_op_graph(op_type, [_x(shape)], attrs)
    assert op_type in str(e.value)


def test_pool_symbolic_spatial_dims_are_rejected():
    from graphc.ir import GraphBuilder
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 3, "H", 7))
    with pytest.raises(ShapeError, match="spatial dimensions must be static"):
        b.op("MaxPool", [x], kernel_shape=[2, 2])


def test_maxpool_indices_output_is_unsupported():
    with pytest.raises(UnsupportedOpError, match="Indices"):
        build_op_graph("MaxPool", [_x((1, 1, 4, 4))], dict(kernel_shape=[2, 2]), n_out=2)
