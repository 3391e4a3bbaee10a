"""Activation, core and merging layers of Keras 3 (ReLU, PReLU, ELU, Softmax, TimeDistributed,
RepeatVector, Permute, Dot, LayerNormalization, Lambda): forward vs numpy oracles written from
Keras's formulas and the layers' get_weights(), configs, errors, and training through fit.
Output shapes and parameter counts vs real Keras are in test_keras_parity.py (activation_layers,
layernorm_prelu, sequence_layers, dot_attention fixtures)."""
import numpy as np
import pytest

from graphc import keras
from graphc.errors import UnsupportedOpError

L = keras.layers
RNG = np.random.default_rng(0)


def _inputs(shapes, batch, scale=1.0):
    return [(scale * RNG.standard_normal((batch,) + s)).astype(np.float32) for s in shapes]


def _check(layer, shapes, oracle, scale=1.0, weights=None):
    """layer in a functional model; graphc output vs oracle(inputs, layer weights) at batch 1 and 7."""
    multi = isinstance(shapes, list)
    shapes = shapes if multi else [shapes]
    ins = [keras.Input(s) for s in shapes]
    model = keras.Model(ins if multi else ins[0], layer(ins if multi else ins[0]))
    if weights is not None:
        layer.set_weights([np.asarray(w, np.float32) for w in weights])
    for batch in (1, 7):
        xs = _inputs(shapes, batch, scale)
        got = model.predict(xs if multi else xs[0], verbose=0)
        want = oracle(*[x.astype(np.float64) for x in xs], *[w.astype(np.float64) for w in layer.get_weights()])
        assert got.shape == want.shape, (got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    return model


def _relu(x, slope=0.0, max_value=None, threshold=0.0):
    y = np.where(x > threshold, x, 0.0)
    if max_value is not None:
        y = np.clip(y, 0.0, max_value)
    return y - slope * np.maximum(threshold - x, 0.0)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("kw", [{}, {"max_value": 6.0}, {"negative_slope": 0.2}, {"threshold": 0.5},
                                {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}])
def test_relu_layer(kw):
    _check(L.ReLU(**kw), (4, 5), lambda x: _relu(x, kw.get("negative_slope", 0.0), kw.get("max_value"),
                                                 kw.get("threshold", 0.0)), scale=2.0)


def test_relu_activation_threshold():
    inp = keras.Input((6,))
    model = keras.Model(inp, L.Lambda(lambda t: keras.activations.relu(t, threshold=1.0, negative_slope=0.3))(inp))
    x = _inputs([(6,)], 7, 2.0)[0]
    np.testing.assert_allclose(model.predict(x, verbose=0), _relu(x, 0.3, None, 1.0), rtol=1e-6, atol=1e-6)


def test_relu_rejects_negative_arguments():
    for kw in ({"max_value": -1.0}, {"negative_slope": -0.1}, {"threshold": -0.5}):
        with pytest.raises(ValueError, match=list(kw)[0]):
            L.ReLU(**kw)


def test_elu_and_softmax_layers():
    _check(L.ELU(alpha=0.7), (9,), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)), scale=2.0)
    _check(L.ELU(), (9,), lambda x: np.where(x > 0, x, np.expm1(x)))
    _check(L.Softmax(), (3, 5), _softmax, scale=3.0)
    _check(L.Softmax(axis=1), (3, 5), lambda x: _softmax(x, 1))
    _check(L.Softmax(axis=(1, 2)), (3, 5), lambda x: _softmax(x, (1, 2)))


def test_prelu():
    layer = L.PReLU()
    _check(layer, (4, 5), lambda x, a: np.maximum(x, 0) - a * np.maximum(-x, 0),
           weights=[RNG.uniform(0.1, 0.5, (4, 5))])
    assert [w.name for w in layer.weights] == ["alpha"] and layer.get_weights()[0].shape == (4, 5)
    shared = L.PReLU(shared_axes=[1])
    _check(shared, (4, 5), lambda x, a: np.maximum(x, 0) - a * np.maximum(-x, 0),
           weights=[RNG.uniform(0.1, 0.5, (1, 5))])
    assert shared.count_params() == 5
    fresh = L.PReLU()
    keras.Model(i := keras.Input((3,)), fresh(i))
    np.testing.assert_array_equal(fresh.get_weights()[0], np.zeros((3,)))  # Keras: alpha_initializer Zeros


def _layernorm(x, gamma, beta, axes, eps):
    m = x.mean(axis=axes, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    shape = [1] * x.ndim
    for a in axes:
        shape[a] = x.shape[a]
    return (x - m) / np.sqrt(v + eps) * gamma.reshape(shape) + beta.reshape(shape)


def test_layer_normalization():
    layer = L.LayerNormalization()
    _check(layer, (4, 6), lambda x, g, b: _layernorm(x, g, b, (2,), 1e-3), scale=3.0,
           weights=[RNG.uniform(0.5, 1.5, 6), RNG.normal(0, 0.5, 6)])
    assert [(w.name, w.shape) for w in layer.weights] == [("gamma", (6,)), ("beta", (6,))]
    multi = L.LayerNormalization(axis=[1, 2], epsilon=1e-5)
    _check(multi, (4, 6), lambda x, g, b: _layernorm(x, g, b, (1, 2), 1e-5),
           weights=[RNG.uniform(0.5, 1.5, (4, 6)), RNG.normal(0, 0.5, (4, 6))])
    nothing = L.LayerNormalization(center=False, scale=False)
    _check(nothing, (6,), lambda x: _layernorm(x, np.ones(6), np.zeros(6), (1,), 1e-3))
    assert nothing.count_params() == 0


def test_repeat_vector_and_permute():
    _check(L.RepeatVector(3), (5,), lambda x: np.repeat(x[:, None, :], 3, axis=1))
    _check(L.Permute((2, 1)), (3, 5), lambda x: x.transpose(0, 2, 1))
    _check(L.Permute((3, 1, 2)), (2, 3, 4), lambda x: x.transpose(0, 3, 1, 2))
    with pytest.raises(ValueError, match="dims"):
        L.Permute((0, 1))


def test_time_distributed_dense_and_flatten():
    td = L.TimeDistributed(L.Dense(3, activation="tanh"))
    _check(td, (4, 5), lambda x, k, b: np.tanh(x @ k + b), weights=[RNG.standard_normal((5, 3)),
                                                                     RNG.standard_normal(3)])
    assert td.count_params() == 18 and [w.shape for w in td.weights] == [(5, 3), (3,)]
    _check(L.TimeDistributed(L.Flatten()), (4, 2, 3), lambda x: x.reshape(x.shape[0], 4, 6))
    # a variable number of steps works for Dense-like layers, and is refused (clearly) for others
    seq = keras.Input((None, 5))
    assert L.TimeDistributed(L.Dense(2))(seq).shape == (None, None, 2)
    with pytest.raises(UnsupportedOpError, match="static time axis"):
        L.TimeDistributed(L.Flatten())(keras.Input((None, 2, 3)))


def _l2n(x, axis):
    return x / np.sqrt(np.maximum((x * x).sum(axis=axis, keepdims=True), 1e-12))


@pytest.mark.parametrize("normalize", [False, True])
def test_dot(normalize):
    n = (lambda x, a: _l2n(x, a)) if normalize else (lambda x, a: x)
    _check(L.Dot(axes=1, normalize=normalize), [(5,), (5,)],
           lambda x, y: (n(x, 1) * n(y, 1)).sum(axis=1, keepdims=True))
    _check(L.Dot(axes=2, normalize=normalize), [(4, 5), (3, 5)],
           lambda x, y: np.einsum("nik,njk->nij", n(x, 2), n(y, 2)))
    _check(L.Dot(axes=(1, 1), normalize=normalize), [(4, 5), (4, 3)],
           lambda x, y: np.einsum("nki,nkj->nij", n(x, 1), n(y, 1)))
    _check(L.Dot(axes=(2, 1), normalize=normalize), [(4, 5), (5,)],
           lambda x, y: np.einsum("nik,nk->ni", n(x, 2), n(y, 1)))
    _check(L.Dot(axes=-1, normalize=normalize), [(5,), (3, 5)],
           lambda x, y: np.einsum("nk,njk->nj", n(x, 1), n(y, 2)))


def test_dot_functional_form_and_errors():
    a, b = keras.Input((4,)), keras.Input((4,))
    out = L.dot([a, b], axes=1, normalize=True)
    assert out.shape == (None, 1)
    with pytest.raises(ValueError, match="Incompatible"):
        L.Dot(axes=1)([keras.Input((4,)), keras.Input((3,))])
    with pytest.raises(TypeError, match="axes"):
        L.Dot(axes="x")


def test_lambda():
    _check(L.Lambda(lambda t: keras.ops.square(t) * 2.0 + 1.0), (5,), lambda x: 2 * x * x + 1)
    _check(L.Lambda(lambda t, k: t * k, arguments={"k": 3.0}), (5,), lambda x: 3 * x)
    _check(L.Lambda(lambda ts: ts[0] - ts[1]), [(5,), (5,)], lambda x, y: x - y)


def test_lambda_with_numpy_fails_clearly():
    def uses_numpy(t):
        return np.sin(t)

    with pytest.raises(UnsupportedOpError, match="uses_numpy.*could not be traced"):
        L.Lambda(uses_numpy)(keras.Input((3,)))

    def returns_array(t):
        return np.zeros(3)

    with pytest.raises(TypeError, match="returns_array.*ndarray"):
        L.Lambda(returns_array)(keras.Input((3,)))


CONFIGS = [
    (lambda: L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5), {"max_value", "negative_slope", "threshold"}),
    (lambda: L.PReLU(shared_axes=[1]),
     {"alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"}),
    (lambda: L.ELU(alpha=0.5), {"alpha"}),
    (lambda: L.Softmax(axis=1), {"axis"}),
    (lambda: L.RepeatVector(4), {"n"}),
    (lambda: L.Permute((2, 1)), {"dims"}),
    (lambda: L.Dot(axes=(1, 2), normalize=True), {"axes", "normalize"}),
    (lambda: L.LayerNormalization(axis=[1, 2], epsilon=1e-5, center=False),
     {"axis", "epsilon", "center", "scale", "rms_scaling", "beta_initializer", "gamma_initializer",
      "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"}),
    (lambda: L.TimeDistributed(L.Dense(3, activation="relu")), {"layer"}),
    (lambda: L.Lambda(abs), {"function", "arguments"}),
]


@pytest.mark.parametrize("make,keys", CONFIGS, ids=lambda v: "" if isinstance(v, set) else None)
def test_get_config_round_trip(make, keys):
    layer = make()
    cfg = layer.get_config()
    assert keys | {"name", "trainable", "dtype"} <= set(cfg)
    again = type(layer).from_config(cfg)
    assert type(again) is type(layer) and again.get_config() == cfg


def test_keras_defaults():
    assert L.ReLU().get_config()["max_value"] is None
    relu = L.ReLU().get_config()
    assert (relu["negative_slope"], relu["threshold"]) == (0.0, 0.0)
    assert L.ELU().alpha == 1.0 and L.Softmax().axis == -1
    ln = L.LayerNormalization().get_config()
    assert (ln["axis"], ln["epsilon"], ln["center"], ln["scale"]) == (-1, 1e-3, True, True)
    assert L.PReLU().get_config()["alpha_initializer"]["class_name"] == "Zeros"
    assert L.Dot(axes=1).get_config()["normalize"] is False


def test_layernorm_prelu_model_trains():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    y = (x[:, :2].sum(axis=1, keepdims=True) > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((8,)), L.Dense(16), L.LayerNormalization(), L.PReLU(),
                              L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    alpha0 = model.layers[2].get_weights()[0].copy()
    hist = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    loss = hist.history["loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < 0.7 * loss[0], loss
    assert not np.array_equal(model.layers[2].get_weights()[0], alpha0)  # alpha is trained


def test_lambda_config_uses_keras_function_format():
    named = L.Lambda(np.negative)
    cfg = named.get_config()
    assert cfg["function"] == {"module": "numpy", "class_name": "function", "config": "negative",
                               "registered_name": "negative"}
    scale = 3.0
    lam = L.Lambda(lambda t, k=2.0: keras.ops.multiply(t, k * scale))
    cfg = lam.get_config()
    assert cfg["function"]["class_name"] == "__lambda__" and cfg["function"]["config"]["closure"] == (3.0,)
    with pytest.raises(ValueError, match="safe_mode"):
        L.Lambda.from_config(cfg)
    again = L.Lambda.from_config(cfg, safe_mode=False)
    _check(again, (4,), lambda x: 6.0 * x)


# dataset paths of real Keras 3's model.save_weights("x.weights.h5") for these fixture models
# (recorded from Keras 3 with the builders in keras_models.py)
KERAS_WEIGHTS_H5_LAYOUT = {
    "sequence_layers": ["layers/time_distributed/layer/vars/0", "layers/time_distributed/layer/vars/1",
                        "layers/time_distributed_1/layer/vars/0", "layers/time_distributed_1/layer/vars/1"],
    "layernorm_prelu": ["layers/layer_normalization/vars/0", "layers/layer_normalization/vars/1",
                        "layers/layer_normalization_1/vars/0", "layers/layer_normalization_1/vars/1",
                        "layers/p_re_lu/vars/0"],
}


@pytest.mark.parametrize("name", sorted(KERAS_WEIGHTS_H5_LAYOUT))
def test_weights_h5_layout_matches_keras(name, tmp_path):
    import h5py
    import keras_models
    keras.backend.clear_session()
    model = keras_models.MODELS[name][0](keras)
    model.save_weights(tmp_path / "m.weights.h5")
    found = []
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        f.visititems(lambda k, v: found.append(k) if isinstance(v, h5py.Dataset) else None)
    assert found == KERAS_WEIGHTS_H5_LAYOUT[name]
