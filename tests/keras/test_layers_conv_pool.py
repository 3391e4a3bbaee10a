"""Conv1D/Conv3D, DepthwiseConv1D/2D, SeparableConv1D/2D, 1-D/3-D pooling, ZeroPadding, Cropping and
UpSampling layers: forward vs numpy oracles built from get_weights() (batch 1 and 7, both data formats),
Keras 3 defaults/configs (tests/data/keras/defaults.json), param counts, config round trips, training.

Whole models against real Keras outputs are in test_keras_parity.py (conv1d_causal, conv3d_pool,
depthwise_separable, separable_conv1d, channels_first_2d, pad_crop_upsample, unet_tiny).
"""
import inspect
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from graphc import keras
from harness import assert_close

L = keras.layers
DEFAULTS = json.loads((Path(__file__).resolve().parent.parent / "data" / "keras" / "defaults.json").read_text())


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


# --- numpy oracles (channels_last) --------------------------------------------------------------
def _same_pads(n, k, s, d):
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _windows(x, k, s, d, padding, fill=0.0):
    """Padded x and, per kernel offset, the strided window x[:, off..., :] (channels_last)."""
    r = len(k)
    if padding == "same":
        pads = [_same_pads(x.shape[1 + i], k[i], s[i], d[i]) for i in range(r)]
    elif padding == "causal":
        pads = [((k[0] - 1) * d[0], 0)]
    else:
        pads = [(0, 0)] * r
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=fill)
    out = [(xp.shape[1 + i] - (k[i] - 1) * d[i] - 1) // s[i] + 1 for i in range(r)]
    for off in itertools.product(*[range(kk) for kk in k]):
        sl = tuple(slice(o * d[i], o * d[i] + (out[i] - 1) * s[i] + 1, s[i]) for i, o in enumerate(off))
        yield off, xp[(slice(None),) + sl]


def np_conv(x, w, b=None, strides=1, padding="valid", dilation=1, groups=1):
    r = x.ndim - 2
    k, s, d = w.shape[:r], (strides,) * r if np.isscalar(strides) else strides, \
        (dilation,) * r if np.isscalar(dilation) else dilation
    y = 0.0
    for off, win in _windows(x.astype(np.float64), k, s, d, padding):
        if groups == 1:
            y = y + win @ w[off]
        else:
            cg, fg = w.shape[-2], w.shape[-1] // groups
            y = y + np.concatenate([win[..., g * cg:(g + 1) * cg] @ w[off][:, g * fg:(g + 1) * fg]
                                    for g in range(groups)], axis=-1)
    return y if b is None else y + b


def np_depthwise(x, w, b=None, strides=1, padding="valid", dilation=1):
    r = x.ndim - 2
    k = w.shape[:r]
    s = (strides,) * r if np.isscalar(strides) else strides
    d = (dilation,) * r if np.isscalar(dilation) else dilation
    y = 0.0
    for off, win in _windows(x.astype(np.float64), k, s, d, padding):
        y = y + (win[..., :, None] * w[off]).reshape(win.shape[:-1] + (-1,))
    return y if b is None else y + b


def np_pool(x, k, s, padding, mode):
    fill = -np.inf if mode == "max" else np.nan
    wins = np.stack([w for _, w in _windows(x.astype(np.float64), k, s, (1,) * len(k), padding, fill)])
    return wins.max(axis=0) if mode == "max" else np.nanmean(wins, axis=0)


def cf(x):
    return np.moveaxis(x, 1, -1)


def lc(x):
    return np.moveaxis(x, -1, 1)


def _run(layer, shape, batch, seed=0):
    x = np.random.default_rng(seed + batch).standard_normal((batch,) + shape).astype(np.float32)
    model = keras.Sequential([keras.Input(shape), layer])
    ws = layer.get_weights()
    if ws:  # random biases, so the bias add is checked
        rng = np.random.default_rng(1)
        layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) if i == len(ws) - 1 and layer.use_bias
                           else w for i, w in enumerate(ws)])
    return x, model.predict(x, batch_size=batch, verbose=0), layer.get_weights()


BATCHES = [1, 7]


# --- convolutions --------------------------------------------------------------------------------
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("kwargs", [dict(padding="valid"), dict(padding="same", strides=2),
                                    dict(padding="causal", dilation_rate=2), dict(padding="causal", groups=2)])
def test_conv1d(batch, kwargs):
    x, y, (w, b) = _run(L.Conv1D(4, 3, **kwargs), (11, 4), batch)
    want = np_conv(x, w, b, kwargs.get("strides", 1), kwargs["padding"], kwargs.get("dilation_rate", 1),
                   kwargs.get("groups", 1))
    assert_close(y, want, rtol=1e-5)


@pytest.mark.parametrize("batch", BATCHES)
def test_conv1d_causal_channels_first(batch):
    x, y, (w, b) = _run(L.Conv1D(3, 4, padding="causal", data_format="channels_first", activation="relu"),
                        (2, 9), batch)
    assert_close(y, lc(np.maximum(np_conv(cf(x), w, b, padding="causal"), 0)), rtol=1e-5)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv3d(batch, data_format):
    layer = L.Conv3D(3, (2, 3, 2), strides=(1, 2, 1), padding="same", data_format=data_format)
    shape = (4, 5, 3, 2) if data_format == "channels_last" else (2, 4, 5, 3)
    x, y, (w, b) = _run(layer, shape, batch)
    assert w.shape == (2, 3, 2, 2, 3)
    if data_format == "channels_last":
        assert_close(y, np_conv(x, w, b, (1, 2, 1), "same"), rtol=1e-5)
    else:
        assert_close(y, lc(np_conv(cf(x), w, b, (1, 2, 1), "same")), rtol=1e-5)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("kwargs", [dict(depth_multiplier=2), dict(padding="same", strides=2),
                                    dict(dilation_rate=2, depth_multiplier=3, padding="same")])
def test_depthwise_conv2d(batch, kwargs):
    layer = L.DepthwiseConv2D(3, **kwargs)
    x, y, (w, b) = _run(layer, (8, 7, 3), batch)
    dm = kwargs.get("depth_multiplier", 1)
    assert [v.name for v in layer.weights] == ["kernel", "bias"]
    assert w.shape == (3, 3, 3, dm) and b.shape == (3 * dm,)
    assert layer.count_params() == 9 * 3 * dm + 3 * dm
    want = np_depthwise(x, w, b, kwargs.get("strides", 1), kwargs.get("padding", "valid"),
                        kwargs.get("dilation_rate", 1))
    assert_close(y, want, rtol=1e-5)


@pytest.mark.parametrize("batch", BATCHES)
def test_depthwise_conv_channels_first_and_1d(batch):
    x, y, (w, b) = _run(L.DepthwiseConv2D((2, 3), depth_multiplier=2, data_format="channels_first"),
                        (3, 6, 7), batch)
    assert_close(y, lc(np_depthwise(cf(x), w, b)), rtol=1e-5)
    x, y, (w, b) = _run(L.DepthwiseConv1D(3, depth_multiplier=2, padding="same"), (9, 3), batch)
    assert w.shape == (3, 3, 2)
    assert_close(y, np_depthwise(x, w, b, padding="same"), rtol=1e-5)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_separable_conv2d(batch, data_format):
    layer = L.SeparableConv2D(5, 3, strides=2, padding="same", depth_multiplier=2, data_format=data_format,
                              activation="tanh")
    shape = (9, 8, 3) if data_format == "channels_last" else (3, 9, 8)
    x, y, (dw, pw, b) = _run(layer, shape, batch)
    assert [v.name for v in layer.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert dw.shape == (3, 3, 3, 2) and pw.shape == (1, 1, 6, 5) and b.shape == (5,)
    assert layer.count_params() == 3 * 3 * 3 * 2 + 3 * 2 * 5 + 5
    xl = x if data_format == "channels_last" else cf(x)
    want = np.tanh(np_depthwise(xl, dw, None, 2, "same") @ pw[0, 0] + b)
    assert_close(y, want if data_format == "channels_last" else lc(want), rtol=1e-5)


@pytest.mark.parametrize("batch", BATCHES)
def test_separable_conv1d(batch):
    layer = L.SeparableConv1D(4, 3, dilation_rate=2, depth_multiplier=3)
    x, y, (dw, pw, b) = _run(layer, (12, 2), batch)
    assert dw.shape == (3, 2, 3) and pw.shape == (1, 6, 4)
    assert layer.count_params() == 3 * 2 * 3 + 6 * 4 + 4
    assert_close(y, np_depthwise(x, dw, None, 1, "valid", 2) @ pw[0] + b, rtol=1e-5)


# --- pooling ------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("layer, shape, k, s, padding, mode", [
    (lambda: L.MaxPooling1D(), (9, 3), (2,), (2,), "valid", "max"),
    (lambda: L.MaxPool1D(3, strides=2, padding="same"), (8, 3), (3,), (2,), "same", "max"),
    (lambda: L.AveragePooling1D(3, padding="same"), (10, 2), (3,), (3,), "same", "average"),
    (lambda: L.AvgPool1D(2, strides=1), (6, 2), (2,), (1,), "valid", "average"),
    (lambda: L.MaxPooling3D(), (5, 4, 4, 2), (2, 2, 2), (2, 2, 2), "valid", "max"),
    (lambda: L.MaxPool3D((2, 3, 2), padding="same"), (5, 4, 3, 2), (2, 3, 2), (2, 3, 2), "same", "max"),
    (lambda: L.AveragePooling3D(2, strides=(1, 2, 1), padding="same"), (3, 5, 4, 2), (2, 2, 2), (1, 2, 1),
     "same", "average"),
    (lambda: L.AvgPool3D((1, 2, 2)), (3, 4, 5, 2), (1, 2, 2), (1, 2, 2), "valid", "average"),
])
def test_pooling(batch, layer, shape, k, s, padding, mode):
    x, y, _ = _run(layer(), shape, batch)
    assert_close(y, np_pool(x, k, s, padding, mode), rtol=1e-5)


@pytest.mark.parametrize("batch", BATCHES)
def test_pooling_channels_first(batch):
    x, y, _ = _run(L.MaxPooling1D(2, data_format="channels_first"), (3, 7), batch)
    assert_close(y, lc(np_pool(cf(x), (2,), (2,), "valid", "max")), rtol=1e-5)
    x, y, _ = _run(L.AveragePooling3D(2, padding="same", data_format="channels_first"), (2, 3, 5, 4), batch)
    assert_close(y, lc(np_pool(cf(x), (2, 2, 2), (2, 2, 2), "same", "average")), rtol=1e-5)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("cls, shape, fn", [
    (L.GlobalMaxPooling1D, (7, 3), np.max), (L.GlobalAveragePooling1D, (7, 3), np.mean),
    (L.GlobalMaxPool3D, (3, 4, 2, 3), np.max), (L.GlobalAvgPool3D, (3, 4, 2, 3), np.mean)])
@pytest.mark.parametrize("keepdims, data_format", [(False, "channels_last"), (True, "channels_first")])
def test_global_pooling(batch, cls, shape, fn, keepdims, data_format):
    x, y, _ = _run(cls(keepdims=keepdims, data_format=data_format), shape, batch)
    axes = tuple(range(1, len(shape))) if data_format == "channels_last" else tuple(range(2, len(shape) + 1))
    assert_close(y, fn(x.astype(np.float64), axis=axes, keepdims=keepdims), rtol=1e-5)


# --- padding, cropping, upsampling -------------------------------------------------------------
@pytest.mark.parametrize("batch", BATCHES)
def test_zero_padding(batch):
    x, y, _ = _run(L.ZeroPadding1D((2, 1)), (5, 3), batch)
    assert_close(y, np.pad(x, [(0, 0), (2, 1), (0, 0)]), rtol=0)
    x, y, _ = _run(L.ZeroPadding2D(((1, 2), (0, 3))), (4, 5, 2), batch)
    assert_close(y, np.pad(x, [(0, 0), (1, 2), (0, 3), (0, 0)]), rtol=0)
    x, y, _ = _run(L.ZeroPadding2D((1, 2), data_format="channels_first"), (2, 4, 5), batch)
    assert_close(y, np.pad(x, [(0, 0), (0, 0), (1, 1), (2, 2)]), rtol=0)
    x, y, _ = _run(L.ZeroPadding3D(1), (2, 3, 2, 2), batch)
    assert_close(y, np.pad(x, [(0, 0), (1, 1), (1, 1), (1, 1), (0, 0)]), rtol=0)


@pytest.mark.parametrize("batch", BATCHES)
def test_cropping(batch):
    x, y, _ = _run(L.Cropping2D(((1, 0), (2, 1))), (6, 7, 2), batch)
    assert_close(y, x[:, 1:, 2:-1], rtol=0)
    x, y, _ = _run(L.Cropping2D(1, data_format="channels_first"), (2, 5, 4), batch)
    assert_close(y, x[:, :, 1:-1, 1:-1], rtol=0)
    x, y, _ = _run(L.Cropping1D((0, 2)), (6, 3), batch)
    assert_close(y, x[:, :-2], rtol=0)
    x, y, _ = _run(L.Cropping3D(((1, 1), (0, 1), (2, 0))), (4, 3, 5, 2), batch)
    assert_close(y, x[:, 1:-1, :-1, 2:], rtol=0)


@pytest.mark.parametrize("batch", BATCHES)
def test_upsampling(batch):
    x, y, _ = _run(L.UpSampling1D(3), (4, 2), batch)
    assert_close(y, np.repeat(x, 3, axis=1), rtol=0)
    x, y, _ = _run(L.UpSampling2D((2, 3)), (3, 4, 2), batch)
    assert_close(y, np.repeat(np.repeat(x, 2, axis=1), 3, axis=2), rtol=0)
    x, y, _ = _run(L.UpSampling2D(data_format="channels_first"), (2, 3, 4), batch)
    assert_close(y, np.repeat(np.repeat(x, 2, axis=2), 2, axis=3), rtol=0)
    x, y, _ = _run(L.UpSampling3D((1, 2, 2)), (2, 3, 2, 2), batch)
    assert_close(y, np.repeat(np.repeat(x, 2, axis=2), 2, axis=3), rtol=0)


def test_argument_errors():
    with pytest.raises(ValueError, match="padding"):
        L.Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="depth_multiplier"):
        L.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match="cropping"):
        keras.Sequential([keras.Input((4, 4, 1)), L.Cropping2D(2)])
    with pytest.raises(NotImplementedError, match="area"):  # the other interpolations resize as Keras
        L.UpSampling2D(interpolation="area")
    with pytest.raises(ValueError, match="interpolation"):
        L.UpSampling2D(interpolation="cubicle")
    with pytest.raises(TypeError):
        L.AveragePooling1D()  # pool_size is required, as in Keras 3


# --- Keras 3 defaults, configs, aliases ----------------------------------------------------------
DEFAULT_INSTANCES = {
    "Conv1D": lambda: L.Conv1D(1, 3), "Conv3D": lambda: L.Conv3D(1, 3),
    "DepthwiseConv1D": lambda: L.DepthwiseConv1D(3), "DepthwiseConv2D": lambda: L.DepthwiseConv2D(3),
    "SeparableConv1D": lambda: L.SeparableConv1D(1, 3), "SeparableConv2D": lambda: L.SeparableConv2D(1, 3),
    "MaxPooling1D": lambda: L.MaxPooling1D(), "MaxPooling3D": lambda: L.MaxPooling3D(),
    "AveragePooling1D": lambda: L.AveragePooling1D(2), "AveragePooling3D": lambda: L.AveragePooling3D(2),
    "GlobalMaxPooling1D": lambda: L.GlobalMaxPooling1D(), "GlobalMaxPooling3D": lambda: L.GlobalMaxPooling3D(),
    "GlobalAveragePooling1D": lambda: L.GlobalAveragePooling1D(),
    "GlobalAveragePooling3D": lambda: L.GlobalAveragePooling3D(),
    "ZeroPadding1D": lambda: L.ZeroPadding1D(), "ZeroPadding2D": lambda: L.ZeroPadding2D(),
    "ZeroPadding3D": lambda: L.ZeroPadding3D(), "Cropping1D": lambda: L.Cropping1D(),
    "Cropping2D": lambda: L.Cropping2D(), "Cropping3D": lambda: L.Cropping3D(),
    "UpSampling1D": lambda: L.UpSampling1D(), "UpSampling2D": lambda: L.UpSampling2D(),
    "UpSampling3D": lambda: L.UpSampling3D(),
}


def _plain(v):
    return json.loads(json.dumps(v, default=str))


@pytest.mark.parametrize("cls_name", sorted(DEFAULT_INSTANCES))
def test_default_config_matches_keras(cls_name):
    want = DEFAULTS["layer_configs"][cls_name]
    layer = DEFAULT_INSTANCES[cls_name]()
    got = _plain(layer.get_config())
    assert list(got) == list(want)  # same keys, same order
    for key, value in want.items():
        if key in ("name", "dtype") or isinstance(value, dict):
            continue
        assert got[key] == value, key
    for key, value in want.items():  # initializers etc.: same class
        if key != "dtype" and isinstance(value, dict) and "class_name" in value:
            assert got[key]["class_name"] == value["class_name"], key
    assert layer.name == DEFAULTS["auto_layer_names"][cls_name][0]
    sig = DEFAULTS["init_signatures"][cls_name]
    ours = {}  # a subclass passes the rest (initializers, ...) to its base class by keyword
    for klass in type(layer).__mro__:
        if "__init__" in vars(klass):
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    ours.setdefault(p.name, "<required>" if p.default is inspect.Parameter.empty else p.default)
    assert {k: _plain(v) for k, v in ours.items() if k in sig} == {k: _plain(v) for k, v in sig.items()}
    missing = set(sig) - set(ours) - {"name"}
    assert not missing, missing


def test_aliases():
    assert L.MaxPool1D is L.MaxPooling1D and L.MaxPool3D is L.MaxPooling3D
    assert L.AvgPool1D is L.AveragePooling1D and L.AvgPool3D is L.AveragePooling3D
    assert L.GlobalMaxPool1D is L.GlobalMaxPooling1D and L.GlobalAvgPool3D is L.GlobalAveragePooling3D
    assert L.Convolution1D is L.Conv1D and L.Convolution3D is L.Conv3D
    assert L.SeparableConvolution2D is L.SeparableConv2D


@pytest.mark.parametrize("make, shape", [
    (lambda: L.Conv1D(3, 2, padding="causal", activation="relu", dilation_rate=2), (8, 2)),
    (lambda: L.Conv3D(2, 2, data_format="channels_first"), (2, 3, 3, 3)),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False), (5, 5, 2)),
    (lambda: L.SeparableConv2D(4, 2, depth_multiplier=2, padding="same"), (5, 5, 2)),
    (lambda: L.SeparableConv1D(4, 2, strides=2), (6, 3)),
    (lambda: L.AveragePooling1D(3, padding="same"), (7, 2)),
    (lambda: L.GlobalMaxPooling3D(keepdims=True), (2, 3, 2, 2)),
    (lambda: L.ZeroPadding2D((1, 2)), (3, 3, 1)),
    (lambda: L.Cropping2D(((1, 0), (0, 1))), (3, 3, 1)),
    (lambda: L.UpSampling2D((1, 3)), (3, 3, 1)),
    (lambda: L.UpSampling1D(2), (3, 2)),
])
def test_config_round_trip(make, shape):
    layer = make()
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert _plain(clone.get_config()) == _plain(cfg)
    x = np.random.default_rng(0).standard_normal((3,) + shape).astype(np.float32)
    m1 = keras.Sequential([keras.Input(shape), layer])
    m2 = keras.Sequential([keras.Input(shape), clone])
    clone.set_weights(layer.get_weights())
    assert_close(m2.predict(x, verbose=0), m1.predict(x, verbose=0), rtol=0)


def test_fit_reduces_loss():
    """A small model of the new layers trains: gradients flow through Pad, Slice, Expand and grouped Conv."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 12, 3)).astype(np.float32)
    y = (x[:, :, 0].mean(axis=1, keepdims=True) > 0).astype(np.float32)
    model = keras.Sequential([
        keras.Input((12, 3)),
        L.ZeroPadding1D(1),
        L.Conv1D(6, 3, padding="causal", activation="relu"),
        L.SeparableConv1D(6, 3, padding="same", depth_multiplier=2, activation="relu"),
        L.UpSampling1D(2),
        L.DepthwiseConv1D(3),
        L.Cropping1D((1, 1)),
        L.MaxPooling1D(),
        L.AveragePooling1D(2),
        L.GlobalAveragePooling1D(),
        L.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    hist = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < loss[0] * 0.9, loss


def test_fit_2d_3d_layers():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 4, 6, 6, 1)).astype(np.float32)
    y = x.reshape(32, -1).std(axis=1, keepdims=True).astype(np.float32)
    model = keras.Sequential([
        keras.Input((4, 6, 6, 1)),
        L.Conv3D(4, 2, padding="same", activation="relu"),
        L.MaxPooling3D((1, 2, 2)),
        L.UpSampling3D((1, 2, 2)),
        L.ZeroPadding3D(1),
        L.Cropping3D(1),
        L.AveragePooling3D(2),
        L.GlobalMaxPooling3D(),
        L.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    loss = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert loss[-1] < loss[0], loss


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
@pytest.mark.parametrize("name", ["depthwise_separable", "conv3d_pool", "separable_conv1d"])
def test_weights_file_round_trip(tmp_path, name, suffix):
    import keras_models
    from graphc.keras import saving
    src = keras_models.MODELS[name][0](keras)
    rng = np.random.default_rng(3)
    expected = [rng.standard_normal(w.shape).astype(np.float32) for w in src.get_weights()]
    src.set_weights(expected)
    saving.save_weights(src, tmp_path / f"m{suffix}")
    keras.backend.clear_session()
    dst = keras_models.MODELS[name][0](keras)
    saving.load_weights(dst, str(tmp_path / f"m{suffix}"))
    for got, want in zip(dst.get_weights(), expected):
        np.testing.assert_array_equal(got, want)


def test_padding_cropping_upsampling_stay_in_nchw_between_convs():
    """The spatial layers work in the IR's NCHW layout, so the layout pass cancels every activation
    Transpose between convolutions: only the model's two boundaries and the kernels' own remain."""
    from graphc.onnx import to_model_proto
    model = keras.Sequential([keras.Input((6, 6, 2)), L.Conv2D(3, 3), L.ZeroPadding2D(1), L.Conv2D(3, 3),
                              L.UpSampling2D(), L.Cropping2D(1), L.Conv2D(2, 1)])
    nodes = to_model_proto(model, optimize=True).graph.node
    transposed = [n.input[0] for n in nodes if n.op_type == "Transpose"]
    assert sum(1 for t in transposed if not t.endswith(".kernel")) == 2, transposed
