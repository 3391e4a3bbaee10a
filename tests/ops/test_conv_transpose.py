"""ConvTranspose (1-D/2-D/3-D; strides, pads, auto_pad, dilations, group, output_padding, output_shape,
bias) against onnxruntime and onnx.reference, and its gradient against float64 finite differences.

onnx 1.23's reference evaluator is wrong for group > 1 (it slices W by output channels) and rejects
output_shape with auto_pad NOTSET, so those cases are checked against onnxruntime only; onnxruntime
in turn clamps a negative SAME total padding to 0 (a 1x1 kernel at stride 2 gives 2*in - 1 instead of
the spec's in * strides), so that case is checked against onnx.reference only.
"""
import numpy as np
import onnx.helper as oh
import onnxruntime as ort
import pytest

import graphc
from graphc.errors import ShapeError
from graphc.ir import GraphBuilder
from graphc.ops import registry
from graphc.passes.autodiff import autodiff
from harness import assert_close, build_op_graph, check_grad, onnx_reference

RNG = np.random.default_rng(0)


def ort_run(op_type, inputs, attrs):
    names = [f"in{i}" for i in range(len(inputs))]
    node = oh.make_node(op_type, names, ["y"], **{k: v for k, v in attrs.items() if v is not None})
    elem = 1 if inputs[0].dtype == np.float32 else 11
    graph = oh.make_graph([node], "t", [oh.make_tensor_value_info(n, elem, x.shape) for n, x in zip(names, inputs)],
                          [oh.make_tensor_value_info("y", elem, None)])
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)])
    model.ir_version = 8
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, dict(zip(names, inputs)))[0]


def _inputs(xs, ws, group=1, bias=True, dtype="float32"):
    x = RNG.standard_normal(xs).astype(dtype)
    w = RNG.standard_normal(ws).astype(dtype)
    b = RNG.standard_normal(ws[1] * group).astype(dtype) if bias else None
    return [x, w] + ([b] if bias else [])


CASES = [  # (X shape, W shape, attrs, oracles)
    ((2, 3, 5, 4), (3, 2, 3, 3), {}, "both"),
    ((2, 3, 5, 4), (3, 2, 3, 2), dict(strides=[2, 3], pads=[1, 0, 0, 2]), "both"),
    ((1, 2, 5, 4), (2, 3, 3, 3), dict(strides=[2, 2], output_padding=[1, 1]), "both"),
    ((1, 2, 5, 4), (2, 3, 3, 3), dict(strides=[3, 2], output_padding=[2, 1], pads=[1, 2, 0, 1]), "both"),
    ((1, 2, 5, 4), (2, 3, 3, 3), dict(strides=[2, 2], auto_pad="SAME_UPPER"), "both"),
    ((1, 2, 5, 4), (2, 3, 4, 3), dict(strides=[2, 2], auto_pad="SAME_LOWER"), "both"),
    ((1, 2, 5, 4), (2, 3, 3, 3), dict(strides=[2, 2], auto_pad="VALID"), "both"),
    ((1, 2, 5, 4), (2, 3, 3, 3), dict(strides=[2, 2], output_shape=[10, 9]), "ort"),
    ((1, 2, 5, 4), (2, 3, 3, 3), dict(strides=[2, 2], output_shape=[10, 9], auto_pad="SAME_UPPER"), "both"),
    ((1, 2, 5, 4), (2, 3, 1, 1), dict(strides=[2, 2], auto_pad="SAME_UPPER"), "reference"),  # negative pad
    ((1, 2, 5, 4), (2, 3, 3, 3), dict(dilations=[2, 1], pads=[1, 1, 1, 1]), "both"),
    ((1, 3, 7, 6), (3, 2, 3, 2), dict(dilations=[2, 3], strides=[2, 1], pads=[0, 2, 1, 0]), "both"),
    ((2, 4, 5, 4), (4, 3, 3, 3), dict(group=2, strides=[2, 1]), "ort"),
    ((2, 6, 4, 3), (6, 1, 3, 3), dict(group=6, strides=[2, 2], pads=[1, 1, 1, 1]), "ort"),  # depthwise
    ((2, 3, 4, 4), (3, 5, 1, 1), {}, "both"),  # pointwise: no columns
    ((1, 2, 2, 2), (2, 17, 3, 3), {}, "both"),  # many output channels: transposed column layout
    ((2, 3, 9), (3, 2, 3), dict(strides=[2], pads=[2, 1], dilations=[2]), "both"),  # 1-D
    ((2, 4, 5), (4, 1, 3), dict(group=4, strides=[3], output_padding=[2]), "ort"),
    ((1, 2, 3, 4, 3), (2, 2, 2, 3, 2), dict(strides=[2, 1, 2], pads=[1, 0, 0, 0, 1, 1]), "both"),  # 3-D
    ((1, 2, 3, 3, 2), (2, 3, 3, 2, 2), dict(strides=[2, 2, 1], auto_pad="SAME_UPPER"), "both"),
]


def _check(xs, ws, attrs, oracles, bias=True, dtype="float32", symbolic_batch=False):
    ins = _inputs(xs, ws, attrs.get("group", 1), bias, dtype)
    g = build_op_graph("ConvTranspose", ins, attrs, param_slots=(1, 2), symbolic_batch=symbolic_batch)
    exe = graphc.compile(g)  # W and B are params, as the Keras layers lower them
    got = exe.run(ins[:1])[0]
    mine = registry.run_reference(next(iter(g.ops())), ins)[0]
    if oracles in ("both", "ort"):
        want = ort_run("ConvTranspose", ins, attrs)
        assert_close(got, want, what="ConvTranspose vs onnxruntime")
        assert_close(mine, want, what="numpy reference vs onnxruntime")
    if oracles in ("both", "reference"):
        want = onnx_reference("ConvTranspose", ins, attrs)[0]
        assert_close(got, want, what="ConvTranspose vs onnx.reference")
    return exe, ins


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,attrs,oracles", CASES, ids=[f"{x}-{w}-{a}" for x, w, a, _ in CASES])
def test_conv_transpose_matches_onnxruntime_and_reference(xs, ws, attrs, oracles, bias):
    _check(xs, ws, attrs, oracles, bias)


def test_float64_and_symbolic_batch():
    """onnxruntime has no float64 ConvTranspose: onnx.reference is the oracle."""
    attrs = dict(strides=[2, 1], pads=[1, 0, 0, 1])
    exe, ins = _check((2, 3, 5, 4), (3, 2, 3, 3), attrs, "reference", dtype="float64", symbolic_batch=True)
    for n in (1, 5):
        x = RNG.standard_normal((n,) + ins[0].shape[1:])
        assert_close(exe.run([x])[0], onnx_reference("ConvTranspose", [x] + ins[1:], attrs)[0])


@pytest.mark.parametrize("xs,ws,attrs,msg", [
    ((1, 3, 4, 4), (2, 2, 3, 3), {}, "W.shape\\[0\\]"),
    ((1, 2, 4, 4), (2, 2, 3), {}, "same rank"),
    ((1, 2, 4, 4), (2, 2, 3, 3), dict(kernel_shape=[2, 2]), "kernel_shape"),
    ((1, 2, 2, 2), (2, 2, 3, 3), dict(pads=[3, 3, 3, 3]), "not positive"),
    ((1, 3, 4, 4), (3, 2, 3, 3), dict(group=2), "group"),
])
def test_bad_shapes_raise_clear_errors(xs, ws, attrs, msg):
    b = GraphBuilder()
    x = b.input("x", "float32", xs)
    w = b.input("w", "float32", ws)
    with pytest.raises(ShapeError, match=msg):
        b.op("ConvTranspose", [x, w], **attrs)


GRAD_CASES = [  # small: every input element costs two native calls
    ((2, 2, 3, 3), (2, 3, 3, 3), {}),
    ((2, 2, 3, 2), (2, 2, 3, 2), dict(strides=[2, 3], pads=[1, 0, 0, 2])),
    ((1, 2, 3, 3), (2, 2, 3, 3), dict(strides=[2, 2], output_padding=[1, 0])),
    ((1, 2, 3, 3), (2, 2, 3, 3), dict(strides=[3, 2], output_padding=[2, 1], pads=[0, 1, 0, 0])),  # cropped dY
    ((1, 2, 3, 3), (2, 2, 3, 3), dict(strides=[2, 2], auto_pad="SAME_LOWER")),
    ((1, 2, 3, 2), (2, 2, 1, 1), dict(strides=[2, 2], auto_pad="SAME_UPPER")),  # negative pad
    ((1, 2, 3, 3), (2, 2, 2, 2), dict(dilations=[2, 1], pads=[1, 1, 0, 1])),
    ((2, 4, 3, 3), (4, 2, 3, 3), dict(group=2, strides=[2, 1])),
    ((2, 3, 4), (3, 1, 3), dict(group=3, strides=[2], output_padding=[1])),  # 1-D depthwise
    ((1, 2, 2, 3, 2), (2, 2, 2, 2, 2), dict(strides=[2, 1, 2], pads=[1, 0, 0, 0, 1, 1])),  # 3-D
]


@pytest.mark.parametrize("xs,ws,attrs", GRAD_CASES, ids=[f"{x}-{w}-{a}" for x, w, a in GRAD_CASES])
def test_conv_transpose_gradient_finite_differences(xs, ws, attrs):
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    b = RNG.standard_normal(ws[1] * attrs.get("group", 1))
    check_grad("ConvTranspose", [x, w, b], attrs)


def test_gradient_reuses_the_conv_kernels():
    """dX is a Conv, dW a graphc.ConvGradWeight: no kernel of its own for the backward pass."""
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 2, 4, 4))
    w = b.param("w", "float32", (2, 3, 3, 3))
    loss = b.op("ReduceSum", [b.op("ConvTranspose", [x, w], strides=[2, 2])], keepdims=0)
    grads = autodiff(b.g, loss, [x, w])
    assert b.g.producer(grads[x]).op_type == "Conv"
    assert b.g.producer(grads[w]).op_type == "ConvGradWeight"
