"""PyTorch -> ONNX -> graphc: the tutorial models exported by tools/make_torch_fixtures.py.

Each fixture is imported with graphc.onnx.load and its predictions are compared with torch's own
outputs (stored beside the .onnx; torch is never imported here) and with onnxruntime, for a batch
of 5 and a batch of 1 (the batch axis is dynamic in every export).
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc.onnx
from graphc.errors import UnsupportedOpError
from graphc.ops import registry
from harness import assert_close

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "torch")
FIXTURES = sorted(f[:-5] for f in os.listdir(DATA) if f.endswith(".onnx"))


def test_every_tutorial_model_and_exporter_has_a_fixture():
    names = {f.split(".")[0] for f in FIXTURES}
    assert names == {"mnist_mlp", "mnist_cnn", "bn_cnn", "zoo_blocks", "lstm_regressor", "gru_regressor",
                     "bilstm_classifier", "view_cnn"}
    assert {f.split(".")[1] for f in FIXTURES} == {"legacy", "dynamo", "functions"}
    with_functions = [f for f in FIXTURES if onnx.load(os.path.join(DATA, f + ".onnx")).functions]
    assert len(with_functions) >= 3, with_functions  # the importer's inliner is exercised


def _missing_ops(proto):
    ops = {n.op_type for n in proto.graph.node if n.domain in ("", "ai.onnx")}
    ops |= {n.op_type for f in proto.functions for n in f.node if n.domain in ("", "ai.onnx")}
    return sorted(t for t in ops if not registry.has(t))


@pytest.mark.parametrize("fixture", FIXTURES)
def test_torch_export_imports_and_matches_torch_and_onnxruntime(fixture):
    path = os.path.join(DATA, fixture + ".onnx")
    data = np.load(os.path.join(DATA, fixture + ".npz"))
    proto = onnx.load(path)
    missing = _missing_ops(proto)
    if missing:  # e.g. LSTM before graphc has it: the error names the node and the op
        with pytest.raises(UnsupportedOpError, match=missing[0]):
            graphc.onnx.load(path)
        return
    model = graphc.onnx.load(path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for x, y_torch in ((data["x"], data["y"]), (data["x"][:1], data["y1"])):
        got = model.predict(x)
        assert_close(got, y_torch, rtol=1e-5, atol=2e-6 * max(1.0, float(np.abs(y_torch).max())),
                     what=f"{fixture} vs torch (batch {len(x)})")
        want = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        assert_close(got, want, rtol=1e-5, atol=2e-6 * max(1.0, float(np.abs(want).max())),
                     what=f"{fixture} vs onnxruntime (batch {len(x)})")
    assert model.count_params() == sum(int(np.prod(t.dims)) for t in proto.graph.initializer
                                       if t.data_type == onnx.TensorProto.FLOAT)
