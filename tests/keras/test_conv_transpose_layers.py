"""Conv1DTranspose / Conv2DTranspose / Conv3DTranspose: Keras 3 defaults and signatures
(tests/data/keras/defaults_more.json), output shapes (Keras's compute_output_shape vs the traced IR),
argument errors, config round trips, training.

Forward outputs against real Keras are in test_keras_parity.py (conv_transpose_1d, conv_transpose_2d,
conv_transpose_3d, conv_transpose_channels_first, dcgan_generator), the ONNX round trip in tests/onnx.
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
MORE = json.loads((Path(__file__).resolve().parent.parent / "data" / "keras" / "defaults_more.json").read_text())


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


def _plain(v):
    return json.loads(json.dumps(v, default=str))


@pytest.mark.parametrize("cls_name", ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"])
def test_default_config_and_signature_match_keras(cls_name):
    want = MORE["layer_configs"][cls_name]
    layer = getattr(L, cls_name)(4, 3)
    got = _plain(layer.get_config())
    assert list(got) == list(want)
    for key, value in want.items():
        if key == "dtype":
            continue
        if isinstance(value, dict) and "class_name" in value:
            assert got[key]["class_name"] == value["class_name"], key
        else:
            assert got[key] == value, key
    sig = MORE["init_signatures"][cls_name]
    ours = {}
    for klass in type(layer).__mro__:
        if "__init__" in vars(klass):
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    ours.setdefault(p.name, "<required>" if p.default is inspect.Parameter.empty else p.default)
    assert {k: _plain(v) for k, v in ours.items() if k in sig} == {k: _plain(v) for k, v in sig.items()}


def _keras_size(n, k, s, d, padding, op):
    """Keras 3's _get_output_shape_given_tf_padding, restated."""
    k = (k - 1) * d + 1
    if padding == "valid":
        op = max(k, s) - k if op is None else op
        return (n - 1) * s + k + op
    return n * s if op is None else (n - 1) * s + k - 2 * (k // 2) + op


GRID = [(k, s, d, p, op) for k, s, d, p, op in itertools.product((1, 2, 3, 4), (1, 2, 3), (1, 2), ("valid", "same"),
                                                                    (None, 0, 1, 2))
        if not (s > 1 and d > 1) and (op is None or op < s)]


@pytest.mark.parametrize("k,s,d,padding,op", GRID)
def test_output_shape_is_keras_formula_and_ir_shape(k, s, d, padding, op):
    layer = L.Conv1DTranspose(2, k, strides=s, dilation_rate=d, padding=padding, output_padding=op)
    want = (None, _keras_size(5, k, s, d, padding, op), 2)
    assert layer.compute_output_shape((None, 5, 3)) == want
    assert layer(keras.Input((5, 3))).shape == want  # traced through ConvTranspose's shape inference


def test_kernel_shape_and_channels_first_shapes():
    layer = L.Conv2DTranspose(5, (2, 3), strides=(2, 1), data_format="channels_first")
    y = layer(keras.Input((3, 4, 6)))
    assert layer.kernel.shape == (2, 3, 5, 3) and layer.bias.shape == (5,)
    assert y.shape == (None, 5, 8, 8) == layer.compute_output_shape((None, 3, 4, 6))
    assert layer.count_params() == 2 * 3 * 5 * 3 + 5
    layer3 = L.Conv3DTranspose(2, 2, strides=2, padding="same", use_bias=False)
    assert layer3(keras.Input((2, 3, 4, 3))).shape == (None, 4, 6, 8, 2)
    assert [w.shape for w in layer3.weights] == [(2, 2, 2, 2, 3)]


def test_argument_errors():
    with pytest.raises(ValueError, match="strictly less than"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="dilation_rate > 1"):
        L.Conv1DTranspose(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding"):
        L.Conv2DTranspose(2, 3, padding="causal")
    with pytest.raises(ValueError, match="filters"):
        L.Conv2DTranspose(0, 3)
    layer = L.Conv2DTranspose(2, 3)
    layer(keras.Input((4, 4, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(keras.Input((4, 4, 2)))


@pytest.mark.parametrize("make, shape", [
    (lambda: L.Conv1DTranspose(3, 2, strides=2, padding="same", activation="relu"), (5, 2)),
    (lambda: L.Conv2DTranspose(2, 3, strides=(2, 1), output_padding=(1, 0), use_bias=False), (3, 4, 2)),
    (lambda: L.Conv3DTranspose(2, 2, data_format="channels_first", dilation_rate=2), (2, 3, 3, 2)),
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


def test_fit_learns_a_teacher_transposed_convolution():
    """Gradients of the kernel and bias through ConvTranspose (dW = ConvGradWeight, dB = ReduceSum) and
    of the input (dX = Conv, into the first layer): a student learns a random teacher's mapping."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4, 4, 2)).astype(np.float32)
    teacher = keras.Sequential([keras.Input((4, 4, 2)), L.Conv2DTranspose(3, 3, strides=2, padding="same")])
    y = teacher.predict(x, verbose=0)
    student = keras.Sequential([keras.Input((4, 4, 2)), L.Dense(2), L.Conv2DTranspose(3, 3, strides=2,
                                                                                       padding="same")])
    student.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    loss = student.fit(x, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert loss[-1] < 0.1 * loss[0], loss
