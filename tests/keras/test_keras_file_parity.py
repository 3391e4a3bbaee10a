"""Files written by real Keras 3 load in graphc with Keras's predictions, summary and weights.

tests/data/keras_parity/ holds, for every model of tools/parity_models.py (issue 4's layers with
non-default arguments: causal/dilated/grouped/channels_first convolutions, separable and transposed
convolutions, pools with padding same, recurrent layers going backwards with states, Bidirectional
merge modes, cells, TimeDistributed, merges, activation and normalization layers, masking, Lambda
and keras.ops nodes, inference-time noise layers, nested multi-input/multi-output models), the
``.h5`` and ``.keras`` files that Keras's ``model.save`` wrote, fixed inputs with Keras's
predictions, and Keras's summary facts. tools/make_keras_parity_fixtures.py wrote them (and checks
the reverse direction: real Keras loading graphc's files). Keras is not imported here.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from graphc import keras
from harness import assert_close
from parity_models import as_list, feed

DATA = Path(__file__).resolve().parent.parent / "data" / "keras_parity"
NAMES = sorted(p.stem for p in DATA.glob("*.json"))
# (name, format) pairs that exist: Keras 3.15 cannot write some models as legacy .h5 (it deep-copies
# configs holding modules, e.g. its augmentation layers); those have only the .keras file
FILES = [(n, f) for n in NAMES for f in ("h5", "keras") if (DATA / f"{n}.{f}").exists()]
BATCHES = (5, 1)


def _load(name, fmt):
    keras.backend.clear_session()
    return keras.models.load_model(DATA / f"{name}.{fmt}", safe_mode=False)


def _meta(name):
    return json.loads((DATA / f"{name}.json").read_text())


def test_fixtures_present():
    assert len(NAMES) >= 19, NAMES


@pytest.mark.parametrize("name,fmt", FILES)
def test_predictions_match_keras(name, fmt):
    model = _load(name, fmt)
    meta = _meta(name)
    data = np.load(DATA / f"{name}.npz")
    for batch in BATCHES:
        xs = [data[f"x{batch}_{i}"] for i in range(meta["num_inputs"])]
        want = [data[f"y{batch}_{i}"] for i in range(meta["num_outputs"])]
        got = as_list(model.predict(feed(model, xs), batch_size=batch, verbose=0))
        assert len(got) == len(want)
        for k, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, rtol=1e-5, what=f"{name}.{fmt} batch {batch} output {k}")


@pytest.mark.parametrize("name,fmt", FILES)
def test_summary_and_weights_match_keras(name, fmt):
    model = _load(name, fmt)
    meta = _meta(name)
    assert model.name == meta["model_name"] and type(model).__name__ == meta["model_class"]
    assert model.count_params() == meta["count_params"]
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == meta["trainable_params"]
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == meta["non_trainable_params"]
    assert [list(t.shape) for t in model.outputs] == meta["output_shapes"]
    rows = [(l.name, type(l).__name__, l.count_params()) for l in model.layers]
    assert rows == [(r["name"], r["class_name"], r["param_count"]) for r in meta["layers"]]
    for layer, row in zip(model.layers, meta["layers"]):
        if row["output_shape"] is not None:
            out = layer.output
            shape = [list(t.shape) for t in out] if isinstance(out, (list, tuple)) else list(out.shape)
            assert shape == row["output_shape"], layer.name
    # weight names, shapes and order as Keras's; the full path of a weight inside a wrapped layer depends
    # on where it was built (Keras itself gives `conv1d/kernel` after loading a model it built as
    # `time_distributed/sequential/conv1d/kernel`), so only the last component is compared
    assert [(w.path.split("/")[-1], list(w.shape), w.trainable) for w in model.weights] == \
        [(w["path"].split("/")[-1], w["shape"], w["trainable"]) for w in meta["weights"]]
    assert [list(w.shape) for w in model.get_weights()] == [w["shape"] for w in meta["weights"]]
    # summary() prints every layer with its parameter count and Keras's totals
    lines = []
    model.summary(print_fn=lambda s, line_break=False: lines.append(s))
    text = "\n".join(lines)
    assert f"Total params: {meta['count_params']:,}" in text
    assert f"Trainable params: {meta['trainable_params']:,}" in text
    for row in meta["layers"]:
        assert row["name"] in text


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip_keeps_predictions(name, monkeypatch):
    """get_config -> from_config gives the same architecture; with the weights copied over it predicts
    Keras's numbers."""
    model = _load(name, "keras")
    meta = _meta(name)
    cfg = model.get_config()
    json.dumps(cfg)  # a config is JSON
    if name == "lambda_ops":  # a Python lambda only deserializes with safe mode off, as in Keras
        with pytest.raises(ValueError, match="safe_mode"):
            type(model).from_config(cfg)
        monkeypatch.setitem(keras.config._state, "safe_mode", True)
        keras.config.enable_unsafe_deserialization()
    clone = type(model).from_config(cfg)
    assert clone.get_config() == cfg
    clone.set_weights(model.get_weights())
    data = np.load(DATA / f"{name}.npz")
    xs = [data[f"x5_{i}"] for i in range(meta["num_inputs"])]
    want = [data[f"y5_{i}"] for i in range(meta["num_outputs"])]
    got = as_list(clone.predict(feed(clone, xs), verbose=0))
    for k, (g, w) in enumerate(zip(got, want)):
        assert_close(g, w, rtol=1e-5, what=f"{name} from_config output {k}")


@pytest.mark.parametrize("name", NAMES)
def test_graphc_resave_round_trip(name, tmp_path):
    """graphc re-saves a Keras file in both formats and loads its own files with the same predictions."""
    model = _load(name, "h5" if (DATA / f"{name}.h5").exists() else "keras")
    meta = _meta(name)
    data = np.load(DATA / f"{name}.npz")
    xs = [data[f"x5_{i}"] for i in range(meta["num_inputs"])]
    want = [data[f"y5_{i}"] for i in range(meta["num_outputs"])]
    for ext in ("keras", "h5"):
        model.save(tmp_path / f"m.{ext}")
        again = keras.models.load_model(tmp_path / f"m.{ext}", safe_mode=False)
        got = as_list(again.predict(feed(again, xs), verbose=0))
        for k, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, rtol=1e-5, what=f"{name} resaved .{ext} output {k}")
