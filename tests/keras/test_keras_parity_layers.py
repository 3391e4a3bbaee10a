"""What the file-parity fixtures turned up, one test per fix: Keras 3's full activation list and
keras.ops.any/all/get_item against Keras's numbers (tests/data/keras_parity/activations_all.npz,
written by tools/make_keras_parity_fixtures.py), their gradients against float64 finite
differences, StackedRNNCells against a numpy oracle, the regularization layers in training, weight
paths in Keras's name scopes, model get_config/from_config, and nested functional node indices."""
import json

import numpy as np
import pytest

import graphc
from graphc import keras
from graphc.keras.engine.trace import Tracer
from graphc.passes.autodiff import autodiff
from harness import assert_close

L = keras.layers
DATA = np.load(__import__("pathlib").Path(__file__).resolve().parent.parent / "data" / "keras_parity" /
               "activations_all.npz")
ACTS = sorted(k[4:] for k in DATA.files if k.startswith("act_"))
ARGS = {"threshold": dict(threshold=0.5, default_value=-1.0)}
GETITEM_KEYS = [(slice(None), 1), (Ellipsis, None, slice(None, None, -2)), (0, slice(1, None), -1),
                (slice(None), slice(3, 0, -1)), (-1,), (slice(1, 3), None, Ellipsis, 2)]


@pytest.mark.parametrize("name", ACTS)
def test_every_keras_activation_matches_keras(name):
    fn = keras.activations.get(name)
    assert keras.activations.get(keras.activations.serialize(fn)) is fn
    got = fn(DATA["x"], **ARGS.get(name, {}))
    assert_close(np.asarray(got), DATA[f"act_{name}"], rtol=1e-5, atol=2e-6, what=name)


def test_ops_gelu_default_is_tanh_form_and_any_all():
    assert_close(keras.ops.gelu(DATA["x"]), DATA["op_gelu_tanh"], rtol=1e-5, atol=1e-6)
    b = DATA["x"] > 0.5
    np.testing.assert_array_equal(keras.ops.any(b, axis=1), DATA["op_any_1"])
    np.testing.assert_array_equal(keras.ops.all(b, axis=0, keepdims=True), DATA["op_all_0_keep"])


@pytest.mark.parametrize("i", range(len(GETITEM_KEYS)))
def test_get_item_matches_keras_eager_traced_and_functional(i, tmp_path):
    cube, want, key = DATA["cube"], DATA[f"getitem_{i}"], GETITEM_KEYS[i]
    np.testing.assert_array_equal(keras.ops.get_item(cube, key), want)
    # traced inside a Lambda and recorded as a GetItem node on a KerasTensor, on a batch of one cube (the
    # symbolic batch axis is kept whole: graphc cannot slice an axis whose size is unknown when tracing)
    key = (slice(None),) + key
    inp = keras.Input(cube.shape)
    lam = keras.Model(inp, L.Lambda(lambda t: t[key])(inp))
    node = keras.Model(inp, inp[key])
    for model in (lam, node):
        np.testing.assert_array_equal(model.predict(cube[None], verbose=0), want[None])
    cfg = next(l for l in node.get_config()["layers"] if l["class_name"] == "GetItem")
    # as Keras saves it: the key is the node's second argument (Keras's GetItem takes no config), slices and
    # Ellipsis as __slice__/__ellipsis__ entries
    assert set(cfg["config"]) == {"name"} and len(cfg["inbound_nodes"][0]["args"]) == 2
    node.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(cube[None], verbose=0), want[None])


def test_get_item_errors():
    with pytest.raises(IndexError, match="out of bounds"):
        keras.ops.get_item(np.zeros((2, 3), np.float32), (slice(None), 5))
    with pytest.raises(graphc.errors.GraphcError):  # slicing the batch axis, whose size is unknown when tracing
        keras.Model(inp := keras.Input((3,)), inp[1:])


def _fd_check(model, x):
    """d(sum(out * r))/d(input): autodiff of the lowered float64 graph vs central differences."""
    tracer = Tracer(name="fd")
    ins, outs = model._trace_forward(tracer)
    b = tracer.b
    r = b.const(np.random.default_rng(0).standard_normal(b.type(outs[0].name).shape))
    loss = b.op("ReduceSum", [b.op("Mul", [outs[0].name, r])], keepdims=0)
    grads = autodiff(b.g, loss, [ins[0].name])
    b.output(loss, grads[ins[0].name])
    exe = graphc.compile(b.g)
    analytic = exe.run([x])[1]
    num, eps = np.zeros_like(x), 1e-6
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = exe.run([x])[0]
        x[i] = old - eps
        down = exe.run([x])[0]
        x[i] = old
        num[i] = (up - down) / (2 * eps)
    assert_close(analytic, num, rtol=1e-5, atol=1e-7)


NEW = ["gelu", "celu", "glu", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink", "threshold", "sparse_plus",
       "sparse_sigmoid", "squareplus", "log_sigmoid", "mish", "hard_silu"]


@pytest.mark.parametrize("name", NEW)
def test_new_activation_gradients_match_finite_differences(name):
    keras.config.set_floatx("float64")
    try:
        fn = keras.activations.get(name)
        inp = keras.Input((6,), batch_size=2)
        model = keras.Model(inp, L.Activation(fn)(inp) if name != "threshold" else
                            L.Lambda(lambda t: keras.activations.threshold(t, 0.5, -1.0))(inp))
        # keep points away from the kinks (|x| = 0.5, +-1) where the derivative jumps
        x = np.array([[-2.3, -0.8, -0.3, 0.2, 0.7, 1.6], [2.2, -1.7, 0.35, -0.15, 1.3, -0.65]])
        _fd_check(model, x)
    finally:
        keras.config.set_floatx("float32")


# --- StackedRNNCells --------------------------------------------------------------------------
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_stacked_cells_match_numpy_oracle_and_keras_layout():
    inp = keras.Input((4, 3))
    rnn = L.RNN([L.SimpleRNNCell(3, activation="tanh"), L.GRUCell(2, reset_after=True)], return_sequences=True,
                return_state=True)
    outs = rnn(inp)
    assert [tuple(t.shape) for t in outs] == [(None, 4, 2), (None, 3), (None, 2)]  # states nested per cell
    model = keras.Model(inp, outs)
    rng = np.random.default_rng(3)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in model.get_weights()])
    assert [w.path for w in rnn.weights][0] == f"{rnn.name}/{rnn.cell.name}/{rnn.cell.cells[0].name}/kernel"
    k1, r1, b1, k2, r2, b2 = [w.astype(np.float64) for w in model.get_weights()]
    x = rng.standard_normal((2, 4, 3))
    h1, h2, ys = np.zeros((2, 3)), np.zeros((2, 2)), []
    for t in range(4):
        h1 = np.tanh(x[:, t] @ k1 + h1 @ r1 + b1)
        xz, hz = h1 @ k2 + b2[0], h2 @ r2 + b2[1]
        z, r = _sigmoid(xz[:, :2] + hz[:, :2]), _sigmoid(xz[:, 2:4] + hz[:, 2:4])
        hh = np.tanh(xz[:, 4:] + r * hz[:, 4:])
        h2 = z * h2 + (1 - z) * hh
        ys.append(h2)
    y, s1, s2 = model.predict(x.astype("float32"), verbose=0)
    assert_close(y, np.stack(ys, 1).astype("float32"), rtol=1e-5)
    assert_close(s1, h1.astype("float32"), rtol=1e-5)
    assert_close(s2, h2.astype("float32"), rtol=1e-5)
    clone = L.RNN.from_config(json.loads(json.dumps(rnn.get_config())))
    assert type(clone.cell).__name__ == "StackedRNNCells" and len(clone.cell.cells) == 2


# --- regularization layers --------------------------------------------------------------------
def _train_output(layer, x):
    """The layer's output in a training trace (one compiled run)."""
    tracer = Tracer(name="t", training=True)
    b = tracer.b
    inp = tracer.value(b.input("x", "float32", x.shape))
    with tracer.active():
        y = layer._trace_call(tracer, (inp,), {"training": True})
    b.output(y.name)
    return graphc.compile(b.g).run([x])[0]


def test_spatial_dropout_drops_whole_channels_in_training_and_is_identity_at_inference():
    x = np.random.default_rng(0).standard_normal((4, 6, 8)).astype("float32") + 5.0
    layer = L.SpatialDropout1D(0.5, seed=3)
    y = _train_output(layer, x)
    kept = y != 0
    assert (kept == kept[:, :1, :]).all()  # one draw per (sample, channel), shared over the steps
    assert 0 < kept.mean() < 1
    assert_close(y[kept], (x * 2.0)[kept], rtol=1e-6)
    for cls, shape, fmt in ((L.SpatialDropout2D, (3, 4, 4, 5), "channels_last"),
                            (L.SpatialDropout3D, (3, 5, 2, 2, 2), "channels_first")):
        x = np.ones(shape, np.float32)
        y = _train_output(cls(0.5, data_format=fmt, seed=1), x)
        axes = tuple(range(1, len(shape) - 1)) if fmt == "channels_last" else tuple(range(2, len(shape)))
        assert (y.min(axis=axes) == y.max(axis=axes)).all()
        model = keras.Sequential([keras.Input(shape[1:]), cls(0.5, data_format=fmt)])
        np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_alpha_dropout_keeps_selu_moments_in_training():
    x = np.random.default_rng(1).standard_normal((200, 100)).astype("float32")
    y = _train_output(L.AlphaDropout(0.2, seed=5), x)
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * alpha_p ** 2)) ** -0.5
    dropped = np.isclose(y, a * alpha_p - a * alpha_p * 0.2)
    assert 0.15 < dropped.mean() < 0.25
    assert abs(y.mean()) < 0.05 and abs(y.std() - 1.0) < 0.05


def test_gaussian_layers_are_identities_at_inference_and_refuse_to_train_silently():
    x = np.random.default_rng(2).standard_normal((3, 4)).astype("float32")
    for layer in (L.GaussianNoise(0.3), L.GaussianDropout(0.3)):
        model = keras.Sequential([keras.Input((4,)), layer])
        np.testing.assert_array_equal(model.predict(x, verbose=0), x)
        with pytest.raises(graphc.errors.UnsupportedOpError, match="Gaussian noise"):
            _train_output(layer, x)


def test_activity_regularization_adds_its_penalty_to_the_loss():
    x = np.random.default_rng(3).standard_normal((4, 3)).astype("float32")
    inp = keras.Input((3,))
    dense = L.Dense(2, use_bias=False, kernel_initializer="ones")
    model = keras.Model(inp, L.ActivityRegularization(l1=0.1, l2=0.05)(dense(inp)))
    model.compile(optimizer="sgd", loss=lambda y, p: keras.ops.sum(p * 0.0, axis=-1))
    loss = model.evaluate(x, np.zeros((4, 2), np.float32), verbose=0, batch_size=4)
    h = x.sum(axis=1, keepdims=True) * np.ones((1, 2))
    want = (0.1 * np.abs(h).sum() + 0.05 * (h ** 2).sum()) / 4
    # Keras 3's compute_loss adds model.losses in test steps too (real Keras: evaluate == train loss here)
    assert loss == pytest.approx(want, rel=1e-5)
    hist = model.fit(x, np.zeros((4, 2), np.float32), batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert hist.history["loss"][0] == pytest.approx(want, rel=1e-5)
    assert L.ActivityRegularization.from_config(model.layers[-1].get_config()).l2 == 0.05


def test_identity_and_batchnorm_renorm_config():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(keras.Sequential([keras.Input((3,)), L.Identity()]).predict(x, verbose=0), x)
    cfg = L.BatchNormalization().get_config()
    assert (cfg["renorm"], cfg["renorm_clipping"], cfg["renorm_momentum"]) == (False, None, 0.99)
    with pytest.raises(NotImplementedError, match="renorm"):
        L.BatchNormalization(renorm=True)


# --- names, configs, nested models ------------------------------------------------------------
def test_weight_paths_follow_keras_name_scopes():
    td = L.TimeDistributed(L.Dense(2))
    seq = keras.Sequential([keras.Input((3, 4)), td, L.Bidirectional(L.LSTM(2))], name="outer")
    assert [w.path for w in seq.weights][:2] == [f"outer/{td.name}/{td.layer.name}/kernel",
                                                  f"outer/{td.name}/{td.layer.name}/bias"]
    bi = seq.layers[1]
    assert seq.weights[2].path == f"outer/{bi.name}/{bi.forward_layer.name}/lstm_cell/kernel"
    inp = keras.Input((4,))
    dense = L.Dense(3)
    keras.Model(inp, dense(inp))
    assert dense.kernel.path == f"{dense.name}/kernel"  # built outside any model's build: no prefix
    # a layer built lazily inside another layer's call is in that layer's scope (Keras: __call__ opens it)
    x = keras.Input((3, 5, 4))
    inner = keras.Sequential([L.Dense(2)], name="inner")
    td = L.TimeDistributed(inner, name="td")
    keras.Model(x, td(x))
    assert inner.layers[0].kernel.path == f"td/inner/{inner.layers[0].name}/kernel"


def test_model_get_config_from_config_and_nested_functional_indices(tmp_path):
    ui = keras.Input((4,))
    sub = keras.Model(ui, L.Dense(3)(ui), name="sub")
    a = keras.Input((4,))
    h2 = sub(L.Dense(4)(a))
    model = keras.Model(a, [L.Dense(2)(L.add([sub(a), h2])), h2])
    cfg = model.get_config()
    # Keras 3 numbers a nested functional model's nodes from 1 in output_layers, from 0 in node arguments
    assert cfg["output_layers"][1] == ["sub", 1, 0]  # h2: the first call
    assert [h[1] for h in (x["config"]["keras_history"] for x in
                           next(l for l in cfg["layers"] if l["name"] == "add")["inbound_nodes"][0]["args"][0])] == [1, 0]
    clone = type(model).from_config(cfg)
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    for g, w in zip(clone.predict(x, verbose=0), model.predict(x, verbose=0)):
        assert_close(g, w)
    seq = keras.Sequential([keras.Input((4,)), L.Dense(2)], name="s")
    scfg = seq.get_config()
    assert scfg["layers"][0]["class_name"] == "InputLayer"
    again = keras.Sequential.from_config(scfg)
    assert again.name == "s" and [type(l).__name__ for l in again.layers] == ["Dense"]


# --- image preprocessing ----------------------------------------------------------------------
def test_random_flip_flips_whole_images_in_training_and_is_identity_at_inference():
    x = np.random.default_rng(4).standard_normal((16, 3, 4, 2)).astype("float32")
    layer = L.RandomFlip("horizontal", seed=11)
    y = _train_output(layer, x)
    same = np.all(y == x, axis=(1, 2, 3))
    mirrored = np.all(y == x[:, :, ::-1], axis=(1, 2, 3))
    assert (same | mirrored).all() and same.any() and mirrored.any()
    both = _train_output(L.RandomFlip(seed=2, data_format="channels_first"), x)
    options = [x, x[:, :, :, ::-1], x[:, :, ::-1], x[:, :, ::-1, ::-1]]
    assert all(any(np.array_equal(b, o[i]) for o in options) for i, b in enumerate(both))
    np.testing.assert_array_equal(keras.Sequential([keras.Input((3, 4, 2)), layer]).predict(x, verbose=0), x)


@pytest.mark.parametrize("make", [lambda: L.RandomRotation(0.1), lambda: L.RandomZoom(0.2),
                                  lambda: L.RandomTranslation(0.1, 0.1), lambda: L.RandomContrast(0.2),
                                  lambda: L.RandomBrightness(0.2)])
def test_other_augmentations_are_identities_at_inference_and_refuse_to_train_silently(make):
    x = np.random.default_rng(5).random((2, 4, 4, 3)).astype("float32") * 255
    layer = make()
    np.testing.assert_array_equal(keras.Sequential([keras.Input((4, 4, 3)), layer]).predict(x, verbose=0), x)
    with pytest.raises(graphc.errors.UnsupportedOpError, match="augmentation"):
        _train_output(layer, x)
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_bilinear_upsampling_gradient_matches_finite_differences():
    keras.config.set_floatx("float64")
    try:
        inp = keras.Input((3, 2, 2), batch_size=2)
        model = keras.Model(inp, L.UpSampling2D((2, 3), interpolation="bicubic")(inp))
        _fd_check(model, np.random.default_rng(6).standard_normal((2, 3, 2, 2)))
        inp = keras.Input((5, 4, 1), batch_size=2)
        model = keras.Model(inp, L.Resizing(3, 6, antialias=True)(inp))
        _fd_check(model, np.random.default_rng(7).standard_normal((2, 5, 4, 1)))
    finally:
        keras.config.set_floatx("float32")


# --- more keras.ops ---------------------------------------------------------------------------
def test_more_numpy_ops_match_numpy():
    o = keras.ops
    x = np.random.default_rng(8).standard_normal((3, 4)).astype("float32")
    t = np.array([1e-7, 1e-3, -0.3, 2.0], np.float32)
    assert_close(o.log1p(t), np.log1p(t), rtol=1e-6)
    assert_close(o.expm1(t), np.expm1(t), rtol=1e-6)
    assert_close(o.log2(np.abs(x)), np.log2(np.abs(x)), rtol=1e-6)
    assert_close(o.log10(np.abs(x)), np.log10(np.abs(x)), rtol=1e-6)
    np.testing.assert_array_equal(o.argmax(x, axis=1), x.argmax(1))
    np.testing.assert_array_equal(o.argmin(x), x.argmin())
    assert_close(o.prod(x, axis=0), x.prod(0), rtol=1e-5)
    assert_close(o.norm(x, axis=1), np.linalg.norm(x, axis=1), rtol=1e-6)
    assert_close(o.norm(x, ord=1, axis=0), np.abs(x).sum(0), rtol=1e-6)
    assert_close(o.normalize(x), x / np.linalg.norm(x, axis=-1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(o.tile(x, (2, 3)), np.tile(x, (2, 3)))
    np.testing.assert_array_equal(o.repeat(x, 2, axis=1), np.repeat(x, 2, axis=1))
    np.testing.assert_array_equal(o.repeat(x, 2), np.repeat(x, 2))
    np.testing.assert_array_equal(o.flip(x, 1), np.flip(x, 1))
    np.testing.assert_array_equal(o.take(x, np.array([2, 0]), axis=1), np.take(x, [2, 0], axis=1))
    np.testing.assert_array_equal(o.broadcast_to(x[:1], (3, 4)), np.broadcast_to(x[:1], (3, 4)))
    np.testing.assert_array_equal(o.pad(x, ((1, 0), (2, 1)), constant_values=3.0),
                                  np.pad(x, ((1, 0), (2, 1)), constant_values=3.0))
    np.testing.assert_array_equal(o.zeros_like(np.array([[1.0, np.nan]])), [[0.0, 0.0]])


@pytest.mark.parametrize("fn", [lambda t: keras.ops.log1p(keras.ops.abs(t)), lambda t: keras.ops.expm1(t * 0.3),
                                lambda t: keras.ops.normalize(t), lambda t: keras.ops.tile(t, (1, 2)),
                                lambda t: keras.ops.repeat(t, 2, axis=1),
                                lambda t: keras.ops.pad(t, ((0, 0), (1, 2)), constant_values=1.5),
                                lambda t: keras.ops.flip(t, 1)[:, 1:] * t[:, :-1]],
                         ids=["log1p", "expm1", "normalize", "tile", "repeat", "pad", "flip_slice"])
def test_more_ops_gradients_match_finite_differences(fn):
    keras.config.set_floatx("float64")
    try:
        inp = keras.Input((4,), batch_size=2)
        model = keras.Model(inp, L.Lambda(fn)(inp))
        _fd_check(model, np.array([[-1.3, 0.4, 2.1, -0.6], [0.9, -2.2, 0.3, 1.7]]))
    finally:
        keras.config.set_floatx("float32")


def test_wrapped_nested_model_serializes_as_keras_names_it():
    inner = keras.Sequential([L.Dense(2)], name="inner")
    td = L.TimeDistributed(inner)
    keras.Model(x := keras.Input((3, 4)), td(x))
    entry = td.get_config()["layer"]
    assert (entry["module"], entry["class_name"]) == ("keras", "Sequential")
    clone = L.TimeDistributed.from_config(json.loads(json.dumps(td.get_config())))
    assert type(clone.layer).__name__ == "Sequential" and clone.layer.name == "inner"
