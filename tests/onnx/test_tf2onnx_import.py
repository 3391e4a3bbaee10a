"""tf.keras -> tf2onnx -> graphc: the tutorial models converted by tools/make_tf2onnx_fixtures.py.

Each fixture (opsets 13 and 17) is imported with graphc.onnx.load; its predictions are compared
with Keras's own outputs stored beside the .onnx (TensorFlow is never imported here) and with
onnxruntime, for a batch of 5 and a batch of 1 (the batch axis is dynamic in every conversion).
tf2onnx writes Keras 3's GRU as an ONNX Loop (its rewriter does not match Keras 3's GRU cell):
the importer unrolls it (graphc.ops.control).
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc.onnx
from harness import assert_close

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "tf2onnx")
FIXTURES = sorted(f[:-5] for f in os.listdir(DATA) if f.endswith(".onnx"))


def test_every_tutorial_model_and_opset_has_a_fixture():
    assert {f.split(".")[0] for f in FIXTURES} == {"mlp", "cnn", "lstm_regressor", "gru_regressor",
                                                  "text_classifier", "bilstm"}
    assert {f.split(".")[1] for f in FIXTURES} == {"opset13", "opset17"}
    ops = {n.op_type for f in FIXTURES for n in onnx.load(os.path.join(DATA, f + ".onnx")).graph.node}
    assert {"LSTM", "Loop", "Conv", "Transpose", "Expand", "Squeeze", "Unsqueeze", "Gather"} <= ops


@pytest.mark.parametrize("fixture", FIXTURES)
def test_tf2onnx_export_imports_and_matches_keras_and_onnxruntime(fixture):
    path = os.path.join(DATA, fixture + ".onnx")
    with np.load(os.path.join(DATA, fixture + ".npz")) as f:
        data = {k: f[k] for k in f.files}
    model = graphc.onnx.load(path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for x, y_keras in ((data["x"], data["y"]), (data["x"][:1], data["y1"])):
        got = model.predict(x, verbose=0)
        atol = 2e-6 * max(1.0, float(np.abs(y_keras).max()))
        assert_close(got, y_keras, rtol=1e-5, atol=atol, what=f"{fixture} vs Keras (batch {len(x)})")
        want = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        assert_close(got, want, rtol=1e-5, atol=atol, what=f"{fixture} vs onnxruntime (batch {len(x)})")
