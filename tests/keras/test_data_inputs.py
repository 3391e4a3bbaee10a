"""fit/evaluate/predict on PyDatasets, generators and iterables of batches; keras.utils sequence helpers;
models.clone_model / model_from_json / save_model; utils.model_to_dot / plot_model."""
from __future__ import annotations

import os

import numpy as np
import pytest

from graphc import keras
from tests.harness import assert_close


def _regression_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3)


def _model(seed=1):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size, self.epochs_ended = x, y, batch_size, 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[sl], self.y[sl]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_fit_on_a_pydataset_equals_fit_on_arrays():
    x, y = _regression_data()
    a, b = _model(), _model()
    a.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    ds = Batches(x, y, 16)
    hist = b.fit(ds, epochs=3, shuffle=False, verbose=0)
    assert ds.epochs_ended == 3 and len(hist.history["loss"]) == 3
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert_close(wb, wa, rtol=1e-6)
    assert b.evaluate(ds, verbose=0) == pytest.approx(a.evaluate(x, y, batch_size=16, verbose=0), rel=1e-6)
    assert_close(b.predict(ds, verbose=0), a.predict(x, verbose=0), rtol=1e-6)


def test_fit_on_a_generator_with_steps_and_validation_data():
    x, y = _regression_data()

    def forever():
        while True:
            for i in range(0, len(x), 32):
                yield x[i:i + 32], y[i:i + 32]
    model = _model()
    hist = model.fit(forever(), steps_per_epoch=3, epochs=40, validation_data=(x, y), verbose=0)
    assert hist.history["loss"][-1] < 0.05 * hist.history["loss"][0]
    assert "val_loss" in hist.history and hist.history["val_loss"][-1] < 0.05
    # an iterator of (x, y, sample_weight) batches (a list would be multi-input arrays), and one for validation
    batches = [(x[:48], y[:48], np.ones(48, np.float32)), (x[48:], y[48:], np.zeros(48, np.float32))]
    model.fit(iter(batches), epochs=1, validation_data=iter([(x, y)]), verbose=0)


def test_batch_source_errors_are_clear():
    x, y = _regression_data()
    model = _model()
    with pytest.raises(ValueError, match="`y` argument is not supported"):
        model.fit(Batches(x, y, 16), y, verbose=0)
    with pytest.raises(ValueError, match="yielded no batches"):
        model.fit(iter([]), verbose=0)
    it = iter([(x, y)])
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(it, epochs=2, verbose=0)  # the iterator is consumed after the first epoch


def test_pad_sequences_matches_keras_semantics():
    seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]
    np.testing.assert_array_equal(keras.utils.pad_sequences(seqs),
                                  [[0, 0, 1, 2, 3], [0, 0, 0, 4, 5], [6, 7, 8, 9, 10]])
    np.testing.assert_array_equal(keras.utils.pad_sequences(seqs, maxlen=3, padding="post", truncating="post",
                                                            value=-1),
                                  [[1, 2, 3], [4, 5, -1], [6, 7, 8]])
    np.testing.assert_array_equal(keras.utils.pad_sequences(seqs, maxlen=2), [[2, 3], [4, 5], [9, 10]])
    out = keras.utils.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert out.shape == (2, 2, 3) and out.dtype == np.float32 and out[1, 0].sum() == 0
    assert keras.utils.pad_sequences([[]], maxlen=2).tolist() == [[0, 0]]
    with pytest.raises(ValueError, match="Padding type"):
        keras.utils.pad_sequences(seqs, padding="middle")


def test_timeseries_dataset_from_array_windows_and_trains():
    data = np.arange(100, dtype=np.float32)[:, None]
    ds = keras.utils.timeseries_dataset_from_array(data, data[:, 0] + 10, sequence_length=5, sequence_stride=2,
                                                   sampling_rate=3, batch_size=8)
    x, y = ds[0]
    # windows start every 2 steps, take every 3rd step; window i pairs with targets[start]
    assert x.shape == (8, 5, 1) and x[1, :, 0].tolist() == [2, 5, 8, 11, 14] and y[1] == 12
    n = len(range(0, 100 - 12, 2))
    assert sum(len(b[0]) for b in ds) == n and len(ds) == -(-n // 8)
    model = keras.Sequential([keras.Input((5, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(ds, epochs=1, verbose=0)
    assert model.predict(ds, verbose=0).shape == (n, 1)
    with pytest.raises(ValueError, match="sequence_length"):
        keras.utils.timeseries_dataset_from_array(data, None, sequence_length=0)


def test_clone_model_json_and_save_model(tmp_path):
    x, y = _regression_data()
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2, activation="gelu")(keras.layers.Dense(4)(inp)))
    clone = keras.models.clone_model(model)
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])  # fresh weights, as Keras
    clone.set_weights(model.get_weights())
    assert_close(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    again = keras.models.model_from_json(model.to_json())
    again.set_weights(model.get_weights())
    assert_close(again.predict(x, verbose=0), model.predict(x, verbose=0))
    seq = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dropout(0.5)])
    swapped = keras.models.clone_model(
        seq, clone_function=lambda l: keras.layers.Identity() if isinstance(l, keras.layers.Dropout)
        else l.__class__.from_config(l.get_config()))
    assert [type(l).__name__ for l in swapped.layers] == ["Dense", "Identity"]
    path = str(tmp_path / "m.keras")
    keras.models.save_model(model, path)
    assert_close(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_to_dot_and_plot_model(tmp_path):
    inp = keras.Input((3,), name="features")
    a = keras.layers.Dense(4, name="left")(inp)
    b = keras.layers.Dense(4, name="right")(inp)
    model = keras.Model(inp, keras.layers.Add(name="sum")([a, b]))
    dot = keras.utils.model_to_dot(model, show_shapes=True)
    text = dot.to_string()
    for name in ("features", "left", "right", "sum", "(None, 4)"):
        assert name in text
    assert len(dot.get_edges()) == 4
    path = str(tmp_path / "model.dot")
    keras.utils.plot_model(model, to_file=path, show_shapes=True)
    with open(path) as f:
        assert "left" in f.read()
    assert os.listdir(tmp_path) == ["model.dot"]  # no temporary file left behind
