"""Preprocessing / regularization layers and activations beside issue 4's list, against numpy oracles
and files written by real Keras 3 (tools/make_keras_extra_layer_files.py)."""
from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.special import erf

from graphc import keras
from tests.harness import assert_close

L = keras.layers
DATA = os.path.join(os.path.dirname(__file__), "..", "data", "keras", "extra")
FILES = sorted(f[:-4] for f in os.listdir(DATA) if f.endswith(".npz"))


@pytest.mark.parametrize("ext", ["h5", "keras"])
@pytest.mark.parametrize("name", FILES)
def test_real_keras_file_predicts_the_same(name, ext):
    data = np.load(os.path.join(DATA, f"{name}.npz"))
    model = keras.models.load_model(os.path.join(DATA, f"{name}.{ext}"))
    assert_close(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5, what=name)


def _model(layer, shape):
    inp = keras.Input(shape)
    return keras.Model(inp, layer(inp))


def test_normalization_adapt_matches_numpy_and_keras_weights():
    rng = np.random.default_rng(0)
    data = rng.normal(2.0, 3.0, (64, 5, 3)).astype(np.float32)
    norm = L.Normalization(axis=-1)
    norm.adapt(data)
    mean, var, count = norm.get_weights()
    assert mean.shape == var.shape == (3,) and count.shape == () and int(count) == 64 * 5
    assert_close(mean, data.reshape(-1, 3).mean(0), rtol=1e-5)
    assert_close(var, data.reshape(-1, 3).var(0), rtol=1e-4)
    model = _model(norm, (5, 3))
    x = rng.normal(size=(4, 5, 3)).astype(np.float32)
    assert_close(model.predict(x, verbose=0), (x - mean) / np.maximum(np.sqrt(var), 1e-7), rtol=1e-5)
    assert model.count_params() == 7 and not norm.trainable_weights


def test_normalization_static_invert_and_zero_variance():
    norm = L.Normalization(mean=[1.0, 2.0], variance=[0.0, 4.0], invert=False)
    x = np.array([[1.0, 4.0], [3.0, 0.0]], np.float32)
    y = _model(norm, (2,)).predict(x, verbose=0)
    assert_close(y, np.stack([(x[:, 0] - 1.0) / 1e-7, (x[:, 1] - 2.0) / 2.0], 1), rtol=1e-5)
    assert not norm.weights
    inv = L.Normalization(mean=1.0, variance=4.0, invert=True)
    assert_close(_model(inv, (2,)).predict(x, verbose=0), 1.0 + x * 2.0, rtol=1e-6)
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        L.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="static"):
        inv.adapt(x)


def test_rescaling_identity_unit_normalization():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (3, 4, 4, 2)).astype(np.float32)
    assert_close(_model(L.Rescaling(1 / 127.5, offset=-1), (4, 4, 2)).predict(x, verbose=0), x / 127.5 - 1,
                 rtol=1e-6)
    assert_close(_model(L.Rescaling([0.5, 2.0]), (4, 4, 2)).predict(x, verbose=0), x * [0.5, 2.0], rtol=1e-6)
    assert_close(_model(L.Identity(), (4, 4, 2)).predict(x, verbose=0), x)
    y = _model(L.UnitNormalization(axis=[1, 2]), (4, 4, 2)).predict(x, verbose=0)
    assert_close(y, x / np.sqrt((x * x).sum(axis=(1, 2), keepdims=True)), rtol=1e-5)


@pytest.mark.parametrize("cls,shape,fmt,shared", [
    (L.SpatialDropout1D, (6, 5), None, (1,)),
    (L.SpatialDropout2D, (4, 4, 6), "channels_last", (1, 2)),
    (L.SpatialDropout2D, (6, 4, 4), "channels_first", (2, 3)),
    (L.SpatialDropout3D, (3, 3, 3, 4), None, (1, 2, 3))])
def test_spatial_dropout_drops_whole_feature_maps(cls, shape, fmt, shared):
    layer = cls(0.5, seed=3) if fmt is None else cls(0.5, seed=3, data_format=fmt)
    x = np.ones((8,) + shape, np.float32)
    model = _model(layer, shape)
    assert_close(model.predict(x, verbose=0), x)  # identity at inference
    y = np.asarray(model(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0}
    # every feature map is all-kept or all-dropped: constant along the spatial axes
    assert np.all(y.max(axis=shared) == y.min(axis=shared))
    assert 0 < (y == 0).mean() < 1
    cfg = layer.get_config()
    assert cfg["rate"] == 0.5 and "noise_shape" not in cfg
    assert type(layer).from_config(cfg).get_config() == cfg


def test_activity_regularization_adds_its_penalty_to_the_loss():
    x = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    inp = keras.Input((2,))
    model = keras.Model(inp, L.ActivityRegularization(l1=0.1, l2=0.01)(inp))
    model.compile(loss="mse", optimizer="sgd")
    y = np.zeros_like(x)
    loss = model.evaluate(x, y, verbose=0)
    mse = float((x ** 2).mean())
    penalty = (0.1 * np.abs(x).sum() + 0.01 * (x ** 2).sum()) / len(x)
    assert loss == pytest.approx(mse + penalty, rel=1e-5)
    assert_close(model.predict(x, verbose=0), x)


ACTIVATIONS = {
    "gelu": lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2))),
    "mish": lambda x: x * np.tanh(np.logaddexp(x, 0)),
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(x)),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "log_sigmoid": lambda x: -np.logaddexp(-x, 0),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: np.where(x <= -1, 0, np.where(x >= 1, 1, (x + 1) / 2)),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "glu": lambda x: x[:, :5] / (1 + np.exp(-x[:, 5:])),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_by_name_matches_numpy(name):
    x = np.linspace(-3, 3, 40, dtype=np.float32).reshape(4, 10)
    y = _model(L.Activation(name), (10,)).predict(x, verbose=0)
    assert_close(y, ACTIVATIONS[name](x.astype(np.float64)), rtol=1e-5, atol=1e-6, what=name)
    assert keras.activations.serialize(keras.activations.get(name)) in (name, "hard_silu")


def test_threshold_and_gelu_default():
    x = np.linspace(-2, 2, 9, dtype=np.float32)[None]
    inp = keras.Input((9,))
    y = keras.Model(inp, keras.activations.threshold(inp, 0.5, -1.0)).predict(x, verbose=0)
    assert_close(y, np.where(x > 0.5, x, -1.0))
    # keras.activations.gelu is exact by default; keras.ops.gelu is the tanh form by default
    exact = keras.Model(inp, keras.activations.gelu(inp)).predict(x, verbose=0)
    approx = keras.Model(inp, keras.ops.gelu(inp)).predict(x, verbose=0)
    assert_close(exact, 0.5 * x * (1 + erf(x / np.sqrt(2))), rtol=1e-5, atol=1e-6)
    assert np.abs(exact - approx).max() > 1e-5
