"""Embedding: forward vs numpy, params, config, index validation before native code, training."""
import numpy as np
import pytest

from graphc import keras
from graphc.errors import ShapeError
from harness import assert_close


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


@pytest.mark.parametrize("length", [1, 6, None])
def test_forward_matches_numpy_take(length):
    inp = keras.Input(shape=(length,), dtype="int64")
    emb = keras.layers.Embedding(50, 8)
    model = keras.Model(inp, emb(inp))
    assert model.output_shape == (None, length, 8)
    table = emb.get_weights()[0]
    rng = np.random.default_rng(0)
    for batch in (1, 7):
        for n in ([length] if length else [1, 9]):
            x = rng.integers(0, 50, (batch, n))
            assert_close(model.predict(x, verbose=0), table[x], rtol=0)


def test_float_indices_are_cast_and_eager_call():
    emb = keras.layers.Embedding(10, 3)
    y = emb(np.array([[1.0, 9.0]], dtype=np.float32))
    assert_close(y, emb.embeddings.numpy()[[[1, 9]]], rtol=0)
    inp = keras.Input(shape=(4,))
    model = keras.Model(inp, keras.layers.Embedding(10, 3)(inp))
    x = np.array([[0, 1, 2, 3]], dtype=np.float32)
    assert_close(model.predict(x, verbose=0), model.layers[-1].get_weights()[0][x.astype(int)], rtol=0)


def test_param_count_defaults_and_config_round_trip():
    emb = keras.layers.Embedding(1000, 64)
    model = keras.Sequential([keras.Input((10,), dtype="int32"), emb])
    assert model.count_params() == 64_000
    assert [w.name for w in emb.weights] == ["embeddings"] and emb.weights[0].shape == (1000, 64)
    w = emb.get_weights()[0]
    assert -0.05 <= w.min() and w.max() <= 0.05 and w.std() > 0.02  # RandomUniform(-0.05, 0.05)
    cfg = emb.get_config()
    assert cfg["embeddings_initializer"]["class_name"] == "RandomUniform"
    assert cfg["embeddings_initializer"]["config"]["minval"] == -0.05
    assert {"input_dim", "output_dim", "embeddings_regularizer", "activity_regularizer",
            "embeddings_constraint", "mask_zero"} <= set(cfg)
    again = keras.layers.Embedding.from_config(cfg)
    assert again.get_config() == cfg
    with pytest.raises(ValueError, match="input_dim"):
        keras.layers.Embedding(0, 4)


def test_out_of_range_index_raises_before_native_code():
    inp = keras.Input(shape=(None,), dtype="int64")
    model = keras.Model(inp, keras.layers.Embedding(20, 4, name="tok")(inp))
    model.predict(np.array([[0, 19]]), verbose=0)
    exe = model._executable()
    calls = exe.native_calls
    for bad in (20, -1):
        with pytest.raises(ValueError, match=rf"'tok'.*index {bad}.*\[0, 20\)"):
            model.predict(np.array([[3, bad, 4]]), verbose=0)
    assert exe.native_calls == calls
    # a Cast of the input (float indices) is checked too, and so is the training step
    finp = keras.Input(shape=(3,))
    fmodel = keras.Model(finp, keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(5, 2)(finp)))
    with pytest.raises(ShapeError, match=r"index 7"):
        fmodel.predict(np.array([[1.0, 7.0, 2.0]]), verbose=0)
    fmodel.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ShapeError, match=r"\[0, 5\)"):
        fmodel.fit(np.array([[1.0, 7.0, 2.0]]), np.zeros((1, 2)), verbose=0)


def test_mask_zero_computes_the_mask_and_attaches_it():
    emb = keras.layers.Embedding(10, 3, mask_zero=True)
    assert emb.compute_mask(np.array([[0, 4]])).tolist() == [[False, True]]
    assert keras.layers.Embedding(10, 3).compute_mask(np.array([[0, 4]])) is None
    x = emb(keras.Input((4,), dtype="int64"))
    assert x._keras_mask.shape == (None, 4) and x._keras_mask.dtype == "bool"  # consumers: tests/keras/test_masking.py


def test_token_classifier_trains_to_95_percent():
    """label 1 iff token 7 occurs: Embedding -> GlobalAveragePooling1D -> Dense, trained by fit (int64 inputs)."""
    rng = np.random.default_rng(0)
    n, length, vocab = 3000, 10, 30
    x = rng.integers(0, vocab, (n, length))
    x[x == 7] = 8
    has = rng.random(n) < 0.5
    x[has, rng.integers(0, length, n)[has]] = 7
    y = has.astype(np.float32)
    model = keras.Sequential([keras.Input((length,), dtype="int64"), keras.layers.Embedding(vocab, 16),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x[:2500], y[:2500], batch_size=32, epochs=5, verbose=0)
    acc = np.mean((model.predict(x[2500:], verbose=0)[:, 0] > 0.5) == y[2500:].astype(bool))
    assert acc >= 0.95, acc


def test_defaults_match_keras():
    """tests/data/keras/defaults_more.json: real Keras 3's Embedding(10, 4).get_config()."""
    import json
    from pathlib import Path
    want = json.loads((Path(__file__).resolve().parent.parent / "data" / "keras" / "defaults_more.json")
                      .read_text())["layer_configs"]["Embedding"]
    got = keras.layers.Embedding(10, 4).get_config()
    for key in ("input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer", "activity_regularizer",
                "embeddings_constraint", "mask_zero", "name", "trainable"):
        assert got[key] == want[key], key


def test_input_length_is_accepted_with_keras_3_warning_and_sequential_builds_on_int_data():
    with pytest.warns(UserWarning, match="input_length"):
        emb = keras.layers.Embedding(10, 4, input_length=5)
    model = keras.Sequential([emb])
    assert not model.built  # as Keras 3: input_length does not declare the input shape
    x = np.array([[1, 2, 3]])
    assert_close(model.predict(x, verbose=0), emb.get_weights()[0][x], rtol=0)
    with pytest.raises(ValueError, match=r"index 10"):
        model.predict(np.array([[1, 10, 3]]), verbose=0)


def test_one_sgd_step_scatters_rows_with_repeated_indices():
    inp = keras.Input((4,), dtype="int64")
    emb = keras.layers.Embedding(6, 2)
    model = keras.Model(inp, keras.layers.GlobalAveragePooling1D()(emb(inp)))
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    table = emb.get_weights()[0].astype(np.float64)
    x = np.array([[1, 1, 2, 5], [5, 0, 1, 1], [3, 3, 3, 3]])
    model.train_on_batch(x, np.zeros((3, 2), np.float32))
    out = table[x].mean(axis=1)
    d_out = 2 * out / out.size
    grad = np.zeros_like(table)
    for b in range(3):
        for t in range(4):
            grad[x[b, t]] += d_out[b] / 4
    assert not grad[4].any()  # an unused row gets no update
    assert_close(emb.get_weights()[0], (table - grad).astype(np.float32), rtol=1e-5)


def test_one_input_feeding_two_embeddings_is_checked_against_the_smaller_table():
    inp = keras.Input((3,), dtype="int64")
    a = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(100, 2, name="big")(inp))
    b = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(8, 2, name="small")(inp))
    model = keras.Model(inp, keras.layers.Add()([a, b]))
    assert model.predict(np.array([[0, 7, 3]]), verbose=0).shape == (1, 2)
    with pytest.raises(ValueError, match=r"'small'.*index 8.*\[0, 8\)"):
        model.predict(np.array([[0, 8, 3]]), verbose=0)


def test_initial_weights_argument():
    table = np.arange(6, dtype=np.float32).reshape(3, 2)
    emb = keras.layers.Embedding(3, 2, weights=[table])
    assert_close(emb(np.array([[2, 0]])), table[[[2, 0]]], rtol=0)
