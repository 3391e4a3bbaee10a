"""ONNX Loop and If at import (graphc.ops.control): unrolled / inlined when their control values are
known at import, checked against onnx.reference and onnxruntime; run-time control is a clear error."""
import numpy as np
import onnx
import onnx.helper as oh
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import graphc.onnx
from graphc.errors import NotConstantError
from harness import assert_close

F, I64, B = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64, onnx.TensorProto.BOOL


def _t(name, arr):
    return onnx.numpy_helper.from_array(np.asarray(arr), name)


def _rnn_loop(trip=5, with_cond_limit=None, opset=13, runtime_cond=False):
    """A tf2onnx-style recurrence: h_{t+1} = tanh(x[t] @ W + h_t @ U), scanning h, over the time-major
    input; the condition is ``i + 1 < limit`` (tf.while_loop's), computed from the counter."""
    body_nodes = [
        oh.make_node("Gather", ["xt", "i"], ["x_i"], axis=0),
        oh.make_node("MatMul", ["x_i", "W"], ["a"]),
        oh.make_node("MatMul", ["h", "U"], ["c"]),
        oh.make_node("Add", ["a", "c"], ["pre"]),
        oh.make_node("Tanh", ["pre"], ["h_next"]),
        oh.make_node("Identity", ["h_next"], ["h_scan"]),
        oh.make_node("Add", ["i", "one"], ["i1"]),
        oh.make_node("Less", ["i1", "limit"], ["cond_out"]) if not runtime_cond else
        oh.make_node("ReduceSum", ["h_next"], ["h_sum"], keepdims=0),
    ] + ([oh.make_node("Less", ["h_sum", "big"], ["cond_out"])] if runtime_cond else [])
    body = oh.make_graph(body_nodes, "body",
                         [oh.make_tensor_value_info("i", I64, []), oh.make_tensor_value_info("cond_in", B, []),
                          oh.make_tensor_value_info("h", F, ["N", 3])],
                         [oh.make_tensor_value_info("cond_out", B, []), oh.make_tensor_value_info("h_next", F, ["N", 3]),
                          oh.make_tensor_value_info("h_scan", F, ["N", 3])],
                         [_t("one", np.array(1, np.int64)),
                          _t("limit", np.array(with_cond_limit if with_cond_limit is not None else 100, np.int64)),
                          _t("big", np.array(1e9, np.float32))])
    rng = np.random.default_rng(0)
    nodes = [oh.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
             oh.make_node("Shape", ["x"], ["s"]),
             oh.make_node("Slice", ["s", "zero1", "one1"], ["n"]),
             oh.make_node("Concat", ["n", "three"], ["hshape"], axis=0),
             oh.make_node("Expand", ["zero_f", "hshape"], ["h0"]),
             oh.make_node("Loop", ["" if runtime_cond else "M", "cond0" if runtime_cond else "", "h0"], ["h_last", "hs"],
                          body=body, name="rnn_loop"),
             oh.make_node("Transpose", ["hs"], ["y_seq"], perm=[1, 0, 2]),
             oh.make_node("Add", ["h_last", "h_last"], ["y_last"])]
    inits = [_t("M", np.array(trip, np.int64)), _t("zero1", np.array([0], np.int64)),
             _t("one1", np.array([1], np.int64)), _t("three", np.array([3], np.int64)),
             _t("zero_f", np.zeros(1, np.float32)),
             _t("W", (rng.standard_normal((4, 3)) * 0.5).astype(np.float32)),
             _t("U", (rng.standard_normal((3, 3)) * 0.5).astype(np.float32))] + \
        ([_t("cond0", np.array(True))] if runtime_cond else [])
    g = oh.make_graph(nodes, "loop", [oh.make_tensor_value_info("x", F, ["N", 5, 4])],
                      [oh.make_tensor_value_info("y_seq", F, ["N", "T", 3]), oh.make_tensor_value_info("y_last", F, ["N", 3])],
                      inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


@pytest.mark.parametrize("trip,limit", [(5, None), (5, 3), (1, None)])
def test_loop_with_known_trip_count_and_condition_is_unrolled(trip, limit):
    m = _rnn_loop(trip, limit)
    model = graphc.onnx.load(m)
    assert not any(op.op_type == "Loop" for op in model.graph.ops())
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    for n in (2, 5):  # (onnx.reference's Loop fails on scan outputs: onnxruntime is the oracle)
        x = np.random.default_rng(n).standard_normal((n, 5, 4)).astype(np.float32)
        got = model.predict(x)
        want = sess.run(None, {"x": x})
        for g_, w in zip(got, want):
            assert g_.shape == w.shape
            assert_close(g_, w, rtol=1e-5, atol=1e-6)


def test_unrolled_loop_trains():
    model = graphc.onnx.load(_rnn_loop(3))
    from graphc import keras
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.random.default_rng(0).standard_normal((8, 5, 4)).astype(np.float32)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, [np.zeros((8, 3, 3), np.float32), np.zeros((8, 3), np.float32)], epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def _if_model(cond_from_input):
    then_g = oh.make_graph([oh.make_node("Mul", ["x", "two"], ["t"])], "then", [],
                           [oh.make_tensor_value_info("t", F, None)], [_t("two", np.array(2, np.float32))])
    else_g = oh.make_graph([oh.make_node("Neg", ["x"], ["e"])], "else", [], [oh.make_tensor_value_info("e", F, None)])
    nodes = [oh.make_node("ReduceSum", ["x"], ["tot"], keepdims=0),
             oh.make_node("Greater", ["tot", "zero"], ["c"]) if cond_from_input else
             oh.make_node("Equal", ["rank", "two_i"], ["c"]),
             oh.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g, name="branch")]
    inits = [_t("zero", np.array(0, np.float32)), _t("rank", np.array(2, np.int64)), _t("two_i", np.array(2, np.int64))]
    g = oh.make_graph(nodes, "if", [oh.make_tensor_value_info("x", F, ["N", 3])],
                      [oh.make_tensor_value_info("y", F, ["N", 3])], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def test_if_with_known_condition_inlines_the_branch():
    m = _if_model(False)
    model = graphc.onnx.load(m)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    assert_close(model.predict(x), ReferenceEvaluator(m).run(None, {"x": x})[0])


def test_runtime_control_is_an_error_naming_node_op_attribute_and_opset():
    with pytest.raises(NotConstantError, match=r"node 'branch' \(If\), model opset 13: .*then_branch.*run-time"):
        graphc.onnx.load(_if_model(True))
    m = _rnn_loop(5, runtime_cond=True)
    with pytest.raises(NotConstantError, match=r"node 'rnn_loop' \(Loop\), model opset 13: .*'body' cannot be "
                                                 r"unrolled.*run-time"):
        graphc.onnx.load(m)
