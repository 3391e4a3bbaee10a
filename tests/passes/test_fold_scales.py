"""Inference BatchNormalization: decompose, fold into the preceding Conv/Gemm/MatMul, hoist the
weight-only work into gc_prologue. Before/Expected structure; numbers equal the unfused graph,
onnxruntime, and follow weight changes."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import graphc
from graphc import keras
from graphc.codegen import hoisted_ops
from graphc.ir import GraphBuilder
from graphc.passes import pipeline
from graphc.passes.decompose import decompose
from graphc.passes.fold_scales import fold_scales
from harness import assert_close

RNG = np.random.default_rng(0)


def _bn_weights(c):
    return [RNG.uniform(0.5, 2, c), RNG.normal(size=c), RNG.normal(size=c), RNG.uniform(0.5, 2, c)]


def _graph(linear, c=6):
    """x -> linear -> BatchNormalization(inference) -> Relu."""
    b = GraphBuilder()
    if linear == "conv":
        x = b.input("x", "float32", ("N", 3, 7, 7))
        w = b.param("w", "float32", (c, 3, 3, 3))
        bias = b.param("bias", "float32", (c,))
        y = b.op("Conv", [x, w, bias], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    elif linear == "gemm":
        x = b.input("x", "float32", ("N", 5))
        w = b.param("w", "float32", (c, 5))
        bias = b.param("bias", "float32", (c,))
        y = b.op("Gemm", [x, w, bias], name="gemm", transB=1, beta=0.5)
    else:
        x = b.input("x", "float32", ("N", 5))
        w = b.param("w", "float32", (5, c))
        bias = b.param("bias", "float32", (c,))
        y = b.op("Add", [b.op("MatMul", [x, w], name="matmul"), bias], name="add")
    bn = [b.param(f"bn{i}", "float32", (c,), trainable=i < 2) for i in range(4)]
    y = b.op("BatchNormalization", [y] + bn, name="bn", epsilon=1e-3)
    b.output(b.op("Relu", [y], name="relu"))
    g = b.g
    for v in g.values():
        if v.role in ("param", "state"):
            v.data = RNG.normal(size=v.type.shape).astype(np.float32)
    for v, d in zip(bn, _bn_weights(c)):
        g.value(v).data = d.astype(np.float32)
    return g


@pytest.mark.parametrize("linear", ["conv", "gemm", "matmul"])
def test_batchnorm_folds_into_the_linear_op(linear):
    g = _graph(linear)
    opt = pipeline.run(g, pipeline.INFERENCE)
    per_call = [op for op in opt.ops() if op.name not in hoisted_ops(opt)]
    kinds = [op.op_type for op in per_call]
    assert "BatchNormalization" not in kinds
    # Conv and Gemm absorb scale and shift (bias); MatMul keeps one bias Add fused with the Relu;
    # the Relu (and the Add) then run as the GEMM's epilogue (passes/fuse_epilogue)
    expected = {"conv": ["WithEpilogue"], "gemm": ["WithEpilogue"], "matmul": ["WithEpilogue"]}[linear]
    assert kinds == expected
    x = RNG.normal(size=(4,) + tuple(d for d in g.value("x").type.shape[1:])).astype(np.float32)
    want = graphc.compile(g, passes=pipeline.UNFUSED).run([x])[0]
    assert_close(graphc.compile(g).run([x])[0], want, rtol=1e-5)


def test_batchnorm_after_an_activation_stays_one_elementwise_loop():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 4, 5))
    bn = [b.param(f"bn{i}", "float32", (4,)) for i in range(4)]
    y = b.op("BatchNormalization", [b.op("Relu", [x], name="r")] + bn, name="bn")
    b.output(y)
    for v, d in zip(bn, _bn_weights(4)):
        b.g.value(v).data = d.astype(np.float32)
    opt = pipeline.run(b.g, pipeline.INFERENCE)
    per_call = [op for op in opt.ops() if op.name not in hoisted_ops(opt)]
    assert [op.op_type for op in per_call] == ["Fused"]
    xv = RNG.normal(size=(3, 4, 5)).astype(np.float32)
    assert_close(graphc.compile(b.g).run([xv])[0], graphc.compile(b.g, passes=pipeline.UNFUSED).run([xv])[0])


def test_training_mode_batchnorm_is_not_decomposed():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 3))
    bn = [b.param(f"bn{i}", "float32", (3,)) for i in range(4)]
    b.output(*b.op("BatchNormalization", [x] + bn, n_out=3, name="bn", training_mode=1))
    g = decompose(pipeline.run(b.g, [pipeline.infer_shapes]))
    assert [op.op_type for op in g.ops()] == ["BatchNormalization"]


def test_mul_by_a_per_call_value_is_not_folded():
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 5))
    s = b.input("s", "float32", (6,))
    w = b.param("w", "float32", (5, 6))
    b.output(b.op("Mul", [b.op("MatMul", [x, w]), s]))
    g = fold_scales(pipeline.run(b.g, pipeline.UNFUSED))
    assert [op.op_type for op in g.ops()] == ["MatMul", "Mul"]


def test_keras_conv_bn_model_matches_onnxruntime_and_follows_weight_changes(tmp_path):
    keras.backend.clear_session()
    m = keras.Sequential([keras.Input((9, 9, 2)), keras.layers.Conv2D(5, 3, use_bias=False),
                          keras.layers.BatchNormalization(), keras.layers.ReLU(), keras.layers.Flatten(),
                          keras.layers.Dense(4), keras.layers.BatchNormalization()])
    for layer in m.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([w.astype(np.float32) for w in _bn_weights(layer.get_weights()[0].shape[0])])
    x = RNG.normal(size=(3, 9, 9, 2)).astype(np.float32)
    exe = graphc.compile(m)
    assert not any(op.op_type == "BatchNormalization" for op in exe.graph.ops())
    path = tmp_path / "m.onnx"
    m.export(str(path))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert_close(exe.run([x])[0], sess.run(None, {sess.get_inputs()[0].name: x})[0], rtol=1e-5)
    # weight-only work runs once per weight change, not once per call
    calls = exe.prologue_calls
    exe.run([x])
    assert exe.prologue_calls == calls
    bn = m.layers[1]
    bn.set_weights([w * 1.5 for w in bn.get_weights()])
    unfused = graphc.compile(m, fuse=False).run([x])[0]
    assert_close(exe.run([x])[0], unfused, rtol=1e-5)
    assert exe.prologue_calls == calls + 1


def test_predict_after_fit_sees_the_trained_weights():
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8), keras.layers.BatchNormalization(),
                          keras.layers.Dense(2)])
    m.compile("adam", "mse")
    x, y = RNG.normal(size=(32, 6)).astype(np.float32), RNG.normal(size=(32, 2)).astype(np.float32)
    before = m.predict(x, verbose=0)
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    after = m.predict(x, verbose=0)
    assert not np.allclose(before, after)
    assert_close(after, graphc.compile(m, fuse=False).run([x])[0], rtol=1e-5)
