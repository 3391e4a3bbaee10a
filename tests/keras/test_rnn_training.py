"""Gradients through the recurrent layers (float64 central finite differences of the compiled
forward graph) and training through fit: an LSTM learns a noisy sine wave."""
import numpy as np
import pytest

import graphc
from graphc import keras
from graphc.keras.engine.trace import Tracer
from graphc.keras.layers.rnn import cells
from graphc.ops import registry
from graphc.passes.autodiff import autodiff
from harness import assert_close

layers = keras.layers


@pytest.fixture(params=["fused", "stepwise"])
def path(request, monkeypatch):
    if request.param == "stepwise":
        for cls in (cells.SimpleRNNCell, cells.LSTMCell, cells.GRUCell):
            monkeypatch.setattr(cls, "onnx_attrs", lambda self: None)
    elif not all(registry.has(op) and registry.get(op).grad is not None for op in ("RNN", "LSTM", "GRU")):
        pytest.skip("the recurrent ops' gradient rules are not in the registry yet")
    return request.param


@pytest.fixture
def float64():
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx("float32")


def _fd_check(model, xs, fixed=()):
    """d(sum(out * r))/d(weights and float inputs, except the indices in ``fixed``): autodiff of the
    lowered graph vs central differences."""
    tracer = Tracer(name="fd")
    ins, outs = model._trace_forward(tracer)
    b = tracer.b
    rng = np.random.default_rng(0)
    terms = []
    for o in outs:
        shape = (xs[0].shape[0],) + tuple(b.type(o.name).shape[1:])
        r = b.const(rng.standard_normal(shape))
        terms.append(b.op("ReduceSum", [b.op("Mul", [o.name, r])], keepdims=0))
    loss = terms[0] if len(terms) == 1 else b.op("Sum", terms)
    weights = [w for w in model.trainable_weights if id(w) in tracer._vars]
    free = [i for i, x in enumerate(xs) if x.dtype.kind == "f" and i not in fixed]
    wrt = [tracer._vars[id(w)] for w in weights] + [ins[i].name for i in free]
    grads = autodiff(b.g, loss, wrt)
    b.output(loss, *[grads[v] for v in wrt])
    exe = graphc.compile(b.g)
    analytic = exe.run(xs)[1:]
    eps = 1e-6
    targets = [w.value for w in weights] + [xs[i] for i in free]
    from graphc.runtime.weights import weights_changed

    def run_with(arr, i, value):
        arr[i] = value
        weights_changed()  # buffers written directly: the cached weight-only ops (gc_prologue) rerun
        return exe.run(xs)[0]
    for arr, grad in zip(targets, analytic):
        num = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            num[i] = (run_with(arr, i, old + eps) - run_with(arr, i, old - eps)) / (2 * eps)
            run_with(arr, i, old)
        assert_close(grad, num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make,steps", [
    (lambda: layers.LSTM(2, return_sequences=True), 1),
    (lambda: layers.LSTM(2, go_backwards=True), 3),
    (lambda: layers.GRU(2, return_sequences=True), 2),
    (lambda: layers.GRU(2, reset_after=False), 1),
    (lambda: layers.SimpleRNN(2, return_sequences=True, go_backwards=True), 3),
    (lambda: layers.Bidirectional(layers.LSTM(2)), 2),
])
def test_gradients_match_finite_differences(path, float64, make, steps):
    layer = make()
    model = keras.Sequential([keras.Input((steps, 2)), layer])
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.6, w.shape) for w in model.get_weights()])
    _fd_check(model, [rng.standard_normal((1, steps, 2))])


def test_gradients_with_mask_and_initial_state(path, float64):
    x_in, m_in, h_in = keras.Input((3, 2)), keras.Input((3,)), keras.Input((2,))
    out = layers.GRU(2, return_sequences=True)(x_in, mask=m_in, initial_state=[h_in])
    model = keras.Model([x_in, m_in, h_in], out)
    rng = np.random.default_rng(2)
    model.set_weights([rng.normal(0, 0.6, w.shape) for w in model.get_weights()])
    mask = np.array([[1.0, 0.0, 1.0]])  # no gradient w.r.t. the mask (as Keras's boolean masks)
    _fd_check(model, [rng.standard_normal((1, 3, 2)), mask, rng.standard_normal((1, 2))], fixed=(1,))


def test_lstm_learns_a_noisy_sine_wave():
    rng = np.random.default_rng(0)
    t = np.arange(1600) * 0.1
    series = np.sin(t) + 0.1 * rng.standard_normal(t.size)
    window = 12
    x = np.stack([series[i:i + window] for i in range(t.size - window)])[..., None].astype(np.float32)
    y = series[window:].astype(np.float32)[:, None]
    cut = int(0.8 * len(x))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((window, 1)), layers.LSTM(16), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(x[:cut], y[:cut], epochs=8, batch_size=32, verbose=0)
    mse = float(np.mean((model.predict(x[cut:], verbose=0) - y[cut:]) ** 2))
    assert mse < 0.1 * float(np.var(y[cut:])), (mse, float(np.var(y[cut:])))


def test_conv_lstm2d_gradients_match_finite_differences(float64):
    model = keras.Sequential([keras.Input((2, 3, 3, 1)), layers.ConvLSTM2D(1, 2, padding="same")])
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 0.6, w.shape) for w in model.get_weights()])
    _fd_check(model, [rng.standard_normal((1, 2, 3, 3, 1))])
