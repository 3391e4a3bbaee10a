"""Convert tf.keras tutorial models with tf2onnx for graphc's import tests (TensorFlow is never a test
dependency).

Run in a separate venv with TensorFlow and tf2onnx (``python3 -m venv /work/tfvenv &&
/work/tfvenv/bin/pip install tensorflow-cpu tf2onnx``)::

    /work/tfvenv/bin/python tools/make_tf2onnx_fixtures.py [--only NAME ...] [--out DIR]

Each model below is built with tf.keras (Keras 3 on TensorFlow), given non-trivial weights
(BatchNormalization statistics included), traced with ``tf.function`` over a batch-dynamic input
signature and converted with ``tf2onnx.convert.from_function`` at opsets 13 and 17. It writes

* ``tests/data/tf2onnx/<name>.opset<k>.onnx`` and
* ``tests/data/tf2onnx/<name>.opset<k>.npz``: ``x`` (a batch of 5 inputs), ``y`` (Keras's
  inference output on it) and ``y1`` (the output on the first sample alone: the batch is dynamic).

The models are the Keras tutorials' shapes, scaled down: an MNIST MLP (Flatten, Dense, Dropout,
softmax), an MNIST CNN (Conv2D, BatchNormalization, MaxPooling2D, Dropout, Flatten, Dense), LSTM
and GRU time-series regressors, an IMDB-style text classifier (Embedding,
GlobalAveragePooling1D, Dense) and a Bidirectional LSTM classifier. tf2onnx writes them its own
way: NHWC Transposes around Conv, the recurrent layers as ONNX LSTM/GRU ops in time-major layout
with their initial states expanded from the dynamic batch (Shape/Slice/Concat/Expand), and
Squeeze/Unsqueeze axes as inputs at opset 13.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
from tensorflow import keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "tf2onnx")
L = keras.layers


def mlp():
    return keras.Sequential([keras.Input((8, 8)), L.Flatten(), L.Dense(32, activation="relu"), L.Dropout(0.2),
                             L.Dense(10, activation="softmax")])


def cnn():
    return keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(8, 3, activation="relu"), L.BatchNormalization(),
                             L.MaxPooling2D(2), L.Conv2D(12, 3, padding="same", activation="relu"),
                             L.MaxPooling2D(2), L.Dropout(0.25), L.Flatten(), L.Dense(10, activation="softmax")])


def lstm_regressor():
    return keras.Sequential([keras.Input((6, 4)), L.LSTM(8), L.Dense(1)])


def gru_regressor():
    return keras.Sequential([keras.Input((6, 4)), L.GRU(8, return_sequences=True), L.GRU(5), L.Dense(1)])


def text_classifier():
    return keras.Sequential([keras.Input((10,), dtype="int32"), L.Embedding(50, 8), L.GlobalAveragePooling1D(),
                             L.Dense(16, activation="relu"), L.Dense(1, activation="sigmoid")])


def bilstm():
    return keras.Sequential([keras.Input((7, 4)), L.Bidirectional(L.LSTM(6, return_sequences=True)),
                             L.Bidirectional(L.LSTM(4)), L.Dense(3, activation="softmax")])


MODELS = {"mlp": mlp, "cnn": cnn, "lstm_regressor": lstm_regressor, "gru_regressor": gru_regressor,
          "text_classifier": text_classifier, "bilstm": bilstm}
OPSETS = (13, 17)


def _init(model, seed):
    """Non-trivial BatchNormalization statistics and scales (fresh ones are 0/1)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.random(gamma.shape).astype("float32") + 0.5,
                               rng.standard_normal(beta.shape).astype("float32") * 0.2,
                               rng.standard_normal(mean.shape).astype("float32") * 0.3,
                               rng.random(var.shape).astype("float32") + 0.5])
    return model


def _inputs(model, rng):
    shape = (5,) + tuple(model.inputs[0].shape[1:])
    if model.inputs[0].dtype.startswith("int"):
        return rng.integers(0, 50, shape).astype(np.int32)
    return rng.standard_normal(shape).astype(np.float32)


def export(name, opset):
    keras.utils.set_random_seed(0)
    model = _init(MODELS[name](), 1)
    x = _inputs(model, np.random.default_rng(2))
    y = model.predict(x, verbose=0)
    y1 = model.predict(x[:1], verbose=0)
    spec = (tf.TensorSpec((None,) + x.shape[1:], tf.as_dtype(x.dtype), name="x"),)

    @tf.function(input_signature=spec)
    def forward(inp):
        return model(inp, training=False)

    proto, _ = tf2onnx.convert.from_function(forward, input_signature=spec, opset=opset)
    path = os.path.join(OUT, f"{name}.opset{opset}.onnx")
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
    np.savez(os.path.join(OUT, f"{name}.opset{opset}.npz"), x=x, y=y, y1=y1)
    ops = sorted({n.op_type for n in proto.graph.node})
    print(f"{name}.opset{opset}: {os.path.getsize(path):,} bytes, ops {ops}")


def main():
    global OUT
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=None, help="model names (default: all)")
    p.add_argument("--out", default=OUT, help="output directory (default: tests/data/tf2onnx)")
    args = p.parse_args()
    OUT = args.out
    os.makedirs(OUT, exist_ok=True)
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, tf2onnx {tf2onnx.__version__}")
    for name in args.only or MODELS:
        for opset in OPSETS:
            export(name, opset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
