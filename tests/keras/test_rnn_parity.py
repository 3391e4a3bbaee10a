"""Stateful recurrent models against real Keras 3: the fixture records a sequence of calls
(predict, predict, model(x), reset_states + predict, a two-batch predict) with the states carried
over between them (tools/make_keras_fixtures.py make_stateful_fixture)."""
import json
from pathlib import Path

import numpy as np
import pytest

import keras_models
from graphc import keras
from harness import assert_close

DATA = Path(__file__).resolve().parent.parent / "data" / "keras"


@pytest.mark.parametrize("name", sorted(keras_models.STATEFUL_MODELS))
def test_stateful_call_sequence_matches_keras(name):
    meta = json.loads((DATA / f"{name}.json").read_text())
    arrays = np.load(DATA / f"{name}.npz")
    keras.backend.clear_session()
    model = keras_models.STATEFUL_MODELS[name](keras)
    assert model.count_params() == meta["count_params"]
    assert [(w.name, tuple(w.shape)) for w in model.weights] == [(w["name"], tuple(w["shape"])) for w in meta["weights"]]
    assert [(l.name, type(l).__name__, l.count_params()) for l in model.layers] == \
        [(l["name"], l["class_name"], l["param_count"]) for l in meta["layers"]]
    model.set_weights([arrays[f"w{i}"] for i in range(sum(1 for k in arrays.files if k.startswith("w")))])
    x0, x1, x2 = arrays["x0"], arrays["x1"], arrays["x2"]
    batch = meta["batch_shape"][0]
    got = [model.predict(x0, batch_size=batch, verbose=0), model.predict(x1, batch_size=batch, verbose=0), model(x2)]
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()
    got.append(model.predict(x0, batch_size=batch, verbose=0))
    got.append(model.predict(np.concatenate([x1, x2]), batch_size=batch, verbose=0))
    for k, g in enumerate(got):
        assert_close(g, arrays[f"y{k}"], rtol=1e-5, atol=1e-6, what=f"{name}: {meta['calls'][k]}")
