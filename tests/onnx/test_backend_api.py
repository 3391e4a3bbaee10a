"""graphc.onnx.backend (the onnx.backend.base.Backend interface) and the importer behaviour the
backend suite relies on: newer/older opsets, run-time shape inputs, Shape-chain folding."""
import numpy as np
import onnx
import onnx.helper as oh
import onnxruntime as ort
import pytest
from onnx import TensorProto

import graphc.onnx
from graphc.errors import UnsupportedOpError
from graphc.ir import GraphBuilder
from graphc.onnx import backend
from graphc.passes import fold_constants
from harness import assert_close


def _model(nodes, inputs, outputs, inits=(), opset=18):
    graph = oh.make_graph(nodes, "m", inputs, outputs, list(inits))
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _ort(model, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_prepare_and_run_match_onnxruntime_with_list_and_dict_inputs():
    model = _model([oh.make_node("Gemm", ["x", "w"], ["h"], transB=1), oh.make_node("Relu", ["h"], ["y"])],
                   [oh.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                   [oh.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
                   [onnx.numpy_helper.from_array(np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32), "w")])
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    rep = backend.prepare(model)
    want = _ort(model, {"x": x})[0]
    assert_close(rep.run([x])[0], want)
    assert_close(rep.run({"x": x}).y, want)
    assert_close(backend.run_model(model, [x[:2]])[0], want[:2])
    assert backend.supports_device("CPU") and not backend.supports_device("CUDA")
    with pytest.raises(ValueError, match="CPU only"):
        backend.prepare(model, "CUDA")


def test_run_node():
    node = oh.make_node("LeakyRelu", ["x"], ["y"], alpha=0.2)
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    (y,) = backend.run_node(node, [x])
    assert_close(y, np.where(x >= 0, x, 0.2 * x))


def test_shape_inputs_fed_at_run_time_are_specialized_per_value():
    """Reshape's shape as a graph input: one program per distinct shape value."""
    model = _model([oh.make_node("Reshape", ["x", "s"], ["y"])],
                   [oh.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6]),
                    oh.make_tensor_value_info("s", TensorProto.INT64, [2])],
                   [oh.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b"])])
    rep = backend.prepare(model)
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    for shape in ([3, 4], [4, 3], [3, 4]):
        s = np.array(shape, np.int64)
        np.testing.assert_array_equal(rep.run([x, s])[0], x.reshape(shape))
    assert len(rep._programs) == 2


def test_newer_opset_runs_and_new_attributes_are_named():
    x = np.random.default_rng(0).standard_normal((1, 1, 5, 5)).astype(np.float32)
    io = ([oh.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 5, 5])],
          [oh.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b"])])
    plain = _model([oh.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2])], *io, opset=22)
    assert_close(backend.prepare(plain).run([x])[0], _ort(plain, {"x": x})[0])
    dilated = _model([oh.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2], name="ap")],
                     *io, opset=22)
    with pytest.raises(UnsupportedOpError, match=r"node 'ap' \(AveragePool\): attribute 'dilations'.*opset 22"):
        graphc.onnx.load(dilated)
    # a newer attribute at its default value is the opset-18 behaviour
    cast = _model([oh.make_node("Cast", ["x"], ["y"], to=TensorProto.DOUBLE, saturate=1)], *io, opset=21)
    assert backend.prepare(cast).run([x])[0].dtype == np.float64


def test_unknown_attribute_error_names_node_op_attribute_and_opset():
    model = _model([oh.make_node("Relu", ["x"], ["y"], name="r1", bogus=3)],
                   [oh.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                   [oh.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    with pytest.raises(UnsupportedOpError, match=r"node 'r1' \(Relu\), model opset 18.*bogus"):
        graphc.onnx.load(model)


def test_opset6_attribute_forms_are_converted():
    """Opset 6: BatchNormalization with spatial/is_test, Unsqueeze with axes as an attribute."""
    rng = np.random.default_rng(0)
    inits = [onnx.numpy_helper.from_array(a.astype(np.float32), n) for n, a in
             [("s", rng.random(3) + 0.5), ("b", rng.standard_normal(3)), ("m", rng.standard_normal(3)),
              ("v", rng.random(3) + 0.5), ("bias", rng.standard_normal(3))]]
    nodes = [oh.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"], epsilon=1e-3, is_test=1, spatial=1),
             oh.make_node("Unsqueeze", ["bias"], ["u"], axes=[1, 2]),
             oh.make_node("Add", ["n", "u"], ["y"])]
    model = _model(nodes, [oh.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 4])],
                   [oh.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4, 4])], inits, opset=6)
    model.ir_version = 4
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    s, b, m, v, bias = (onnx.numpy_helper.to_array(t)[:, None, None] for t in inits)
    assert_close(backend.prepare(model).run([x])[0], (x - m) / np.sqrt(v + 1e-3) * s + b + bias, rtol=1e-4)


def test_shape_gather_concat_chain_folds_to_a_constant_reshape():
    """x -> Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape: static shapes fold at import."""
    nodes = [oh.make_node("Shape", ["x"], ["s"]),
             oh.make_node("Constant", [], ["i0"], value=onnx.numpy_helper.from_array(np.array(0, np.int64))),
             oh.make_node("Gather", ["s", "i0"], ["d0"]),
             oh.make_node("Constant", [], ["ax"], value=onnx.numpy_helper.from_array(np.array([0], np.int64))),
             oh.make_node("Unsqueeze", ["d0", "ax"], ["d0v"]),
             oh.make_node("Constant", [], ["m1"], value=onnx.numpy_helper.from_array(np.array([-1], np.int64))),
             oh.make_node("Concat", ["d0v", "m1"], ["shape"], axis=0),
             oh.make_node("Reshape", ["x", "shape"], ["y"])]
    model = _model(nodes, [oh.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2, 4])],
                   [oh.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b"])])
    g = graphc.onnx.graph_from_onnx(model)
    assert [op.op_type for op in g.ops()] == ["Reshape"]
    x = np.arange(24, dtype=np.float32).reshape(3, 2, 4)
    np.testing.assert_array_equal(backend.prepare(model).run([x])[0], x.reshape(3, 8))


def test_fold_constants_folds_shape_of_a_static_value_only():
    b = GraphBuilder()
    x = b.input("x", "float32", (2, 3))
    s = b.op("Shape", [x])
    z = b.input("z", "float32", ("N", 3))
    sz = b.op("Shape", [z])
    t = b.op("Shape", [z], start=1)
    b.output(s, sz, t)
    g = fold_constants(b.g)
    np.testing.assert_array_equal(g.value(s).data, [2, 3])
    np.testing.assert_array_equal(g.value(t).data, [3])
    assert g.value(sz).role != "const"
