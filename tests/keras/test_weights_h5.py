"""Weight files: Keras 3's ``.weights.h5`` layout and the legacy HDF5 layout, with real graphc models.

The layouts asserted here are the ones real Keras 3 writes and reads (checked against Keras
itself by tools/check_keras_weights_interop.py, which tests must not import).
"""
import os

import h5py
import numpy as np
import pytest

from graphc import keras
from graphc.errors import SerializationError
from graphc.keras import layers, saving
from graphc.keras.engine.variable import Variable


def mlp(units=(8, 4)):
    return keras.Sequential([keras.Input((6,))] + [layers.Dense(u, activation="relu") for u in units])


def cnn(filters=4):
    return keras.Sequential([keras.Input((8, 8, 2)), layers.Conv2D(filters, 3, activation="relu"),
                             layers.BatchNormalization(), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3)])


def randomize(model, seed):
    """Distinct random values for every weight (BatchNormalization statistics included)."""
    rng = np.random.default_rng(seed)
    model.set_weights([np.abs(rng.normal(size=w.shape)) + 0.5 if "variance" in w.name
                       else rng.normal(size=w.shape) for w in model.weights])
    return model.get_weights()


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


def text(values):
    """h5py hands string attributes back as str or bytes, depending on how they were stored."""
    if isinstance(values, (str, bytes)):
        return values.decode() if isinstance(values, bytes) else values
    return [text(v) for v in values]


SUFFIXES = [".weights.h5", ".h5", ".hdf5"]


# --- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("build", [mlp, cnn])
def test_round_trip(tmp_path, build, suffix):
    src, dst = build(), build()
    expected = randomize(src, 1)
    randomize(dst, 2)
    path = tmp_path / f"model{suffix}"
    saving.save_weights(src, path)
    saving.load_weights(dst, str(path))
    assert_same(dst.get_weights(), expected)


def test_round_trip_functional_with_nested_sequential(tmp_path):
    def build():
        inner = keras.Sequential([layers.Dense(5, activation="tanh"), layers.Dense(5)])
        inp = keras.Input((5,))
        h = layers.Dense(5)(inp)
        return keras.Model(inp, layers.Dense(2)(layers.Add()([h, inner(h)])))

    for suffix in (".weights.h5", ".h5"):
        src, dst = build(), build()
        expected = randomize(src, 3)
        saving.save_weights(src, tmp_path / f"f{suffix}")
        saving.load_weights(dst, tmp_path / f"f{suffix}")
        assert_same(dst.get_weights(), expected)


def test_loaded_weights_are_used_by_compiled_predict(tmp_path):
    src, dst = mlp(), mlp()
    randomize(src, 4)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    before = dst.predict(x, verbose=0)  # compiled before loading: the weights are bound in place
    saving.save_weights(src, tmp_path / "m.weights.h5")
    saving.load_weights(dst, tmp_path / "m.weights.h5")
    after = dst.predict(x, verbose=0)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, src.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


# --- the layouts -------------------------------------------------------------------------------
def test_keras3_layout(tmp_path):
    model = cnn()
    weights = randomize(model, 5)
    path = tmp_path / "cnn.weights.h5"
    saving.save_weights(model, path)
    with h5py.File(path, "r") as f:
        groups = []
        f.visititems(lambda name, obj: groups.append(name) if name.endswith("vars") else None)
        assert sorted(groups) == ["layers/batch_normalization/vars", "layers/conv2d/vars", "layers/dense/vars",
                                  "layers/flatten/vars", "layers/max_pooling2d/vars", "vars"]
        assert f["vars"].attrs["name"] == model.name
        assert f["layers/conv2d/vars"].attrs["name"] == model.layers[0].name
        np.testing.assert_array_equal(f["layers/conv2d/vars/0"][()], weights[0])  # kernel
        np.testing.assert_array_equal(f["layers/conv2d/vars/1"][()], weights[1])  # bias
        bn = f["layers/batch_normalization/vars"]
        assert sorted(bn.keys()) == ["0", "1", "2", "3"]  # gamma, beta, moving_mean, moving_variance
        np.testing.assert_array_equal(bn["3"][()], weights[5])
        assert len(f["layers/flatten/vars"]) == 0


def test_keras3_layout_paths_of_nested_and_subclassed_models():
    # the paths Keras 3 gives these objects (checked against real Keras 3)
    inner = keras.Sequential([layers.Dense(3), layers.Dense(3)])
    inp = keras.Input((4,))
    model = keras.Model(inp, layers.Dense(1)(inner(layers.Dense(4)(inp))))
    assert [p for p, _ in saving.saveable_paths(model)] == [
        "", "layers/input_layer", "layers/dense", "layers/sequential", "layers/sequential/layers/dense",
        "layers/sequential/layers/dense_1", "layers/dense_1"]

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.zeta = layers.Dense(3)
            self.alpha = layers.Dense(2)
            self.blocks = [layers.Dense(2), layers.BatchNormalization()]
            self._priv = layers.Dense(2)

        def call(self, x):
            x = self.alpha(self.zeta(x))
            for block in self.blocks:
                x = block(x)
            return self._priv(x)

    sub = Sub()
    sub(keras.Input((4,)))
    paths = {p: layer for p, layer in saving.saveable_paths(sub)}
    # attributes in sorted order, private ones last, then the tracked layers not reached yet
    assert list(paths) == ["", "alpha", "blocks/dense", "blocks/batch_normalization", "layers/dense",
                           "layers/dense_3"]
    assert paths["layers/dense"] is sub.zeta and paths["layers/dense_3"] is sub._priv


def test_legacy_layout(tmp_path):
    model = cnn()
    weights = randomize(model, 6)
    path = tmp_path / "cnn.h5"
    saving.save_weights(model, path)
    names = [layer.name for layer in model.layers]
    with h5py.File(path, "r") as f:
        assert text(f.attrs["layer_names"]) == names
        assert text(f.attrs["backend"]) == "graphc" and text(f.attrs["keras_version"]).startswith("3")
        assert sorted(f.keys()) == sorted(names + ["top_level_model_weights"])
        bn = model.layers[1]
        wn = text(f[bn.name].attrs["weight_names"])
        # Keras 3 writes each weight's path, which for a Sequential's layer starts with the model's name
        assert wn == [f"{model.name}/{bn.name}/{w}" for w in ("gamma", "beta", "moving_mean", "moving_variance")]
        np.testing.assert_array_equal(f[bn.name][f"{model.name}/{bn.name}/moving_variance"][()], weights[5])
        assert len(f[model.layers[3].name].attrs["weight_names"]) == 0  # Flatten: no weights


class Odd(keras.layers.Layer):
    """A layer whose first weight is non-trainable (the two layouts order them differently)."""

    def build(self, input_shape):
        self.counter = self.add_weight(shape=(3,), initializer="ones", trainable=False, name="counter")
        self.w = self.add_weight(shape=(input_shape[-1], 3), name="w")

    def call(self, x):
        return keras.ops.matmul(x, self.w) + self.counter


def test_weight_order_trainable_first(tmp_path):
    def build():
        return keras.Sequential([keras.Input((2,)), Odd(name="odd"), layers.Dense(2)])

    model = build()
    weights = randomize(model, 7)
    saving.save_weights(model, tmp_path / "o.h5")
    saving.save_weights(model, tmp_path / "o.weights.h5")
    with h5py.File(tmp_path / "o.h5", "r") as f:
        assert text(f["odd"].attrs["weight_names"]) == [f"{model.name}/odd/w", f"{model.name}/odd/counter"]
    with h5py.File(tmp_path / "o.weights.h5", "r") as f:
        np.testing.assert_array_equal(f["layers/odd/vars/0"][()], weights[0])  # w (trainable first, as Keras 3)
        np.testing.assert_array_equal(f["layers/odd/vars/1"][()], weights[1])  # counter
    # freezing a layer changes the legacy order only through trainable_weights, as in Keras
    for suffix in (".h5", ".weights.h5"):
        dst = build()
        dst.layers[0].trainable = False
        saving.load_weights(dst, tmp_path / f"o{suffix}")
        assert_same(dst.get_weights(), weights)


def test_long_attributes_are_chunked(tmp_path):
    # layer_names larger than HDF5's 64 KB object-header limit -> layer_names0, layer_names1, ...
    def build():
        return keras.Sequential([keras.Input((2,))] +
                                [layers.Dense(2, name=f"dense_{i:02d}_" + "x" * 2000) for i in range(36)])

    model = build()
    weights = randomize(model, 8)
    saving.save_weights(model, tmp_path / "long.h5")
    with h5py.File(tmp_path / "long.h5", "r") as f:
        assert "layer_names" not in f.attrs and "layer_names0" in f.attrs and "layer_names1" in f.attrs
        assert saving.load_attributes_from_hdf5_group(f, "layer_names") == [layer.name for layer in model.layers]
    dst = keras.Sequential([keras.Input((2,))] + [layers.Dense(2) for _ in range(36)])
    saving.load_weights(dst, tmp_path / "long.h5")
    assert_same(dst.get_weights(), weights)


def test_attribute_helpers(tmp_path):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        data = [f"name_{i:05d}".encode() for i in range(10000)]  # 100 KB
        saving.save_attributes_to_hdf5_group(f, "names", data)
        assert "names" not in f.attrs and "names1" in f.attrs
        assert saving.load_attributes_from_hdf5_group(f, "names") == [d.decode() for d in data]
        saving.save_attributes_to_hdf5_group(f, "small", [b"a", b"b"])
        assert saving.load_attributes_from_hdf5_group(f, "small") == ["a", "b"]
        assert saving.load_attributes_from_hdf5_group(f, "absent") == []
        with pytest.raises(SerializationError, match="larger than 64512 bytes"):
            saving.save_attributes_to_hdf5_group(f, "huge", [b"x" * 70000])


def test_legacy_full_model_file_and_by_name(tmp_path):
    src = mlp()
    weights = randomize(src, 9)
    path = tmp_path / "full.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = "{}"
        saving.save_weights_to_hdf5_group(f.create_group("model_weights"), src)
    dst = mlp()
    saving.load_weights(dst, path)
    assert_same(dst.get_weights(), weights)
    # by_name: only layers with the same names receive weights
    renamed = keras.Sequential([keras.Input((6,)), layers.Dense(8, name=src.layers[0].name),
                                layers.Dense(4, name="something_else")])
    untouched = renamed.layers[1].get_weights()
    saving.load_weights(renamed, tmp_path / "full.h5", by_name=True)
    assert_same(renamed.layers[0].get_weights(), weights[:2])
    assert_same(renamed.layers[1].get_weights(), untouched)
    saving.save_weights(src, tmp_path / "v3.weights.h5")
    with pytest.raises(ValueError, match="`by_name` only supports loading legacy"):
        saving.load_weights(dst, tmp_path / "v3.weights.h5", by_name=True)


def test_the_content_decides_the_layout(tmp_path):
    src, dst = mlp(), mlp()
    weights = randomize(src, 10)
    saving.save_weights_to_weights_h5(src, tmp_path / "new_layout.h5")  # a v3 file under a legacy name
    saving.load_weights(dst, tmp_path / "new_layout.h5")
    assert_same(dst.get_weights(), weights)
    randomize(dst, 11)
    saving.save_weights_to_h5(src, tmp_path / "old_layout.weights.h5")
    saving.load_weights(dst, tmp_path / "old_layout.weights.h5")
    assert_same(dst.get_weights(), weights)


# --- optimizer state (.weights.h5) -------------------------------------------------------------
class StandInOptimizer:
    """What the .weights.h5 writer needs from an optimizer: name, variables, learning_rate."""

    def __init__(self, lr=0.01, n_slots=2):
        self.name = "adam"
        self.lr_var = Variable(np.float32(lr), shape=(), name="learning_rate")
        self._lr = lr
        self._variables = [Variable(np.int64(0), shape=(), dtype="int64", name="iteration"), self.lr_var] + \
                          [Variable(np.zeros(3, "float32"), name=f"m{i}") for i in range(n_slots)]

    @property
    def variables(self):
        return list(self._variables)

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = float(value)
        self.lr_var.assign(np.float32(value))


def test_optimizer_state_round_trip(tmp_path):
    src, dst = mlp(), mlp()
    weights = randomize(src, 12)
    src.optimizer = StandInOptimizer(lr=0.005)
    src.optimizer._variables[0].assign(np.int64(42))
    src.optimizer._variables[2].assign(np.arange(3, dtype="float32"))
    saving.save_weights(src, tmp_path / "opt.weights.h5")
    with h5py.File(tmp_path / "opt.weights.h5", "r") as f:
        assert f["optimizer/vars"].attrs["name"] == "adam" and len(f["optimizer/vars"]) == 4
    dst.optimizer = StandInOptimizer(lr=0.1)
    saving.load_weights(dst, tmp_path / "opt.weights.h5")
    assert_same(dst.get_weights(), weights)
    assert int(dst.optimizer.variables[0].numpy()) == 42
    np.testing.assert_array_equal(dst.optimizer.variables[2].numpy(), [0, 1, 2])
    assert dst.optimizer.learning_rate == pytest.approx(0.005)  # through the optimizer's setter
    # a different optimizer structure: Keras warns and skips the optimizer, weights still load
    other = mlp()
    other.optimizer = StandInOptimizer(n_slots=5)
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer 'adam', because it has 7 "
                                         "variables whereas the saved optimizer has 4 variables"):
        saving.load_weights(other, tmp_path / "opt.weights.h5")
    assert_same(other.get_weights(), weights)
    # an uncompiled model ignores the optimizer group
    plain = mlp()
    saving.load_weights(plain, tmp_path / "opt.weights.h5")
    assert_same(plain.get_weights(), weights)


# --- atomic writes -----------------------------------------------------------------------------
@pytest.mark.parametrize("suffix,method", [(".weights.h5", "__setitem__"), (".h5", "create_dataset")])
def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch, suffix, method):
    model = cnn()
    old = randomize(model, 13)
    path = tmp_path / f"ckpt{suffix}"
    saving.save_weights(model, path)
    randomize(model, 14)
    real = getattr(h5py.Group, method)
    calls = []

    def dying(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full (simulated)")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, method, dying)
    with pytest.raises(OSError, match="disk full"):
        saving.save_weights(model, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind
    fresh = cnn()
    saving.load_weights(fresh, path)
    assert_same(fresh.get_weights(), old)


def test_overwrite_false_asks(tmp_path, monkeypatch, capsys):
    model = mlp()
    first = randomize(model, 15)
    path = tmp_path / "m.weights.h5"
    saving.save_weights(model, path)
    second = randomize(model, 16)
    answers = iter(["maybe", "n"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    saving.save_weights(model, path, overwrite=False)
    check = mlp()
    saving.load_weights(check, path)
    assert_same(check.get_weights(), first)
    monkeypatch.setattr("builtins.input", lambda prompt="": "y")
    saving.save_weights(model, path, overwrite=False)
    saving.load_weights(check, path)
    assert_same(check.get_weights(), second)
    assert "[TIP] Next time specify overwrite=True!" in capsys.readouterr().out


# --- errors --------------------------------------------------------------------------------------
def test_wrong_layer_count(tmp_path):
    path = tmp_path / "three.h5"
    saving.save_weights(mlp((8, 4, 2)), path)
    dst = mlp((8, 4))
    before = dst.get_weights()
    with pytest.raises(SerializationError, match=r"you are trying to load a weight file containing 3 layers into "
                                                 r"a model with 2 layers") as e:
        saving.load_weights(dst, path)
    assert str(path) in str(e.value)
    assert_same(dst.get_weights(), before)
    # .weights.h5: a layer the file has no group for is an error naming the group; groups the
    # model does not have are ignored, as in Keras
    saving.save_weights(mlp((8, 4, 2)), tmp_path / "three.weights.h5")
    with pytest.raises(SerializationError, match=r"\(group /layers/dense_3 in .*three\.weights\.h5'\) expected 2 "
                                                 r"variables \['kernel', 'bias'\], but the file holds 0"):
        saving.load_weights(mlp((8, 4, 2, 2)), tmp_path / "three.weights.h5")
    src = mlp((8, 4, 2))
    weights = randomize(src, 18)
    saving.save_weights(src, tmp_path / "three.weights.h5")
    fewer = mlp((8, 4))
    saving.load_weights(fewer, tmp_path / "three.weights.h5")
    assert_same(fewer.get_weights(), weights[:4])


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_wrong_shape_names_layer_weight_and_shapes(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    saving.save_weights(mlp((8, 4)), path)
    dst = mlp((8, 5))
    before = dst.get_weights()
    with pytest.raises(SerializationError) as e:
        saving.load_weights(dst, path)
    msg = str(e.value)
    name = dst.layers[1].name
    assert f"{name}/kernel" in msg and "expects shape (8, 5)" in msg and "shape (8, 4)" in msg and str(path) in msg
    assert_same(dst.get_weights(), before)  # nothing was assigned
    # skip_mismatch: a warning per mismatched weight, the others load
    src = mlp((8, 4))
    weights = randomize(src, 17)
    saving.save_weights(src, path)
    with pytest.warns(UserWarning, match="Skipping loading weights"):
        saving.load_weights(dst, path, skip_mismatch=True)
    assert_same(dst.layers[0].get_weights(), weights[:2])


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_truncated_and_corrupt_files(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    saving.save_weights(cnn(), path)
    data = path.read_bytes()
    for label, content in [("truncated", data[:len(data) // 2]), ("garbage", b"not an hdf5 file" * 64),
                           ("empty", b"")]:
        bad = tmp_path / f"{label}{suffix}"
        bad.write_bytes(content)
        with pytest.raises(SerializationError, match="Cannot read weights file") as e:
            saving.load_weights(cnn(), bad)
        assert str(bad) in str(e.value), label


def test_other_hdf5_files_and_missing_files(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(SerializationError, match="not a Keras HDF5 weights file") as e:
        saving.load_weights(mlp(), path)
    assert str(path) in str(e.value)
    path = tmp_path / "other.weights.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(SerializationError, match="not a Keras 3 `.weights.h5` file"):
        saving.load_weights(mlp(), path)
    with pytest.raises(FileNotFoundError, match="missing.weights.h5"):
        saving.load_weights(mlp(), tmp_path / "missing.weights.h5")


def test_file_names_and_unbuilt_models(tmp_path):
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        saving.save_weights(mlp(), tmp_path / "m.ckpt")
    with pytest.raises(ValueError, match="File format not supported"):
        saving.load_weights(mlp(), tmp_path / "m.ckpt")
    unbuilt = keras.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="has not yet been built"):
        saving.save_weights(unbuilt, tmp_path / "u.weights.h5")
    with pytest.raises(ValueError, match="has not yet been built"):
        saving.save_weights(unbuilt, tmp_path / "u.h5")
    assert not os.listdir(tmp_path)
