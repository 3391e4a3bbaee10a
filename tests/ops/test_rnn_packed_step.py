"""The packed recurrent products of the RNN/LSTM time loops (codegen/kernels/rnn_step.py): R (and,
from 4 batch rows on, W) packed once per call into column panels, register-tiled rows.

Shapes cross every edge of the kernel: batch 1, 3, 7 and 9 (one full row tile of 8 plus a
remainder on AVX-512), hidden 1, 13, 33 and 64 (partial, several and exactly full panels of
32 float32 / 16 float64 columns), one time step. Forward against onnxruntime and
onnx.reference, BPTT (whose ``da R`` product uses the kernel too) against float64 central
differences, and a model big enough for the thread split gives bit-identical results on 1 and 2
threads.
"""
import numpy as np
import pytest

from graphc import keras
from graphc.codegen.kernels.rnn_step import packed_size, panel_lanes
from test_grad_rnn import check, grad_inputs
from test_rnn import check_rnn, make_inputs

SHAPES = [  # (T, B, I, H)
    (3, 1, 5, 64),
    (1, 3, 4, 13),
    (4, 7, 3, 1),
    (2, 9, 2, 33),
    (2, 1, 16, 64),
    (1, 9, 3, 64),
]


@pytest.mark.parametrize("cell", ["RNN", "LSTM"])
@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_packed_step_forward(cell, shape, dtype):
    T, B, I, H = shape
    oracles = ("ort", "ref") if dtype == "float32" else ("ref",)  # onnxruntime's RNN ops are float32 only
    check_rnn(cell, make_inputs(cell, T, B, I, H, h0=True, c0=True, dtype=dtype, seed=H), dict(hidden_size=H),
              oracles=oracles, rtol=1e-5 if dtype == "float32" else 1e-9, atol=2e-6 if dtype == "float32" else None)


@pytest.mark.parametrize("cell", ["RNN", "LSTM"])
@pytest.mark.parametrize("B", [2, 5])
def test_packed_step_layout_1(cell, B):
    """Batch-major X: a step's rows of X (x_t W^T inside the loop from 4 rows on) are T*I apart."""
    ins = make_inputs(cell, 3, B, 4, 13, layout=1, h0=True, c0=True, seed=B)
    check_rnn(cell, ins, dict(hidden_size=13, layout=1), oracles=("ref",), atol=2e-6)  # no layout 1 in onnxruntime


@pytest.mark.parametrize("cell,direction", [("RNN", "reverse"), ("LSTM", "bidirectional")])
def test_packed_step_directions_and_lengths(cell, direction):
    """A reverse direction with sequence_lens accumulates into a zeroed per-step buffer instead of XW."""
    ins = make_inputs(cell, 4, 9, 3, 17, direction=direction, lens=[4, 1, 0, 3, 4, 2, 4, 4, 1], h0=True, seed=3)
    check_rnn(cell, ins, dict(hidden_size=17, direction=direction), oracles=("ort",), atol=2e-6)


@pytest.mark.parametrize("cell,shape", [("RNN", (2, 9, 2, 17)), ("LSTM", (2, 3, 2, 9)), ("LSTM", (1, 1, 1, 5))],
                         ids=str)
def test_packed_step_gradients(cell, shape):
    T, B, I, H = shape
    check(cell, grad_inputs(cell, T, B, I, H, seed=4), dict(hidden_size=H))


def test_packed_size_covers_both_dtypes():
    for K, N in [(1, 1), (13, 52), (64, 256), (33, 33)]:
        for dtype in ("float32", "float64"):
            np_ = panel_lanes(dtype)
            assert packed_size(K, N) >= -(-N // np_) * np_ * K


def train_lstm(threads, monkeypatch, seed, steps_inputs, units, lr):
    """Weights and predictions of LSTM(units) -> Dense(1) after two SGD steps on a batch of 64 sequences
    of shape ``steps_inputs``, with GRAPHC_NUM_THREADS = ``threads`` (also tests/ops/test_rnn_weight_grads.py)."""
    monkeypatch.setenv("GRAPHC_NUM_THREADS", str(threads))
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([keras.Input(steps_inputs), keras.layers.LSTM(units), keras.layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64,) + steps_inputs).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    m.train_on_batch(x, y)
    m.train_on_batch(x, y)
    return m.get_weights(), m.predict(x, batch_size=64, verbose=0)


def test_packed_step_identical_on_1_and_2_threads(monkeypatch):
    # batch 64, 32 units: h R^T and da R are 64 x 128 x 32 and 64 x 32 x 128, both split across threads
    w1, p1 = train_lstm(1, monkeypatch, 3, (5, 3), 32, 0.5)
    w2, p2 = train_lstm(2, monkeypatch, 3, (5, 3), 32, 0.5)
    assert np.array_equal(p1, p2)
    for a, b in zip(w1, w2):
        assert np.array_equal(a, b)
