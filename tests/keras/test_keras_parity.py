"""Parity with real Keras 3: the same builder functions, Keras's weights, Keras's outputs.

tests/keras_models.py builds each model from a `keras` module; tools/make_keras_fixtures.py
ran them in real Keras 3 (JAX) and stored weights, inputs, outputs and metadata in
tests/data/keras/. Here graphc.keras runs the very same builders.
"""
import json
from pathlib import Path

import numpy as np
import pytest

import keras_models
from graphc import keras
from harness import assert_close

DATA = Path(__file__).resolve().parent.parent / "data" / "keras"
CASES = sorted(p.stem for p in DATA.glob("*.json") if p.stem != "defaults" and not p.stem.startswith("train_")
               and (DATA / f"{p.stem}.npz").exists() and p.stem not in ("losses", "metrics", "optimizers")
               and p.stem not in keras_models.STATEFUL_MODELS)  # a sequence of calls: test_rnn_parity.py


def _load(name):
    if keras_models.missing_recurrent_ops(name):
        pytest.skip(f"needs the recurrent ops {keras_models.missing_recurrent_ops(name)}")
    meta = json.loads((DATA / f"{name}.json").read_text())
    arrays = np.load(DATA / f"{name}.npz")
    keras.backend.clear_session()
    model = keras_models.MODELS[meta["builder"]][0](keras)
    return meta, arrays, model


def _shape(s):
    """One shape -> tuple; several shapes -> list of tuples (JSON turned Keras's tuples into lists)."""
    return tuple(s) if s is None or not s or not isinstance(s[0], (list, tuple)) else [tuple(x) for x in s]


@pytest.mark.parametrize("name", CASES)
def test_structure_matches_keras(name):
    meta, arrays, model = _load(name)
    assert model.count_params() == meta["count_params"]
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == meta["trainable_params"]
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == meta["non_trainable_params"]
    assert _shape(model.input_shape) == _shape(meta["input_shape"])
    assert _shape(model.output_shape) == _shape(meta["output_shape"])
    assert model.name == meta["model_name"]
    got = [(l.name, type(l).__name__, l.count_params()) for l in model.layers]
    want = [(l["name"], l["class_name"], l["param_count"]) for l in meta["layers"]]
    assert got == want
    for layer, spec in zip(model.layers, meta["layers"]):
        assert _shape(layer.output_shape) == _shape(spec["output_shape"]), layer.name
    assert [(w.name, tuple(w.shape), w.trainable) for w in model.weights] == \
        [(w["name"], tuple(w["shape"]), w["trainable"]) for w in meta["weights"]]


@pytest.mark.parametrize("name", CASES)
def test_predictions_match_keras(name):
    meta, arrays, model = _load(name)
    n_w = sum(1 for k in arrays.files if k.startswith("w"))
    model.set_weights([arrays[f"w{i}"] for i in range(n_w)])
    for batch, spec in meta["batches"].items():
        xs = [arrays[f"{spec['x_prefix']}{i}"] for i in range(meta["num_inputs"])]
        ys = [arrays[f"{spec['y_prefix']}{i}"] for i in range(meta["num_outputs"])]
        out = model.predict(xs if len(xs) > 1 else xs[0], batch_size=int(batch), verbose=0)
        out = out if isinstance(out, list) else [out]
        assert len(out) == len(ys)
        for k, (a, e) in enumerate(zip(out, ys)):
            assert_close(a, e, rtol=1e-5, what=f"{name} batch {batch} output {k}")


def test_layer_defaults_match_keras():
    defaults = json.loads((DATA / "defaults.json").read_text())
    cfgs = defaults.get("layer_configs", defaults)
    bn = cfgs["BatchNormalization"]
    ours = keras.layers.BatchNormalization()
    assert (ours.epsilon, ours.momentum, ours.axis) == (bn["epsilon"], bn["momentum"], bn["axis"])
    assert keras.layers.LeakyReLU().negative_slope == cfgs["LeakyReLU"]["negative_slope"]
    dense = keras.layers.Dense(1).get_config()
    for key in ("activation", "use_bias"):
        assert dense[key] == cfgs["Dense"][key]
    assert dense["kernel_initializer"]["class_name"] == cfgs["Dense"]["kernel_initializer"]["class_name"]
    conv = keras.layers.Conv2D(1, 3).get_config()
    for key in ("padding", "data_format", "groups", "use_bias"):
        assert conv[key] == cfgs["Conv2D"][key], key
    assert list(conv["strides"]) == list(cfgs["Conv2D"]["strides"])
    assert list(conv["dilation_rate"]) == list(cfgs["Conv2D"]["dilation_rate"])
