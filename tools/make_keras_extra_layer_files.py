"""Write real-Keras files for the preprocessing/regularization layers and the activations added
beside issue 4's list (Normalization, Rescaling, UnitNormalization, Identity, SpatialDropout*,
ActivityRegularization, gelu/mish/... activations).

Run with real Keras (JAX backend)::

    KERAS_BACKEND=jax /work/kerasvenv/bin/python tools/make_keras_extra_layer_files.py

For each model it writes ``tests/data/keras/extra/<name>.h5`` and ``<name>.keras`` (``model.save``)
and ``<name>.npz`` with the input ``x`` and Keras's prediction ``y``. Tests read only these files.
"""
from __future__ import annotations

import os

import keras
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data", "keras", "extra")
ACTIVATIONS = ["gelu", "mish", "celu", "hard_silu", "log_sigmoid", "hard_tanh", "hard_shrink", "soft_shrink",
               "tanh_shrink", "sparse_plus", "sparse_sigmoid", "squareplus", "swish", "relu6", "selu"]


def models(rng):
    L = keras.layers
    norm = L.Normalization()
    norm.adapt(rng.normal(3.0, 2.0, (200, 6)).astype("float32"))
    norm2 = L.Normalization(axis=(1, 3))
    norm2.adapt(rng.normal(-1.0, 0.5, (50, 4, 3, 2)).astype("float32"))
    yield "normalization_mlp", keras.Sequential([keras.Input((6,)), norm, L.Dense(5, activation="gelu"),
                                                 L.Dense(2)]), (6,)
    yield "normalization_axes", keras.Sequential([keras.Input((4, 3, 2)), norm2, L.Flatten(), L.Dense(3)]), (4, 3, 2)
    yield "normalization_static_invert", keras.Sequential([
        keras.Input((3,)), L.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25]),
        L.Dense(3), L.Normalization(mean=0.5, variance=2.0, invert=True)]), (3,)
    yield "rescaling_cnn", keras.Sequential([
        keras.Input((8, 8, 3)), L.Rescaling(1.0 / 255, offset=-0.5), L.Conv2D(4, 3, activation="mish"),
        L.SpatialDropout2D(0.3), L.Identity(), L.GlobalAveragePooling2D(), L.UnitNormalization(),
        L.ActivityRegularization(l1=0.01, l2=0.001), L.Dense(2)]), (8, 8, 3)
    yield "spatial_dropout_seq", keras.Sequential([
        keras.Input((7, 4)), L.Conv1D(5, 3, activation="squareplus"), L.SpatialDropout1D(0.2),
        L.UnitNormalization(axis=[1, 2]), L.Flatten(), L.Dense(2)]), (7, 4)
    inp = keras.Input((6,))
    outs = [L.Dense(4, activation=a, name=f"dense_{a}")(inp) for a in ACTIVATIONS]
    yield "activations", keras.Model(inp, L.Concatenate()(outs)), (6,)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    keras.utils.set_random_seed(7)
    for name, model, shape in models(rng):
        for w in model.weights:
            if w.trainable:
                w.assign(rng.normal(0, 0.5, w.shape).astype(w.dtype))
        x = (rng.uniform(0, 255, (5,) + shape) if name.startswith("rescaling") else
             rng.normal(0, 2, (5,) + shape)).astype("float32")
        y = np.asarray(model.predict(x, verbose=0))
        for ext in ("h5", "keras"):
            model.save(os.path.join(OUT, f"{name}.{ext}"))
        np.savez(os.path.join(OUT, f"{name}.npz"), x=x, y=y)
        print(f"{name}: {model.count_params()} params, output {y.shape}")


if __name__ == "__main__":
    main()
