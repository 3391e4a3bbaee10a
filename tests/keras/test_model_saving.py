"""Whole-model files: ``model.save`` and ``keras.models.load_model`` in the ``.keras`` and legacy
``.h5`` formats, for graphc-written and Keras-written files.

tests/data/keras/files/ holds models saved by real Keras 3 (tools/make_keras_model_files.py, which
also checks that real Keras loads graphc's files; tests must not import it).
"""
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

from graphc import keras
from graphc.errors import SerializationError
from graphc.keras import layers

FILES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "keras", "files")
FORMATS = ["h5", "keras"]


def mlp():
    return keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu", name="hidden"),
                             layers.Dense(3, name="out")])


def cnn_bn():
    return keras.Sequential([keras.Input((8, 8, 2)), layers.Conv2D(4, 3, activation="relu"),
                             layers.BatchNormalization(), layers.MaxPooling2D(2), layers.Flatten(),
                             layers.Dense(3, activation="softmax")])


def shared_multi_output():
    a, b = keras.Input((5,), name="a"), keras.Input((5,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    x = layers.concatenate([shared(a), shared(b)])
    y = layers.Dense(2, name="head")(x)
    return keras.Model([a, b], [layers.Dense(1, name="score")(x), y])


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([np.abs(rng.normal(size=w.shape)) + 0.5 if "variance" in w.name else rng.normal(size=w.shape)
                       for w in model.weights])


def assert_same_predictions(m1, m2, x):
    p1, p2 = m1.predict(x, verbose=0), m2.predict(x, verbose=0)
    for a, b in zip(p1 if isinstance(p1, list) else [p1], p2 if isinstance(p2, list) else [p2]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("build,shape", [(mlp, [(6,)]), (cnn_bn, [(8, 8, 2)]), (shared_multi_output, [(5,), (5,)])])
def test_round_trip_predictions(tmp_path, fmt, build, shape):
    model = build()
    randomize(model)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((4,) + s).astype("float32") for s in shape]
    x = xs[0] if len(xs) == 1 else xs
    path = tmp_path / f"m.{fmt}"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers]
    assert_same_predictions(model, loaded, x)
    for w1, w2 in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(w1.numpy(), w2.numpy())


def test_shared_layer_stays_shared(tmp_path):
    model = shared_multi_output()
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    shared = loaded.get_layer("shared")
    assert len(shared._inbound_nodes) == 2
    assert len(loaded.weights) == len(model.weights)
    assert len(loaded.outputs) == 2


def test_h5_layout(tmp_path):
    model = mlp()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path) as f:
        config = json.loads(f.attrs["model_config"])
        training = json.loads(f.attrs["training_config"])
        assert "keras_version" in f.attrs and "backend" in f.attrs
        assert "model_weights" in f
        assert [n.decode() if isinstance(n, bytes) else n for n in f["model_weights"].attrs["layer_names"]] == \
            ["hidden", "out"]
    assert config["class_name"] == "Sequential"
    entries = config["config"]["layers"]
    assert entries[0]["class_name"] == "InputLayer" and entries[0]["config"]["batch_shape"] == [None, 6]
    assert [e["class_name"] for e in entries[1:]] == ["Dense", "Dense"]
    assert all(e["module"] == "keras.layers" and e["registered_name"] is None for e in entries)
    # Keras 3's h5 loader rejects the loss alias "mse" (keras.losses.deserialize): the function's name
    assert training["loss"] == "mean_squared_error" and training["metrics"] == ["mae"]
    assert training["optimizer_config"]["class_name"] == "Adam"
    assert training["optimizer_config"]["config"]["learning_rate"] == pytest.approx(0.01)


@pytest.mark.parametrize("loss, metrics, want_loss, want_metrics", [
    ("mse", ["mae"], "mean_squared_error", ["mae"]),
    ("categorical_crossentropy", ["accuracy"], "categorical_crossentropy", ["accuracy"]),
    (keras.losses.mean_squared_error, [keras.metrics.mean_absolute_error], "mean_squared_error",
     ["mean_absolute_error"]),
])
def test_h5_training_config_strings_and_functions(tmp_path, loss, metrics, want_loss, want_metrics):
    """Losses and metrics given as strings or functions are saved as Keras's h5 writer saves them
    (function names; loss aliases spelled out) and graphc loads them back and trains on."""
    model = mlp()
    model.compile(optimizer="adam", loss=loss, metrics=metrics)
    x = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    model.fit(x, y, verbose=0)
    model.save(tmp_path / "m.h5")
    model.save(tmp_path / "m.keras")
    with h5py.File(tmp_path / "m.h5") as f:
        training = json.loads(f.attrs["training_config"])
    assert training["loss"] == want_loss and training["metrics"] == want_metrics
    for name in ("m.h5", "m.keras"):
        loaded = keras.models.load_model(tmp_path / name)
        history = loaded.fit(x, y, verbose=0).history
        assert int(np.asarray(loaded.optimizer.iterations)) == 2
        assert len(history) == 2 and np.isfinite(history["loss"][0])


def test_h5_training_config_function_dicts_load(tmp_path):
    """Files of earlier graphc versions saved functions as the .keras ``builtins.function`` dict."""
    model = mlp()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.save(tmp_path / "m.h5")
    fn = {"module": "builtins", "class_name": "function", "registered_name": "function"}
    with h5py.File(tmp_path / "m.h5", "a") as f:
        training = json.loads(f.attrs["training_config"])
        training["loss"] = dict(fn, config="mean_squared_error")
        training["metrics"] = [dict(fn, config="mean_absolute_error")]
        f.attrs["training_config"] = json.dumps(training)
    loaded = keras.models.load_model(tmp_path / "m.h5")
    x = np.ones((2, 6), "float32")
    assert set(loaded.fit(x, np.ones((2, 3), "float32"), verbose=0).history) == {"loss", "mean_absolute_error"}


def test_functional_config_layout(tmp_path):
    model = shared_multi_output()
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        assert set(z.namelist()) == {"config.json", "metadata.json", "model.weights.h5"}
        config = json.loads(z.read("config.json"))
    assert config["class_name"] == "Functional"
    cfg = config["config"]
    assert cfg["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert cfg["output_layers"] == [["score", 0, 0], ["head", 0, 0]]
    shared = next(e for e in cfg["layers"] if e["name"] == "shared")
    assert [n["args"][0]["config"]["keras_history"] for n in shared["inbound_nodes"]] == [["a", 0, 0], ["b", 0, 0]]
    concat = next(e for e in cfg["layers"] if e["class_name"] == "Concatenate")
    assert [t["config"]["keras_history"] for t in concat["inbound_nodes"][0]["args"][0]] == \
        [["shared", 0, 0], ["shared", 1, 0]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_compiled_model_resumes_training(tmp_path, fmt):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 6)).astype("float32")
    y = rng.integers(0, 3, (16,))

    def make():
        keras.utils.set_random_seed(0) if hasattr(keras.utils, "set_random_seed") else None
        m = mlp()
        randomize(m, 2)
        m.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        return m

    reference = make()
    reference.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    model = make()
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    path = tmp_path / f"m.{fmt}"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.optimizer).__name__ == "Adam"
    assert loaded.optimizer.learning_rate == pytest.approx(0.01)
    history = loaded.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0).history
    assert set(history) == {"loss", "accuracy"}
    ref_history = reference.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0).history
    # the optimizer state travels with the model: training continues exactly
    np.testing.assert_allclose(history["loss"], ref_history["loss"], rtol=1e-5)
    assert_same_predictions(reference, loaded, x)


def test_load_without_compile(tmp_path):
    model = mlp()
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "m.h5")
    loaded = keras.models.load_model(tmp_path / "m.h5", compile=False)
    assert getattr(loaded, "_compile_cfg", None) is None


def test_model_checkpoint_saves_whole_model(tmp_path):
    model = mlp()
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).standard_normal((8, 6)).astype("float32")
    y = np.zeros((8, 3), "float32")
    pattern = str(tmp_path / "ckpt-{epoch}.keras")
    model.fit(x, y, epochs=2, batch_size=4, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(pattern, save_weights_only=False, monitor="loss")])
    assert sorted(os.listdir(tmp_path)) == ["ckpt-1.keras", "ckpt-2.keras"]
    loaded = keras.models.load_model(tmp_path / "ckpt-2.keras")
    assert_same_predictions(model, loaded, x)


# --- Keras-written files --------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name,cls,opt,lr", [("mlp", "Sequential", "Adam", 0.01),
                                             ("mnist_cnn", "Sequential", "SGD", 0.05),
                                             ("two_tower", "Functional", "RMSprop", 0.005),
                                             ("ops_model", "Functional", "Adam", 0.01)])  # keras.ops nodes
def test_keras_written_files(name, cls, opt, lr, fmt):
    data = np.load(os.path.join(FILES, f"{name}.npz"))
    xs = [data[k] for k in sorted(data.files) if k.startswith("x")]
    expected = [data[k] for k in sorted(data.files) if k.startswith("y")]
    model = keras.models.load_model(os.path.join(FILES, f"{name}.{fmt}"))
    assert type(model).__name__ == cls
    assert type(model.optimizer).__name__ == opt
    assert model.optimizer.learning_rate == pytest.approx(lr)
    # the mlp was trained one step (batch of 6) before saving: its Adam state came along
    assert int(model.optimizer.iterations.numpy()) == (1 if name == "mlp" else 0)
    got = model.predict(xs[0] if len(xs) == 1 else xs, verbose=0)
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_keras_written_model_trains():
    data = np.load(os.path.join(FILES, "mlp.npz"))
    model = keras.models.load_model(os.path.join(FILES, "mlp.keras"))
    history = model.fit(data["x0"], np.array([0, 1, 2, 0, 1, 2]), epochs=1, verbose=0).history
    assert set(history) == {"loss", "accuracy"}


# --- errors ---------------------------------------------------------------------------------
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@pytest.mark.parametrize("fmt", FORMATS)
def test_custom_objects(tmp_path, fmt):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2), Scale(3.0)])
    path = tmp_path / f"m.{fmt}"
    model.save(path)
    with pytest.raises(SerializationError, match=r"Unknown layer: 'Scale'.*custom_objects"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"Scale": Scale})
    assert loaded.layers[-1].factor == 3.0
    assert_same_predictions(model, loaded, np.ones((2, 3), "float32"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_file(tmp_path, fmt):
    path = tmp_path / f"m.{fmt}"
    mlp().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SerializationError, match="m." + fmt):
        keras.models.load_model(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_garbage_file(tmp_path, fmt):
    path = tmp_path / f"m.{fmt}"
    path.write_bytes(b"not a model" * 50)
    with pytest.raises(SerializationError, match="m." + fmt):
        keras.models.load_model(path)


def test_h5_missing_groups(tmp_path):
    path = tmp_path / "m.h5"
    mlp().save(path)
    with h5py.File(path, "a") as f:
        del f["model_weights"]["out"]
    with pytest.raises(SerializationError, match="m.h5"):
        keras.models.load_model(path)
    with h5py.File(path, "a") as f:
        del f["model_weights"]
    with pytest.raises(SerializationError, match="model_weights"):
        keras.models.load_model(path)


def test_weights_only_h5_is_not_a_model(tmp_path):
    path = tmp_path / "w.h5"
    mlp().save_weights(path)
    with pytest.raises(SerializationError, match="No model config"):
        keras.models.load_model(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_shape_disagrees_with_config(tmp_path, fmt):
    path = tmp_path / f"m.{fmt}"
    mlp().save(path)
    # Edit the config so that the second Dense has 5 units: the saved kernel is (8, 3).
    if fmt == "h5":
        with h5py.File(path, "a") as f:
            cfg = json.loads(f.attrs["model_config"])
            cfg["config"]["layers"][2]["config"]["units"] = 5
            f.attrs["model_config"] = json.dumps(cfg)
    else:
        with zipfile.ZipFile(path) as z:
            files = {n: z.read(n) for n in z.namelist()}
        cfg = json.loads(files["config.json"])
        cfg["config"]["layers"][2]["config"]["units"] = 5
        files["config.json"] = json.dumps(cfg).encode()
        with zipfile.ZipFile(path, "w") as z:
            for n, d in files.items():
                z.writestr(n, d)
    with pytest.raises(SerializationError, match=r"out.*kernel.*\(8, 5\).*\(8, 3\)"):
        keras.models.load_model(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_interrupted_save_keeps_previous_file(tmp_path, fmt, monkeypatch):
    path = tmp_path / f"m.{fmt}"
    model = mlp()
    model.save(path)
    before = path.read_bytes()
    from graphc.keras.saving import legacy_h5, weights_h5

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(legacy_h5, "_save_subset", boom)
    monkeypatch.setattr(weights_h5, "_write_vars", boom)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]


def test_bad_extension_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="extension"):
        mlp().save(tmp_path / "m.txt")
    with pytest.raises(FileNotFoundError):
        keras.models.load_model(tmp_path / "nope.keras")


def test_subclassed_model_is_refused(tmp_path):
    class M(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)

    m = M()
    m(np.ones((1, 3), "float32"))
    with pytest.raises(SerializationError, match="save_weights"):
        m.save(tmp_path / "m.keras")


# --- every model of tests/keras_models.py --------------------------------------------------
def _models():
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    import keras_models
    return keras_models.MODELS


@pytest.mark.parametrize("name", sorted(_models()))
def test_every_shared_model_round_trips(tmp_path, name):
    import keras_models
    if keras_models.missing_recurrent_ops(name):
        pytest.skip(f"needs the recurrent ops {keras_models.missing_recurrent_ops(name)}")
    build, shapes = _models()[name]
    model = build(keras)
    shapes = shapes if isinstance(shapes, list) else [shapes]
    rng = np.random.default_rng(0)
    if name.startswith("embedding"):
        xs = [rng.integers(0, 5, (2,) + tuple(s)) for s in shapes]
    else:
        xs = [rng.random((2,) + tuple(s)).astype("float32") for s in shapes]
    x = xs[0] if len(xs) == 1 else xs
    for fmt in FORMATS:
        model.save(tmp_path / f"m.{fmt}")
        loaded = keras.models.load_model(tmp_path / f"m.{fmt}")
        assert_same_predictions(model, loaded, x)


def test_input_shape_kwarg_stays_out_of_layer_configs(tmp_path):
    model = keras.Sequential([layers.Dense(4, input_dim=3), layers.Dense(1)])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        entries = json.loads(z.read("config.json"))["config"]["layers"]
    assert entries[0]["class_name"] == "InputLayer" and entries[0]["config"]["batch_shape"] == [None, 3]
    assert "batch_input_shape" not in entries[1]["config"]
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.inputs[0].shape == (None, 3)


@pytest.mark.parametrize("fmt", FORMATS)
def test_nested_sequential_in_functional(tmp_path, fmt):
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(4, activation="relu"), layers.BatchNormalization()],
                             name="block")
    inp = keras.Input((4,), name="x")
    model = keras.Model(inp, layers.Dense(2, name="head")(layers.add([inner(inp), inp])))
    randomize(model, 5)
    model.layers[1].trainable = False
    path = tmp_path / f"m.{fmt}"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert [type(l).__name__ for l in loaded.layers] == ["InputLayer", "Sequential", "Add", "Dense"]
    assert type(loaded.layers[1]) is keras.Sequential and loaded.layers[1].trainable is False
    assert_same_predictions(model, loaded, np.random.default_rng(0).random((3, 4)).astype("float32"))
    if fmt == "keras":
        with zipfile.ZipFile(path) as z:
            entry = json.loads(z.read("config.json"))["config"]["layers"][1]
        assert (entry["module"], entry["class_name"], entry["registered_name"]) == ("keras", "Sequential", None)


def test_custom_object_scope_and_registration(tmp_path):
    from graphc.keras import saving
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2), Scale(3.0)])
    model.save(tmp_path / "m.keras")
    with saving.custom_object_scope({"Scale": Scale}):
        loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[-1].factor == 3.0
    with pytest.raises(SerializationError, match="Unknown layer: 'Scale'"):
        keras.models.load_model(tmp_path / "m.keras")

    @saving.register_keras_serializable(package="Tests")
    class Shift(keras.layers.Layer):
        def __init__(self, by=1.0, **kwargs):
            super().__init__(**kwargs)
            self.by = by

        def call(self, x):
            return x + self.by

        def get_config(self):
            return {**super().get_config(), "by": self.by}

    try:
        model = keras.Sequential([keras.Input((3,)), Shift(2.0)])
        model.save(tmp_path / "r.h5")
        with h5py.File(tmp_path / "r.h5") as f:
            entry = json.loads(f.attrs["model_config"])["config"]["layers"][1]
        assert entry["registered_name"] == "Tests>Shift"
        loaded = keras.models.load_model(tmp_path / "r.h5")
        assert type(loaded.layers[0]) is Shift and loaded.layers[0].by == 2.0
    finally:
        saving.get_custom_objects().pop("Tests>Shift", None)


def test_lambda_needs_safe_mode_off(tmp_path):
    model = keras.Sequential([keras.Input((3,)), layers.Lambda(lambda x: x * 2.0)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(SerializationError, match="safe_mode"):
        keras.models.load_model(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=False)
    np.testing.assert_array_equal(loaded.predict(np.ones((1, 3), "float32"), verbose=0), [[2.0, 2.0, 2.0]])
