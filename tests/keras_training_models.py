"""Training cases shared by real Keras (tools/make_keras_training_fixtures.py) and graphc (tests).

Each case: build(keras) -> model, data(rng) -> (x, y), compile(keras) -> kwargs for compile,
batch_size, epochs. No dropout (random masks cannot match); shuffle=False in both.
"""
import numpy as np


def _blobs(rng, n=96, d=6, classes=3):
    centers = rng.standard_normal((classes, d)) * 2
    labels = rng.integers(0, classes, n)
    return (centers[labels] + rng.standard_normal((n, d))).astype("float32"), labels


def mlp_adam_cce_data(rng):
    x, labels = _blobs(rng)
    return x, np.eye(3, dtype="float32")[labels]


def binary_data(rng):
    x = rng.standard_normal((80, 4)).astype("float32")
    return x, (x[:, 0] * x[:, 1] + 0.5 * x[:, 2] > 0).astype("float32")[:, None]


def regression_data(rng):
    x = rng.standard_normal((64, 5)).astype("float32")
    return x, (np.sin(x[:, :1]) + 0.1 * x[:, 1:2] ** 2).astype("float32")


def image_data(rng):
    x = rng.random((48, 8, 8, 1)).astype("float32")
    return x, (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype("int64")


CASES = {
    "mlp_adam_cce": dict(
        build=lambda keras: keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                                              keras.layers.Dense(3, activation="softmax")]),
        data=mlp_adam_cce_data, batch_size=16, epochs=3,
        compile=lambda keras: dict(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy",
                                   metrics=["accuracy"])),
    "binary_sgd_momentum": dict(
        build=lambda keras: keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                                              keras.layers.Dense(1, activation="sigmoid")]),
        data=binary_data, batch_size=10, epochs=3,
        compile=lambda keras: dict(optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                                   loss="binary_crossentropy", metrics=["accuracy"])),
    "regression_rmsprop_l2": dict(
        build=lambda keras: keras.Sequential([
            keras.Input((5,)),
            keras.layers.Dense(12, activation="elu", kernel_regularizer=keras.regularizers.l2(0.01)),
            keras.layers.Dense(1)]),
        data=regression_data, batch_size=8, epochs=3,
        compile=lambda keras: dict(optimizer=keras.optimizers.RMSprop(0.005), loss="mse", metrics=["mae"])),
    "cnn_bn_sparse_adam": dict(
        build=lambda keras: keras.Sequential([
            keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, padding="same"), keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
            keras.layers.Dense(2, activation="softmax")]),
        data=image_data, batch_size=12, epochs=3, init_scale=0.3,
        compile=lambda keras: dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])),
}
