"""Masks as Keras 3 propagates them: Embedding(mask_zero=True) and Masking produce them, layers that
support masking pass them on, GlobalAveragePooling1D and RNN layers consume them. Oracles are numpy
formulas over get_weights(); real-Keras parity of masked models is in test_keras_parity (fixtures
embedding_mask_* and masking_*)."""
import numpy as np
import pytest

from graphc import keras
from harness import assert_close

layers = keras.layers


def _masked_mean(h, keep):
    keep = keep[..., None].astype(np.float64)
    return (h * keep).sum(1) / keep.sum(1)


def test_embedding_mask_reaches_global_average_pooling_through_dense():
    inp = keras.Input((6,), dtype="int32")
    e = layers.Embedding(12, 4, mask_zero=True)(inp)
    d = layers.Dense(3, activation="tanh")(e)  # supports_masking: passes the mask on
    assert d._keras_mask.shape == (None, 6)
    out = layers.GlobalAveragePooling1D()(d)
    assert getattr(out, "_keras_mask", None) is None  # GlobalAveragePooling1D consumes it
    model = keras.Model(inp, out)
    x = np.array([[1, 2, 0, 0, 0, 0], [3, 0, 4, 5, 0, 11], [7, 7, 7, 7, 7, 7]])
    emb = model.layers[1].get_weights()[0]
    w, b = model.layers[2].get_weights()
    assert_close(model.predict(x, verbose=0), _masked_mean(np.tanh(emb[x] @ w + b), x != 0), rtol=1e-5)


def test_masking_layer_zeroes_masked_steps_and_masks_pooling_in_sequential():
    model = keras.Sequential([keras.Input((5, 3)), layers.Masking(mask_value=0.5), layers.GlobalAveragePooling1D()])
    rng = np.random.default_rng(0)
    x = rng.random((4, 5, 3)).astype(np.float32)
    x[0, 1] = 0.5
    x[1, [0, 4]] = 0.5
    x[2, 2, 0] = 0.5  # only one feature equals mask_value: the step is kept
    keep = (x != 0.5).any(-1)
    assert_close(model.predict(x, verbose=0), _masked_mean(x, keep), rtol=1e-6)
    masked_out = layers.Masking(0.5)(x)
    assert_close(masked_out, np.where(keep[..., None], x, 0), rtol=0)
    assert layers.Masking(0.5).compute_mask(x).tolist() == keep.tolist()
    cfg = layers.Masking(mask_value=-1.0, name="m").get_config()
    assert cfg["mask_value"] == -1.0 and layers.Masking.from_config(cfg).mask_value == -1.0


def test_mask_does_not_pass_a_layer_without_masking_support():
    inp = keras.Input((4,), dtype="int64")
    e = layers.Embedding(5, 2, mask_zero=True)(inp)
    r = layers.Reshape((4, 2))(e)  # no supports_masking: Keras drops the mask
    assert getattr(r, "_keras_mask", None) is None
    model = keras.Model(inp, layers.GlobalAveragePooling1D()(r))
    x = np.array([[1, 0, 0, 0]])
    assert_close(model.predict(x, verbose=0), model.layers[1].get_weights()[0][x].mean(1), rtol=1e-6)


def test_merge_layers_or_the_masks():
    a_in, b_in = keras.Input((3,), dtype="int64"), keras.Input((3,), dtype="int64")
    emb = layers.Embedding(6, 2, mask_zero=True)
    added = layers.Add()([emb(a_in), emb(b_in)])
    assert added._keras_mask is not None
    model = keras.Model([a_in, b_in], layers.GlobalAveragePooling1D()(added))
    a, b = np.array([[1, 0, 0]]), np.array([[0, 2, 0]])
    table = emb.get_weights()[0]
    assert_close(model.predict([a, b], verbose=0), _masked_mean(table[a] + table[b], (a != 0) | (b != 0)), rtol=1e-6)
    unmasked = layers.Add()([emb(a_in), layers.Dense(2)(keras.Input((3, 2)))])
    assert getattr(unmasked, "_keras_mask", None) is None  # OR with an unmasked input: no mask


def test_explicit_mask_argument_on_arrays_and_symbolic_tensors():
    gap = layers.GlobalAveragePooling1D()
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[True, False, True], [False, False, True]])
    assert_close(gap(x, mask=mask), _masked_mean(x, mask), rtol=1e-6)
    inp, m_in = keras.Input((3, 2)), keras.Input((3,))
    model = keras.Model([inp, m_in], layers.GlobalAveragePooling1D()(inp, mask=m_in))
    assert_close(model.predict([x, mask.astype(np.float32)], verbose=0), _masked_mean(x, mask), rtol=1e-6)


def test_concatenate_mask_along_time_and_features():
    a_in, b_in = keras.Input((2,), dtype="int64"), keras.Input((3,), dtype="int64")
    emb = layers.Embedding(6, 2, mask_zero=True)
    cat_time = layers.Concatenate(axis=1)([emb(a_in), emb(b_in)])
    model = keras.Model([a_in, b_in], layers.GlobalAveragePooling1D()(cat_time))
    a, b = np.array([[1, 0]]), np.array([[0, 3, 4]])
    table = emb.get_weights()[0]
    keep = np.concatenate([a, b], 1) != 0
    assert_close(model.predict([a, b], verbose=0), _masked_mean(table[np.concatenate([a, b], 1)], keep), rtol=1e-6)


def test_masked_token_classifier_trains_to_95_percent():
    """Label 1 iff token 3 occurs in a zero-padded variable-length sequence: Embedding(mask_zero=True) ->
    GlobalAveragePooling1D (mean over real tokens only) -> Dense, trained by fit."""
    rng = np.random.default_rng(0)
    n, length, vocab = 3000, 12, 20
    lengths = rng.integers(2, length + 1, n)
    x = rng.integers(1, vocab, (n, length))
    x[np.arange(length)[None, :] >= lengths[:, None]] = 0  # post-padding
    y = (x == 3).any(1).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((length,), dtype="int64"), layers.Embedding(vocab, 8, mask_zero=True),
                              layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x[:2400], y[:2400], epochs=15, batch_size=64, verbose=0)
    _, acc = model.evaluate(x[2400:], y[2400:], verbose=0)
    assert acc >= 0.95, acc


def test_masking_gradient_reaches_the_embedding_only_through_unmasked_steps():
    inp = keras.Input((3,), dtype="int64")
    emb = layers.Embedding(4, 2, mask_zero=True)
    model = keras.Model(inp, layers.GlobalAveragePooling1D()(emb(inp)))
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    before = emb.get_weights()[0].copy()
    model.train_on_batch(np.array([[1, 0, 0]]), np.zeros((1, 2), np.float32))
    after = emb.get_weights()[0]
    assert_close(after[0], before[0], rtol=0)  # the padding row gets no gradient (its steps are masked)
    assert_close(after[1], before[1] - before[1], atol=1e-6)  # mean over the one real step: d/dx of x^2 / 2


@pytest.mark.parametrize("mask_value", [0.0, -1.0])
def test_masking_with_mask_value_feeds_masked_mean_in_a_functional_model(mask_value):
    inp = keras.Input((None, 2))
    out = layers.GlobalAveragePooling1D()(layers.Masking(mask_value)(inp))
    model = keras.Model(inp, out)
    x = np.array([[[1, 2], [mask_value, mask_value], [3, 4]]], np.float32)
    assert_close(model.predict(x, verbose=0), np.array([[2.0, 3.0]]), rtol=1e-6)
