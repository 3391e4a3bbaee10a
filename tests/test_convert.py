"""graphc.convert: Keras files -> ONNX -> Keras files, with predictions preserved, and clear errors.

Oracles: onnxruntime on the exported file, the Keras model's own predictions, and torch's outputs
stored beside the PyTorch fixtures (tests/data/torch, written by tools/make_torch_fixtures.py).
"""
import os

import numpy as np
import onnx
import onnx.helper as oh
import onnxruntime as ort
import pytest

import graphc
import keras_models
from graphc import keras
from graphc.errors import UnsupportedOpError
from harness import assert_close
from parity_models import as_list

TORCH = os.path.join(os.path.dirname(__file__), "data", "torch")
# Keras models whose exported graphs map back to Keras layers node by node (channels_last and
# channels_first convolutions, depthwise/separable ones, pooling, BN, merges, activations, reshapes)
ROUND_TRIP = ["mnist_cnn", "conv_bn", "dense_bn", "two_tower_functions", "conv_strides", "conv1d_causal",
              "depthwise_separable", "global_pooling", "avgpool_same", "maxpool_same", "reshape_conv",
              "sequence_layers", "dense_hard_sigmoid", "leaky_relu_layer"]


def _inputs(model, shapes, n=4):
    rng = np.random.default_rng(0)
    shapes = shapes if isinstance(shapes, list) else [shapes]
    xs = [rng.standard_normal((n,) + tuple(s)).astype(np.float32) for s in shapes]
    return xs if len(xs) > 1 else xs[0]


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_keras_to_onnx_to_keras_keeps_predictions(name, tmp_path):
    keras.backend.clear_session()
    keras.utils.set_random_seed(5)
    builder, shapes = keras_models.MODELS[name]
    model = builder(keras)
    rng = np.random.default_rng(1)
    for w in model.weights:  # non-trivial BN statistics and biases
        if "variance" in w.name:
            w.assign(rng.random(w.shape).astype(w.dtype) + 0.5)
        elif w.name in ("bias", "beta", "gamma", "moving_mean"):
            w.assign(rng.standard_normal(w.shape).astype(w.dtype) * 0.3)
    x = _inputs(model, shapes)
    want = as_list(model.predict(x, verbose=0))
    model.save(str(tmp_path / "m.h5"))
    graphc.convert(str(tmp_path / "m.h5"), str(tmp_path / "m.onnx"))
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")), full_check=True)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), as_list(x))})
    for g, w in zip(got, want):
        assert_close(g, w, rtol=1e-5, what=f"{name}: onnxruntime")
    back = tmp_path / ("back.keras" if len(name) % 2 else "back.h5")
    graphc.convert(str(tmp_path / "m.onnx"), str(back))
    loaded = keras.models.load_model(str(back))
    assert loaded.count_params() >= model.count_params()  # a shared layer becomes one Keras layer per call
    for g, w in zip(as_list(loaded.predict(x, verbose=0)), want):
        assert_close(g, w, rtol=1e-5, what=f"{name}: Keras from ONNX")


TORCH_FIXTURES = sorted(f[:-5] for f in os.listdir(TORCH) if f.endswith(".onnx"))
# ops in the PyTorch fixtures that graphc.convert maps to no Keras layer (view_cnn's sum; the recurrent models
# convert, tests/test_convert_rnn.py)
NO_KERAS_LAYER = {"ReduceSum"}


@pytest.mark.parametrize("fixture", TORCH_FIXTURES)
def test_pytorch_onnx_converts_to_keras_with_torchs_outputs(fixture, tmp_path):
    dst = tmp_path / (fixture + (".keras" if "dynamo" in fixture else ".h5"))
    proto = onnx.load(os.path.join(TORCH, fixture + ".onnx"))
    ops = {n.op_type for n in proto.graph.node} | {n.op_type for f in proto.functions for n in f.node}
    if ops & NO_KERAS_LAYER:  # a clear error naming the node and its op, and no file written
        with pytest.raises(UnsupportedOpError, match=r"cannot convert ONNX node '.+' \((\w+)\) to Keras: no Keras "
                                                     r"layer corresponds to") as e:
            graphc.convert(os.path.join(TORCH, fixture + ".onnx"), str(dst))
        assert e.value.args[0].split("(")[1].split(")")[0] in ops and not dst.exists()
        return
    graphc.convert(os.path.join(TORCH, fixture + ".onnx"), str(dst))
    model = keras.models.load_model(str(dst))
    with np.load(os.path.join(TORCH, fixture + ".npz")) as data:
        x, y = data["x"], data["y"]
    assert_close(model.predict(x, verbose=0), y, rtol=1e-5, atol=2e-6 * max(1.0, float(np.abs(y).max())))


def test_a_node_without_a_keras_layer_is_named_and_nothing_is_written(tmp_path):
    w = onnx.numpy_helper.from_array(np.ones((3, 4), np.float32), "w")
    nodes = [oh.make_node("MatMul", ["x", "w"], ["h"], name="dense_like"),
             oh.make_node("Sign", ["h"], ["y"], name="the_sign")]
    graph = oh.make_graph(nodes, "g", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3])],
                          [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4])], [w])
    src = tmp_path / "m.onnx"
    onnx.save(oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)]), str(src))
    with pytest.raises(UnsupportedOpError, match=r"'the_sign' \(Sign\).*no Keras layer"):
        graphc.convert(str(src), str(tmp_path / "m.h5"))
    assert not (tmp_path / "m.h5").exists()
    for bad in ("m.pt", "m.weights.h5"):
        with pytest.raises(ValueError, match=bad):
            graphc.convert(str(src), str(tmp_path / bad))


def test_imported_onnx_model_saves_as_keras_and_convert_is_a_callable_module(tmp_path):
    import graphc.convert as module
    assert module is graphc.convert and callable(graphc.convert)
    m = graphc.onnx.load(os.path.join(TORCH, "mnist_mlp.legacy.onnx"))
    m.save(str(tmp_path / "m.keras"))
    x = np.load(os.path.join(TORCH, "mnist_mlp.legacy.npz"))["x"]
    assert_close(keras.models.load_model(str(tmp_path / "m.keras")).predict(x, verbose=0), m.predict(x, verbose=0))
