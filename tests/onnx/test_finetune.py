"""Fine-tuning imported ONNX models: compile/fit/evaluate train the initializers, save writes them back.

The oracle for training is graphc's own Keras front end on the same weights: a Keras model is
exported to ONNX, imported, and both copies are trained identically; their losses and predictions
must agree (the imported graph replays the same ops, so gradients and updates are the same).
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import graphc.onnx
from graphc import keras
from harness import assert_close

TORCH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "torch")


def _cnn():
    return keras.Sequential([keras.Input((8, 8, 2)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                             keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(3, activation="softmax")])


def _mlp():
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(7, activation="relu"), keras.layers.Dense(1)])


@pytest.mark.parametrize("case", ["cnn_adam_cce", "mlp_sgd_mse"])
def test_fine_tuning_an_imported_model_matches_the_keras_model(case, tmp_path):
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    if case == "cnn_adam_cce":
        model, x = _cnn(), rng.standard_normal((24, 8, 8, 2)).astype(np.float32)
        y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 24)]
        cfg = dict(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        make_opt = lambda: keras.optimizers.Adam(0.01)  # noqa: E731
    else:
        model, x = _mlp(), rng.standard_normal((24, 5)).astype(np.float32)
        y = (x[:, :1] * 2 - x[:, 1:2]).astype(np.float32)
        cfg = dict(loss="mse", metrics=["mae"])
        make_opt = lambda: keras.optimizers.SGD(0.05, momentum=0.9)  # noqa: E731
    path = tmp_path / "m.onnx"
    model.export(str(path))
    imported = graphc.onnx.load(str(path))
    assert len(imported.trainable_weights) == len(model.trainable_weights)
    cfg.pop("optimizer", None)
    model.compile(optimizer=make_opt(), **cfg)
    imported.compile(optimizer=make_opt(), **cfg)
    h_keras = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    h_onnx = imported.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    assert sorted(h_onnx) == sorted(h_keras)
    for k in h_keras:
        assert_close(h_onnx[k], h_keras[k], rtol=1e-5, what=k)
    assert h_onnx["loss"][-1] < h_onnx["loss"][0]
    assert_close(imported.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)
    got, want = imported.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0)
    assert_close(np.array(got), np.array(want), rtol=1e-5)


def test_fine_tuning_a_torch_export_trains_weights_keeps_bn_statistics_and_saves(tmp_path):
    path = os.path.join(TORCH, "bn_cnn.legacy.onnx")
    data = np.load(os.path.join(TORCH, "bn_cnn.legacy.npz"))
    m = graphc.onnx.load(path)
    stats = [w for w in m.weights if not w.trainable]
    n_bn = sum(n.op_type == "BatchNormalization" for n in onnx.load(path).graph.node)
    assert n_bn >= 1 and len(stats) == 2 * n_bn  # running mean and variance of each BatchNormalization
    before = {w.name: w.numpy() for w in m.weights}
    rng = np.random.default_rng(1)
    x = np.concatenate([data["x"], rng.standard_normal((27, 3, 16, 16)).astype(np.float32)])
    y = (rng.random((32, 4)) > 0.5).astype(np.float32)
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["binary_accuracy"])
    first = m.evaluate(x, y, verbose=0)[0]
    hist = m.fit(x, y, batch_size=8, epochs=5, verbose=0).history
    assert hist["loss"][-1] < hist["loss"][0] and m.evaluate(x, y, verbose=0)[0] < first
    for w in m.weights:
        changed = not np.array_equal(w.numpy(), before[w.name])
        assert changed == w.trainable, w.name
    out = tmp_path / "tuned.onnx"
    m.save(str(out))
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    want = m.predict(x, verbose=0)
    assert not np.allclose(want[:5], data["y"], atol=1e-3)  # the fine-tuned model is a different model
    assert_close(graphc.onnx.load(str(out)).predict(x, verbose=0), want, rtol=1e-5)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert_close(sess.run(None, {sess.get_inputs()[0].name: x})[0], want, rtol=1e-5)


def test_imported_model_summary_and_weights_api():
    m = graphc.onnx.load(os.path.join(TORCH, "mnist_cnn.legacy.onnx"))
    lines = []
    m.summary(print_fn=lines.append)
    assert any("(Conv)" in l for l in lines) and any("Total params" in l for l in lines)
    ws = m.get_weights()
    assert m.count_params() == sum(w.size for w in ws)
    m.set_weights([w * 0 for w in ws])
    assert np.all(m.predict(np.ones((2, 1, 28, 28), np.float32), verbose=0) == pytest.approx(np.log(0.1)))
