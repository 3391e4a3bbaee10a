"""Recurrent layers against numpy oracles built from get_weights() (Keras 3's formulas), Keras's
parameter counts, weight names and configs, stateful buffers and dropout. Parity with real Keras
is in test_keras_parity (the rnn/lstm/gru/bidirectional/mask fixtures) and test_rnn_parity."""
import json
from pathlib import Path

import numpy as np
import pytest

from graphc import keras
from graphc.keras.layers.rnn import cells
from graphc.ops import registry
from harness import assert_close

layers = keras.layers
DATA = Path(__file__).resolve().parent.parent / "data" / "keras"


def sig(x):
    return 1 / (1 + np.exp(-x))


def lstm_ref(x, k, rk, b, mask=None, back=False, h=None, c=None):
    n, steps, _ = x.shape
    u = rk.shape[0]
    h = np.zeros((n, u)) if h is None else h.astype(np.float64)
    c = np.zeros((n, u)) if c is None else c.astype(np.float64)
    ys = []
    for t in (range(steps - 1, -1, -1) if back else range(steps)):
        z = x[:, t] @ k + h @ rk + b
        i, f, g, o = sig(z[:, :u]), sig(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sig(z[:, 3 * u:])
        c2 = f * c + i * g
        h2 = o * np.tanh(c2)
        if mask is not None:
            m = mask[:, t:t + 1].astype(np.float64)
            h2, c2 = m * h2 + (1 - m) * h, m * c2 + (1 - m) * c
        h, c = h2, c2
        ys.append(h)
    return np.stack(ys, 1), h, c


def gru_ref(x, k, rk, b, reset_after=True, back=False):
    n, steps, _ = x.shape
    u = rk.shape[0]
    h, ys = np.zeros((n, u)), []
    bi, br = (b[0], b[1]) if reset_after else (b, np.zeros(3 * u))
    for t in (range(steps - 1, -1, -1) if back else range(steps)):
        xz = x[:, t] @ k + bi
        if reset_after:
            inner = h @ rk + br
            z, r = sig(xz[:, :u] + inner[:, :u]), sig(xz[:, u:2 * u] + inner[:, u:2 * u])
            hh = np.tanh(xz[:, 2 * u:] + r * inner[:, 2 * u:])
        else:
            inner = h @ rk[:, :2 * u]
            z, r = sig(xz[:, :u] + inner[:, :u]), sig(xz[:, u:2 * u] + inner[:, u:2 * u])
            hh = np.tanh(xz[:, 2 * u:] + (r * h) @ rk[:, 2 * u:])
        h = z * h + (1 - z) * hh
        ys.append(h)
    return np.stack(ys, 1), h


def rnn_ref(x, k, rk, b, back=False):
    h, ys = np.zeros((x.shape[0], rk.shape[0])), []
    for t in (range(x.shape[1] - 1, -1, -1) if back else range(x.shape[1])):
        h = np.tanh(x[:, t] @ k + h @ rk + b)
        ys.append(h)
    return np.stack(ys, 1), h


@pytest.fixture(params=["fused", "stepwise"])
def path(request, monkeypatch):
    """Each oracle test runs through the recurrent op and through step-by-step cell calls."""
    if request.param == "stepwise":
        for cls in (cells.SimpleRNNCell, cells.LSTMCell, cells.GRUCell):
            monkeypatch.setattr(cls, "onnx_attrs", lambda self: None)
    return request.param


def _randomize(layer, seed=0):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()])


@pytest.mark.parametrize("back", [False, True])
def test_lstm_sequences_states_and_go_backwards(path, back):
    layer = layers.LSTM(3, return_sequences=True, return_state=True, go_backwards=back)
    inp = keras.Input((4, 2))
    model = keras.Model(inp, layer(inp))
    _randomize(layer)
    x = np.random.default_rng(1).standard_normal((5, 4, 2)).astype(np.float32)
    ys, h, c = lstm_ref(x, *layer.get_weights(), back=back)
    got = model.predict(x, verbose=0)
    for a, e in zip(got, (ys, h, c)):  # go_backwards: the outputs in processing order (reversed), as Keras
        assert_close(a, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_both_bias_layouts(path, reset_after):
    layer = layers.GRU(3, return_sequences=True, reset_after=reset_after)
    model = keras.Sequential([keras.Input((5, 2)), layer])
    _randomize(layer, 2)
    assert layer.get_weights()[2].shape == ((2, 9) if reset_after else (9,))
    x = np.random.default_rng(3).standard_normal((4, 5, 2)).astype(np.float32)
    assert_close(model.predict(x, verbose=0), gru_ref(x, *layer.get_weights(), reset_after=reset_after)[0],
                 rtol=1e-5, atol=1e-6)


def test_simple_rnn_batch_one_and_one_step(path):
    layer = layers.SimpleRNN(4, go_backwards=True)
    model = keras.Sequential([keras.Input((1, 3)), layer])
    _randomize(layer, 4)
    x = np.random.default_rng(5).standard_normal((1, 1, 3)).astype(np.float32)
    assert_close(model.predict(x, verbose=0), rnn_ref(x, *layer.get_weights())[1], rtol=1e-5, atol=1e-6)


def test_initial_state_and_mask_argument(path):
    x_in, h_in, c_in = keras.Input((4, 2)), keras.Input((3,)), keras.Input((3,))
    m_in = keras.Input((4,))
    layer = layers.LSTM(3, return_sequences=True)
    model = keras.Model([x_in, h_in, c_in, m_in], layer(x_in, initial_state=[h_in, c_in], mask=m_in))
    _randomize(layer, 6)
    rng = np.random.default_rng(7)
    x, h0, c0 = (rng.standard_normal(s).astype(np.float32) for s in ((3, 4, 2), (3, 3), (3, 3)))
    mask = np.array([[1, 1, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1]], np.float32)
    want = lstm_ref(x, *layer.get_weights(), mask=mask, h=h0, c=c0)[0]
    assert_close(model.predict([x, h0, c0, mask], verbose=0), want, rtol=1e-5, atol=1e-6)


# a variable number of timesteps needs the recurrent ops (the step-by-step fallback unrolls a static length)
needs_recurrent_ops = pytest.mark.skipif(not all(registry.has(op) for op in ("RNN", "LSTM", "GRU")),
                                         reason="the recurrent ops are not in the registry yet")


@needs_recurrent_ops
def test_variable_timesteps_use_one_graph_for_every_length():
    layer = layers.GRU(2)
    model = keras.Sequential([keras.Input((None, 3)), layer])
    _randomize(layer, 8)
    for steps in (1, 3, 7):
        x = np.random.default_rng(steps).standard_normal((2, steps, 3)).astype(np.float32)
        assert_close(model.predict(x, verbose=0), gru_ref(x, *layer.get_weights())[1], rtol=1e-5, atol=1e-6)


# --- parameter counts, weights, configs -------------------------------------------------------------
@pytest.mark.parametrize("units,features", [(1, 1), (4, 3), (32, 10)])
def test_parameter_count_formulas(units, features):
    def count(layer):
        model = keras.Sequential([keras.Input((5, features)), layer])
        return model.count_params()
    u, f = units, features
    assert count(layers.LSTM(u)) == 4 * (u * (f + u) + u)
    assert count(layers.GRU(u)) == 3 * (u * (f + u) + 2 * u)
    assert count(layers.GRU(u, reset_after=False)) == 3 * (u * (f + u) + u)
    assert count(layers.SimpleRNN(u)) == u * (f + u) + u
    assert count(layers.Bidirectional(layers.LSTM(u))) == 2 * 4 * (u * (f + u) + u)
    emb = keras.Sequential([keras.Input((10,), dtype="int64"), layers.Embedding(1000, 64)])
    assert emb.count_params() == 64000


def test_weights_names_order_and_lstm_unit_forget_bias():
    layer = layers.LSTM(2)
    model = keras.Sequential([keras.Input((3, 4)), layer])
    assert [(w.name, w.shape) for w in layer.weights] == [("kernel", (4, 8)), ("recurrent_kernel", (2, 8)),
                                                           ("bias", (8,))]
    # Keras 3 builds a Sequential's layers inside its name scope: "sequential/lstm/lstm_cell/kernel"
    assert [w.path for w in layer.weights] == [f"{model.name}/{layer.name}/lstm_cell/{n}"
                                               for n in ("kernel", "recurrent_kernel", "bias")]
    assert layer.get_weights()[2].tolist() == [0, 0, 1, 1, 0, 0, 0, 0]  # i, f (ones), c, o
    rk = layer.get_weights()[1]
    assert_close(rk @ rk.T, np.eye(2), atol=1e-5)  # orthogonal recurrent kernel


@pytest.mark.parametrize("cls_name", ["SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell", "RNN",
                                      "Bidirectional", "Masking", "ConvLSTM2D"])
def test_default_configs_match_keras(cls_name):
    want = json.loads((DATA / "defaults_more.json").read_text())["layer_configs"][cls_name]
    make = {"RNN": lambda: layers.RNN(layers.LSTMCell(2)), "Bidirectional": lambda: layers.Bidirectional(layers.LSTM(2)),
            "Masking": lambda: layers.Masking(), "ConvLSTM2D": lambda: layers.ConvLSTM2D(2, 3)}.get(
                cls_name, lambda: getattr(layers, cls_name)(2))
    got = make().get_config()
    keys = set(want) - {"name", "dtype", "layer", "backward_layer", "cell"}
    assert keys <= set(got), sorted(keys - set(got))
    for key in keys:
        w, g = want[key], got[key]
        if isinstance(w, dict) and "class_name" in w:
            assert isinstance(g, dict) and g["class_name"] == w["class_name"], key
        elif isinstance(w, list):
            assert list(g) == w, key
        else:
            assert g == w, key


@pytest.mark.parametrize("make", [
    lambda: layers.LSTM(3, return_sequences=True, go_backwards=True, dropout=0.2, unit_forget_bias=False),
    lambda: layers.GRU(2, reset_after=False, recurrent_activation="hard_sigmoid", stateful=False),
    lambda: layers.SimpleRNN(2, activation="relu", use_bias=False, return_state=True),
    lambda: layers.RNN(layers.GRUCell(2), return_sequences=True),
    lambda: layers.Bidirectional(layers.LSTM(2, return_sequences=True), merge_mode="sum"),
    lambda: layers.Bidirectional(layers.LSTM(2), backward_layer=layers.GRU(2, go_backwards=True)),
])
def test_config_round_trip_gives_the_same_layer(make):
    layer = make()
    inp = keras.Input((4, 3))
    out = layer(inp)
    model = keras.Model(inp, out)
    _randomize(layer, 9)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone_model = keras.Model(inp, clone(inp))
    clone.set_weights(layer.get_weights())
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    for a, b in zip(np.atleast_1d(model.predict(x, verbose=0)), np.atleast_1d(clone_model.predict(x, verbose=0))):
        assert_close(a, b, rtol=0)


# --- stateful, dropout -----------------------------------------------------------------------------------
def test_stateful_states_carry_over_predict_and_call_until_reset(path):
    layer = layers.LSTM(3, stateful=True)
    model = keras.Sequential([keras.Input(batch_shape=(2, 3, 2)), layer])
    _randomize(layer, 10)
    assert model.count_params() == 4 * (3 * 5 + 3)  # the states are no weights
    assert len(layer.weights) == 3 and [s.shape for s in layer.states] == [(2, 3), (2, 3)]
    rng = np.random.default_rng(11)
    x1, x2 = (rng.standard_normal((2, 3, 2)).astype(np.float32) for _ in range(2))
    w = layer.get_weights()
    _, h1, c1 = lstm_ref(x1, *w)
    _, h2, c2 = lstm_ref(x2, *w, h=h1, c=c1)
    assert_close(model.predict(x1, verbose=0), h1, rtol=1e-5, atol=1e-6)
    assert_close(model(x2), h2, rtol=1e-5, atol=1e-6)  # model(x) continues from predict's states
    assert_close(layer.states[1].numpy(), c2, rtol=1e-5, atol=1e-6)
    model.reset_states()
    assert not layer.states[0].numpy().any()
    assert_close(model.predict(np.concatenate([x1, x2]), batch_size=2, verbose=0), np.concatenate([h1, h2]),
                 rtol=1e-5, atol=1e-6)  # two batches in one predict: the second starts from the first's states
    with pytest.raises(ValueError, match="batch size must be static"):
        keras.Sequential([keras.Input((3, 2)), layers.GRU(2, stateful=True)])


def test_dropout_only_in_training():
    layer = layers.LSTM(4, dropout=0.5, recurrent_dropout=0.5)
    model = keras.Sequential([keras.Input((5, 3)), layer])
    x = np.random.default_rng(12).standard_normal((6, 5, 3)).astype(np.float32)
    assert_close(model.predict(x, verbose=0), lstm_ref(x, *layer.get_weights())[1], rtol=1e-5, atol=1e-6)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    y = np.zeros((6, 4), np.float32)
    train_loss = model.train_on_batch(x, y)
    eval_loss = model.evaluate(x, y, verbose=0)
    assert abs(train_loss - eval_loss) > 1e-4 * eval_loss  # the training graph drops inputs and h
    assert_close(model.evaluate(x, y, verbose=0), eval_loss, rtol=0)


@needs_recurrent_ops
def test_go_backwards_with_variable_timesteps_needs_static_length_only_for_sequences():
    model = keras.Sequential([keras.Input((None, 2)), layers.GRU(2, go_backwards=True)])  # last state: fine
    assert model.predict(np.ones((1, 3, 2), np.float32), verbose=0).shape == (1, 2)
    with pytest.raises(Exception, match="static number of timesteps"):
        keras.Sequential([keras.Input((None, 2)), layers.GRU(2, go_backwards=True, return_sequences=True)])


def test_custom_cell_runs_step_by_step():
    class MinimalRNNCell(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

        def call(self, inputs, states):
            out = keras.ops.add(keras.ops.matmul(inputs, self.kernel), keras.ops.matmul(states[0],
                                                                                         self.recurrent_kernel))
            return out, [out]

    layer = layers.RNN(MinimalRNNCell(3), return_sequences=True)
    model = keras.Sequential([keras.Input((4, 2)), layer])
    k, rk = layer.get_weights()
    x = np.random.default_rng(13).standard_normal((2, 4, 2)).astype(np.float32)
    h, ys = np.zeros((2, 3)), []
    for t in range(4):
        h = x[:, t] @ k + h @ rk
        ys.append(h)
    assert_close(model.predict(x, verbose=0), np.stack(ys, 1), rtol=1e-5, atol=1e-6)


def test_conv_lstm2d_stateful_and_masked_steps():
    layer = layers.ConvLSTM2D(2, 3, padding="same", stateful=True, return_sequences=True)
    model = keras.Sequential([keras.Input(batch_shape=(2, 3, 4, 4, 1)), layer])
    assert [s.shape for s in layer.states] == [(2, 4, 4, 2)] * 2 and model.count_params() == 4 * 2 * (9 * 3 + 1)
    x = np.random.default_rng(14).standard_normal((2, 3, 4, 4, 1)).astype(np.float32)
    first = model.predict(x, verbose=0)
    assert not np.allclose(model.predict(x, verbose=0), first)  # started from the carried states
    layer.reset_states()
    assert_close(model.predict(x, verbose=0), first, rtol=0)
    inp, m_in = keras.Input((3, 4, 4, 1)), keras.Input((3,))
    masked = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    mmodel = keras.Model([inp, m_in], masked(inp, mask=m_in))
    out = mmodel.predict([x, np.array([[1, 0, 1], [1, 1, 0]], np.float32)], verbose=0)
    assert_close(out[0, 1], out[0, 0], rtol=0)  # a masked step repeats the previous output
    assert_close(out[1, 2], out[1, 1], rtol=0)
