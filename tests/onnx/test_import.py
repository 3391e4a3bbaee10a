"""ONNX import: round trips, other producers' conventions (old opsets), and clear errors."""
import numpy as np
import onnx
import onnx.helper as oh
import onnxruntime as ort
import pytest

import graphc.onnx
import keras_models
from graphc import keras
from graphc.errors import SerializationError, UnsupportedOpError
from harness import assert_close


@pytest.mark.parametrize("name", ["mnist_cnn", "conv_bn", "two_tower_functions", "dense_bn", "seq_dense",
                                  "avgpool_same", "global_pooling", "reshape_conv"])
def test_export_then_import_predicts_the_same(name, tmp_path):
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    builder, shapes = keras_models.MODELS[name]
    model = builder(keras)
    path = tmp_path / "m.onnx"
    model.export(str(path))
    imported = graphc.onnx.load(str(path))
    assert imported.count_params() == sum(int(np.prod(w.shape)) for w in model.weights)
    shapes = shapes if isinstance(shapes, list) else [shapes]
    xs = [np.random.default_rng(2).standard_normal((7,) + tuple(s)).astype(np.float32) for s in shapes]
    got = imported.predict(xs if len(xs) > 1 else xs[0])
    want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    for g, w in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
        assert_close(g, w, rtol=1e-5)


def _opset11_model():
    """A small CNN as an older exporter writes it: opset 11, BN with 'spatial', Softmax over axis 1."""
    rng = np.random.default_rng(0)
    inits = [onnx.numpy_helper.from_array(a.astype(np.float32), n) for n, a in [
        ("W", rng.standard_normal((4, 1, 3, 3)) * 0.5), ("B", rng.standard_normal(4)),
        ("s", rng.random(4) + 0.5), ("bb", rng.standard_normal(4)), ("m", rng.standard_normal(4)),
        ("v", rng.random(4) + 0.5), ("Wd", rng.standard_normal((36, 5)) * 0.2), ("Bd", rng.standard_normal(5))]]
    nodes = [oh.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
             oh.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["bn"], epsilon=1e-3),
             oh.make_node("Relu", ["bn"], ["r"]),
             oh.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             oh.make_node("Flatten", ["p"], ["f"], axis=1),
             oh.make_node("Gemm", ["f", "Wd", "Bd"], ["z"]),
             oh.make_node("Softmax", ["z"], ["y"], axis=1)]
    graph = oh.make_graph(nodes, "old", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 1, 6, 6])],
                          [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 5])], inits)
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 11)])
    model.ir_version = 7
    return model


def test_older_opset_is_converted_and_matches_onnxruntime(tmp_path):
    model = _opset11_model()
    onnx.checker.check_model(model)
    path = tmp_path / "old.onnx"
    onnx.save(model, str(path))
    x = np.random.default_rng(3).standard_normal((4, 1, 6, 6)).astype(np.float32)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    imported = graphc.onnx.load(str(path))
    assert_close(imported.predict(x), want, rtol=1e-5)
    assert_close(imported.predict(x[:1]), want[:1], rtol=1e-5)  # dynamic batch
    lines = []
    imported.summary(print_fn=lines.append)
    assert any("Conv" in l for l in lines)


def test_unsupported_ops_are_all_named_at_once():
    nodes = [oh.make_node("NonZero", ["x"], ["a"], name="nz"), oh.make_node("Einsum", ["x", "x"], ["b"], name="es",
                                                                             equation="ij,ij->ij")]
    graph = oh.make_graph(nodes, "g", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 2])],
                          [oh.make_tensor_value_info("a", onnx.TensorProto.INT64, None)])
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)])
    with pytest.raises(UnsupportedOpError) as info:
        graphc.onnx.load(model)
    assert "nz (NonZero)" in str(info.value) and "es (Einsum)" in str(info.value) and "opset 18" in str(info.value)


def test_corrupt_truncated_and_missing_files_raise_clear_errors(tmp_path):
    good = tmp_path / "good.onnx"
    onnx.save(_opset11_model(), str(good))
    data = good.read_bytes()
    (tmp_path / "garbage.onnx").write_bytes(b"\x00\xffnot a protobuf at all" * 10)
    (tmp_path / "truncated.onnx").write_bytes(data[: len(data) // 2])
    for name in ("garbage.onnx", "truncated.onnx"):
        with pytest.raises(SerializationError, match=name):
            graphc.onnx.load(str(tmp_path / name))
    with pytest.raises(SerializationError, match="cannot read"):
        graphc.onnx.load(str(tmp_path / "missing.onnx"))


def test_dangling_input_and_external_data_are_reported(tmp_path):
    graph = oh.make_graph([oh.make_node("Relu", ["nowhere"], ["y"], name="r")], "g",
                          [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
                          [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])])
    with pytest.raises(SerializationError, match="'nowhere'"):
        graphc.onnx.load(oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)]))
    model = _opset11_model()
    onnx.save_model(model, str(tmp_path / "ext.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.data", size_threshold=0)
    with pytest.raises(SerializationError, match="external data"):
        graphc.onnx.load(str(tmp_path / "ext.onnx"))


def test_constant_nodes_and_shape_chains_fold():
    nodes = [oh.make_node("Constant", [], ["c"], value=onnx.numpy_helper.from_array(np.array([2.0, 3.0], np.float32))),
             oh.make_node("Mul", ["x", "c"], ["y"])]
    graph = oh.make_graph(nodes, "g", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 2])],
                          [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 2])])
    m = graphc.onnx.load(oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)]))
    np.testing.assert_allclose(m.predict(np.ones((3, 2), np.float32)), [[2, 3]] * 3)
