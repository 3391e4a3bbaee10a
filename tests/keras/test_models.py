"""Front end: tutorial models' params and shapes, predict vs numpy, naming, errors."""
import numpy as np
import pytest

from graphc import keras
from graphc.errors import ShapeError
import keras_models
from harness import assert_close


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


def mnist_cnn():
    return keras_models.mnist_cnn(keras)


@pytest.mark.parametrize("build, params", [
    (lambda: keras.Sequential([keras.layers.Dense(6, activation="relu", input_dim=11),
                               keras.layers.Dense(6, activation="relu"),
                               keras.layers.Dense(1, activation="sigmoid")]), 121),
    (lambda: keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                               keras.layers.Dense(10, activation="softmax")]), 407_050),
    (lambda: keras.Sequential([keras.layers.Dense(512, activation="relu", input_shape=(784,)),
                               keras.layers.Dropout(0.2), keras.layers.Dense(512, activation="relu"),
                               keras.layers.Dropout(0.2), keras.layers.Dense(10, activation="softmax")]), 669_706),
    (mnist_cnn, 93_322),
])
def test_tutorial_param_counts(build, params):
    model = build()
    assert model.count_params() == params
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert f"Total params: {params:,}" in text
    assert f"Trainable params: {params:,}" in text
    assert "Non-trainable params: 0" in text


def test_mnist_cnn_summary_rows_match_keras():
    model = mnist_cnn()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    expected = [("conv2d (Conv2D)", "(None, 26, 26, 32)", "320"),
                ("max_pooling2d (MaxPooling2D)", "(None, 13, 13, 32)", "0"),
                ("conv2d_1 (Conv2D)", "(None, 11, 11, 64)", "18,496"),
                ("max_pooling2d_1 (MaxPooling2D)", "(None, 5, 5, 64)", "0"),
                ("conv2d_2 (Conv2D)", "(None, 3, 3, 64)", "36,928"),
                ("flatten (Flatten)", "(None, 576)", "0"),
                ("dense (Dense)", "(None, 64)", "36,928"),
                ("dense_1 (Dense)", "(None, 10)", "650")]
    rows = [l for l in text.splitlines() if l.startswith("│")]
    assert len(rows) == len(expected)
    for row, (name, shape, params) in zip(rows, expected):
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[:3] == [name, shape, params]
    assert [layer.output.shape for layer in model.layers][0] == (None, 26, 26, 32)
    assert model.output_shape == (None, 10) and model.input_shape == (None, 28, 28, 1)


def test_batchnorm_after_dense_adds_256_params_128_non_trainable():
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(64), keras.layers.BatchNormalization()])
    bn = model.layers[1]
    assert bn.count_params() == 256
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2
    lines = []
    model.summary(print_fn=lines.append)
    assert any("Non-trainable params: 128" in l for l in lines)
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]


def _numpy_cnn(model, x):
    w = model.get_weights()

    def conv(x, k, b):
        kh, kw = k.shape[:2]
        out = np.zeros((x.shape[0], x.shape[1] - kh + 1, x.shape[2] - kw + 1, k.shape[3]))
        for i in range(kh):
            for j in range(kw):
                out += np.einsum("nhwc,cf->nhwf", x[:, i:i + out.shape[1], j:j + out.shape[2]], k[i, j])
        return np.maximum(out + b, 0)

    def pool(x):
        n, h, w_, c = x.shape
        return x[:, :h // 2 * 2, :w_ // 2 * 2].reshape(n, h // 2, 2, w_ // 2, 2, c).max(axis=(2, 4))

    h = pool(conv(x.astype(np.float64), w[0], w[1]))
    h = pool(conv(h, w[2], w[3]))
    h = conv(h, w[4], w[5]).reshape(len(x), -1)
    h = np.maximum(h @ w[6] + w[7], 0)
    z = h @ w[8] + w[9]
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_cnn_predict_matches_numpy_at_batch_1_7_256_from_one_compiled_model():
    model = mnist_cnn()
    rng = np.random.default_rng(0)
    x = rng.random((256, 28, 28, 1)).astype(np.float32)
    ref = _numpy_cnn(model, x)
    for n in (1, 7, 256):
        assert_close(model.predict(x[:n], batch_size=256, verbose=0), ref[:n], rtol=1e-5, what=f"batch {n}")
    exe = model._executable()
    assert exe.native_calls == 3
    calls = exe.native_calls
    out = model.predict(x[:70], batch_size=32, verbose=0)  # 3 batches: 32, 32, 6
    assert exe.native_calls == calls + 3
    assert_close(out, ref[:70], rtol=1e-5)
    assert_close(model(x[:5]), ref[:5], rtol=1e-5)
    assert_close(model.predict_on_batch(x[:5]), ref[:5], rtol=1e-5)


def test_layout_pass_leaves_only_boundary_transposes():
    import graphc
    exe = graphc.compile(mnist_cnn())
    kinds = [op.op_type for op in exe.graph.ops()]
    # one into NCHW at the input, one back to NHWC before Flatten (+ kernel layout transposes of params)
    data_transposes = [op for op in exe.graph.ops() if op.op_type == "Transpose"
                       and exe.graph.value(exe.graph.op_inputs(op)[0]).role not in ("param",)]
    assert len(data_transposes) == 2, kinds


def test_functional_api_multiple_inputs_outputs_shared_layer():
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = keras.layers.Dense(3, activation="tanh")
    s = keras.layers.add([shared(a), shared(b)])
    c = keras.layers.Concatenate()([s, a])
    m = keras.layers.multiply([a, b])
    model = keras.Model(inputs=[a, b], outputs=[c, m])
    assert [l.name for l in model.layers][:2] == ["a", "b"]
    assert model.output_shape == [(None, 7), (None, 4)]
    rng = np.random.default_rng(1)
    xa, xb = rng.standard_normal((7, 4)).astype(np.float32), rng.standard_normal((7, 4)).astype(np.float32)
    k, bias = shared.get_weights()
    s_ref = np.tanh(xa @ k + bias) + np.tanh(xb @ k + bias)
    out_list = model.predict([xa, xb], verbose=0)
    out_dict = model.predict({"a": xa, "b": xb}, verbose=0)
    for out in (out_list, out_dict):
        assert_close(out[0], np.concatenate([s_ref, xa], 1))
        assert_close(out[1], xa * xb)
    assert len(model.weights) == 2  # the shared layer's weights count once


def test_deferred_build_on_first_predict():
    model = keras.Sequential()
    model.add(keras.layers.Dense(4, activation="relu"))
    model.add(keras.layers.Dense(2))
    assert not model.built
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    y = model.predict(x, verbose=0)
    assert model.built and y.shape == (3, 2) and model.input_shape == (None, 5)
    w = model.get_weights()
    assert_close(y, np.maximum(x @ w[0] + w[1], 0) @ w[2] + w[3])


def test_variable_length_sequence_input_dense_on_last_axis():
    inp = keras.Input(shape=(None, 16))
    out = keras.layers.Dense(8)(inp)
    model = keras.Model(inp, out)
    assert model.output_shape == (None, None, 8)
    k, b = model.get_weights()
    for t in (1, 5, 9):
        x = np.random.default_rng(t).standard_normal((2, t, 16)).astype(np.float32)
        assert_close(model.predict(x, verbose=0), x @ k + b)


def test_automatic_names_and_clear_session():
    d0, d1 = keras.layers.Dense(1), keras.layers.Dense(1)
    assert (d0.name, d1.name) == ("dense", "dense_1")
    assert keras.layers.MaxPool2D is keras.layers.MaxPooling2D
    assert type(keras.layers.MaxPool2D()).__name__ == "MaxPooling2D"
    assert keras.layers.BatchNormalization().name == "batch_normalization"
    keras.backend.clear_session()
    assert keras.layers.Dense(1).name == "dense"


def test_weights_in_keras_shapes_and_set_weights_in_place():
    model = mnist_cnn()
    shapes = [w.shape for w in model.get_weights()]
    assert shapes[:2] == [(3, 3, 1, 32), (32,)] and shapes[-2:] == [(64, 10), (10,)]
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    model.predict(x, verbose=0)
    new = [np.full_like(w, 0.01) for w in model.get_weights()]
    model.set_weights(new)
    assert_close(model.predict(x, verbose=0), np.full((2, 10), 0.1), rtol=1e-5)  # recompiled? no: in place
    assert model._executable().compiled is not None
    with pytest.raises(ValueError, match="expecting 10 weights"):
        model.set_weights(new[:-1])
    with pytest.raises(ShapeError, match=r"\(64, 10\)"):
        model.set_weights(new[:-2] + [np.zeros((10, 64)), new[-1]])


def test_wrong_inputs_raise_valueerror_naming_shapes():
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match=r"784.*\(3, 100\)|\(3, 100\).*784"):
        model.predict(np.zeros((3, 100)), verbose=0)
    with pytest.raises(ValueError, match="rank"):
        model.predict(np.zeros((3, 28, 28)), verbose=0)
    with pytest.raises(ValueError, match="dtype"):
        model.predict(np.array([["x"] * 784]), verbose=0)
    two = keras.Model(*(lambda a, b: ([a, b], keras.layers.add([a, b])))(keras.Input((3,)), keras.Input((3,))))
    with pytest.raises(ValueError, match="2 input"):
        two.predict([np.zeros((2, 3))], verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        two.predict([np.zeros((2, 3)), np.zeros((4, 3))], verbose=0)
    d = keras.layers.Dense(4)
    d(keras.Input((8,)))
    with pytest.raises(ValueError, match=r'layer "dense_1".*expected axis -1 of input shape to have value 8'):
        d(keras.Input((9,)))


def test_keras_defaults_not_onnx_defaults():
    """hard_sigmoid = relu6(x+3)/6, leaky_relu 0.2 (fn) / 0.3 (layer), BN epsilon 1e-3 momentum 0.99."""
    x = np.linspace(-5, 5, 41, dtype=np.float32)[None, :]

    def run(layer):
        return keras.Sequential([keras.Input((41,)), layer]).predict(x, verbose=0)[0]

    assert_close(run(keras.layers.Activation("hard_sigmoid")), np.clip(x[0] + 3, 0, 6) / 6)
    assert_close(run(keras.layers.Activation("leaky_relu")), np.where(x[0] > 0, x[0], 0.2 * x[0]))
    assert_close(run(keras.layers.LeakyReLU()), np.where(x[0] > 0, x[0], 0.3 * x[0]))
    bn = keras.layers.BatchNormalization()
    assert (bn.epsilon, bn.momentum) == (1e-3, 0.99)
    out = run(bn)
    assert_close(out, x[0] / np.sqrt(1 + 1e-3))


@pytest.mark.parametrize("name, fn", [
    ("softmax", lambda z: np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)),
    ("elu", lambda z: np.where(z > 0, z, np.expm1(z))),
    ("selu", lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(z))),
    ("softplus", lambda z: np.logaddexp(z, 0)), ("softsign", lambda z: z / (1 + np.abs(z))),
    ("relu", lambda z: np.maximum(z, 0)), ("tanh", np.tanh), ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
    ("hard_sigmoid", lambda z: np.clip(z / 6 + 0.5, 0, 1)), ("exponential", np.exp), ("linear", lambda z: z),
    ("leaky_relu", lambda z: np.where(z > 0, z, 0.2 * z)),
])
def test_dense_activations_by_name(name, fn):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7, activation=name)])
    k, b = model.get_weights()
    for n in (1, 7, 256):
        x = np.random.default_rng(n).standard_normal((n, 5)).astype(np.float32)
        assert_close(model.predict(x, verbose=0), fn((x @ k + b).astype(np.float64)), rtol=1e-5)


def test_layer_weights_list_trainable_before_non_trainable_as_keras_3():
    class Custom(keras.layers.Layer):
        def build(self, input_shape):
            self.a = self.add_weight(shape=(1,), trainable=False, name="a")
            self.b = self.add_weight(shape=(2,), name="b")

        def call(self, x):
            return x

    layer = Custom()
    layer.build((None, 1))
    assert [w.name for w in layer.weights] == ["b", "a"]
    assert [w.shape for w in layer.get_weights()] == [(2,), (1,)]
