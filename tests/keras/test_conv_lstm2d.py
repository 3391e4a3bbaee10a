"""ConvLSTM2D through the graphc.ConvLSTM op: numpy oracles built from get_weights() (Keras
equations, channels_last, one step at a time), variable timesteps, parameter counts, config round
trips and training through fit."""
from __future__ import annotations

import numpy as np
import pytest

from graphc import keras
from harness import assert_close

layers = keras.layers
ACT = {"tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0),
       "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1), "linear": lambda x: x}


def conv_nhwc(x, k, strides=(1, 1), padding="valid", dil=(1, 1)):
    """Keras conv: x (B, H, W, C), k (kh, kw, C, M); 'same' pads as TF (the extra pad at the end)."""
    pads = []
    for n, kk, s, d in zip(x.shape[1:3], k.shape[:2], strides, dil):
        span = (kk - 1) * d + 1
        total = max((-(-n // s) - 1) * s + span - n, 0) if padding == "same" else 0
        pads.append((total // 2, total - total // 2))
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    ho = (xp.shape[1] - (k.shape[0] - 1) * dil[0] - 1) // strides[0] + 1
    wo = (xp.shape[2] - (k.shape[1] - 1) * dil[1] - 1) // strides[1] + 1
    y = np.zeros((x.shape[0], ho, wo, k.shape[3]))
    for i in range(k.shape[0]):
        for j in range(k.shape[1]):
            patch = xp[:, i * dil[0]:i * dil[0] + (ho - 1) * strides[0] + 1:strides[0],
                       j * dil[1]:j * dil[1] + (wo - 1) * strides[1] + 1:strides[1]]
            y += patch @ k[i, j]
    return y


def conv_lstm_ref(x, kernel, rkernel, bias, strides=(1, 1), padding="valid", dil=(1, 1), back=False,
                  act="tanh", ract="sigmoid", h=None, c=None):
    """x (B, T, H, W, C) -> (sequence, h, c), Keras ConvLSTM2D channels_last."""
    f = rkernel.shape[2]
    a, ra = ACT[act], ACT[ract]
    ys = []
    for t in (range(x.shape[1] - 1, -1, -1) if back else range(x.shape[1])):
        zx = conv_nhwc(x[:, t], kernel, strides, padding, dil) + bias
        if h is None:
            h = c = np.zeros(zx.shape[:3] + (f,))
        z = zx + conv_nhwc(h, rkernel, padding="same")
        i, fg, g, o = ra(z[..., :f]), ra(z[..., f:2 * f]), a(z[..., 2 * f:3 * f]), ra(z[..., 3 * f:])
        c = fg * c + i * g
        h = o * a(c)
        ys.append(h)
    return np.stack(ys, 1), h, c


def _randomize(model, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, scale, w.shape).astype(w.dtype) for w in model.get_weights()])


def _op_types(model):
    return {op.op_type for op in model._lower().ops()}


def test_variable_timesteps_run_one_graph_through_the_op():
    layer = layers.ConvLSTM2D(3, (3, 2), strides=(2, 1), padding="same", return_sequences=True)
    model = keras.Sequential([keras.Input((None, 5, 4, 2)), layer])
    _randomize(model, 0)
    assert "ConvLSTM" in _op_types(model) and "Conv" not in _op_types(model)
    k, rk, b = model.get_weights()
    rng = np.random.default_rng(1)
    for steps in (1, 4):
        x = rng.standard_normal((2, steps, 5, 4, 2)).astype(np.float32)
        want = conv_lstm_ref(x, k, rk, b, (2, 1), "same")[0]
        assert_close(model.predict(x, verbose=0), want, rtol=1e-4, atol=1e-5)


def test_channels_first_go_backwards_return_state_and_activations():
    inp = keras.Input((3, 2, 6, 5))
    layer = layers.ConvLSTM2D(2, 3, dilation_rate=(2, 1), data_format="channels_first", go_backwards=True,
                              return_state=True, activation="relu", recurrent_activation="hard_sigmoid")
    model = keras.Model(inp, layer(inp))
    _randomize(model, 2)
    k, rk, b = model.get_weights()
    x = np.random.default_rng(3).standard_normal((2, 3, 2, 6, 5)).astype(np.float32)
    out, h, c = model.predict(x, verbose=0)
    _, wh, wc = conv_lstm_ref(x.transpose(0, 1, 3, 4, 2), k, rk, b, dil=(2, 1), back=True, act="relu",
                              ract="hard_sigmoid")
    for got, want in ((out, wh), (h, wh), (c, wc)):
        assert_close(got, want.transpose(0, 3, 1, 2), rtol=1e-4, atol=1e-5)


def test_initial_state_inputs():
    x_in, h_in, c_in = keras.Input((2, 4, 4, 1)), keras.Input((4, 4, 2)), keras.Input((4, 4, 2))
    layer = layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True)
    model = keras.Model([x_in, h_in, c_in], layer(x_in, initial_state=[h_in, c_in]))
    _randomize(model, 4)
    rng = np.random.default_rng(5)
    x, h0, c0 = (rng.standard_normal(s).astype(np.float32) for s in ((3, 2, 4, 4, 1), (3, 4, 4, 2), (3, 4, 4, 2)))
    want = conv_lstm_ref(x, *model.get_weights(), padding="same", h=h0.astype(np.float64), c=c0.astype(np.float64))[0]
    assert_close(model.predict([x, h0, c0], verbose=0), want, rtol=1e-4, atol=1e-5)


def test_parameter_count_summary_and_config_round_trip():
    layer = layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True, unit_forget_bias=False, go_backwards=True)
    model = keras.Sequential([keras.Input((5, 8, 8, 2)), layer])
    assert model.count_params() == 4 * 4 * (9 * (2 + 4)) + 4 * 4
    assert model.output_shape == (None, 5, 8, 8, 4)
    lines = []
    model.summary(print_fn=lines.append)
    assert any("ConvLSTM2D" in ln and "880" in ln for ln in lines), lines
    clone = layers.ConvLSTM2D.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert type(clone) is type(layer)


def test_fit_learns_the_mean_of_the_frames():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((96, 3, 4, 4, 1)).astype(np.float32)
    y = x.mean(axis=(1, 2, 3, 4))[:, None].astype(np.float32)
    model = keras.Sequential([keras.Input((3, 4, 4, 1)), layers.ConvLSTM2D(4, 2, padding="same"),
                              layers.GlobalAveragePooling2D(), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    before = float(model.evaluate(x, y, verbose=0))
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    after = float(model.evaluate(x, y, verbose=0))
    assert after < 0.3 * before, (before, after)

