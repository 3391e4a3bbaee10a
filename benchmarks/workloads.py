"""The benchmark workloads (issue 6 item 1), their synthetic data and their FLOP counts.

Only numpy is imported here: every peer (graphc, torch, Keras-JAX, onnxruntime) runs in its own
process and builds the same model from these specs, on the same data (same seed).
"""
from __future__ import annotations

import numpy as np

WORKLOADS = {
    # name: (input shape without batch, batch, samples per timed epoch, output units, loss)
    "mlp1": dict(input=(784,), batch=256, epoch=16384, out=10, loss="cce"),
    "mlp2": dict(input=(784,), batch=256, epoch=16384, out=10, loss="cce"),
    "cnn": dict(input=(28, 28, 1), batch=256, epoch=2048, out=10, loss="cce"),
    "lstm": dict(input=(50, 16), batch=128, epoch=4096, out=1, loss="mse"),
}
QUICK_EPOCH = {"mlp1": 2048, "mlp2": 2048, "cnn": 512, "lstm": 512}
INFER_BATCH = 256
GEMM_SHAPES = [(256, 784, 512), (1024, 1024, 1024)]  # (M, K, N): the MLP's first layer and a square one
CNN_PARAMS = 93322


def spec(name: str, quick: bool = False) -> dict:
    s = dict(WORKLOADS[name], name=name)
    if quick:
        s["epoch"] = QUICK_EPOCH[name]
    return s


def data(s: dict, n: int | None = None, seed: int = 0):
    """Synthetic N(0,1) inputs and random one-hot labels (or N(0,1) targets for MSE), float32, channels_last."""
    rng = np.random.default_rng(seed)
    n = s["epoch"] if n is None else n
    x = rng.standard_normal((n,) + s["input"], dtype=np.float32)
    if s["loss"] == "cce":
        y = np.eye(s["out"], dtype=np.float32)[rng.integers(0, s["out"], n)]
    else:
        y = rng.standard_normal((n, s["out"]), dtype=np.float32)
    return x, y


def _conv_out(h, k):
    return h - k + 1


def forward_layers(name: str):
    """(kind, flops per sample of the forward pass) for each weight layer, in order."""
    if name == "mlp1":
        return [("dense", 2 * 784 * 512), ("dense", 2 * 512 * 10)]
    if name == "mlp2":
        return [("dense", 2 * 784 * 512), ("dense", 2 * 512 * 512), ("dense", 2 * 512 * 10)]
    if name == "cnn":
        h1 = _conv_out(28, 3)            # 26 -> pool 13
        h2 = _conv_out(h1 // 2, 3)       # 11 -> pool 5
        h3 = _conv_out(h2 // 2, 3)       # 3
        return [("conv", 2 * 1 * 9 * 32 * h1 * h1), ("conv", 2 * 32 * 9 * 64 * h2 * h2),
                ("conv", 2 * 64 * 9 * 64 * h3 * h3), ("dense", 2 * 64 * h3 * h3 * 64), ("dense", 2 * 64 * 10)]
    if name == "lstm":
        return [("lstm", 50 * 2 * 4 * 64 * (16 + 64)), ("dense", 2 * 64)]
    raise KeyError(name)


def train_flops_per_sample(name: str) -> int:
    """Forward + backward multiply-adds (x2) per sample: forward, grad-weight, and grad-input of every
    layer but the first (no framework needs the gradient of the data). Elementwise work is not counted."""
    fl = [f for _, f in forward_layers(name)]
    return sum(fl) * 3 - fl[0]


def infer_flops_per_sample(name: str) -> int:
    return sum(f for _, f in forward_layers(name))


def keras_model(name: str, keras, **compile_kwargs):
    """The workload as a Keras model (graphc.keras or real Keras 3: the same tutorial code), compiled
    with Adam(1e-3) and the workload's loss; ``compile_kwargs`` go to ``compile`` (e.g. jit_compile)."""
    layers = keras.layers
    s = spec(name)
    if name == "mlp1":
        body = [layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")]
    elif name == "mlp2":
        body = [layers.Dense(512, activation="relu"), layers.Dense(512, activation="relu"),
                layers.Dense(10, activation="softmax")]
    elif name == "cnn":
        body = [layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
                layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")]
    else:
        body = [layers.LSTM(64), layers.Dense(1)]
    m = keras.Sequential([keras.Input(s["input"])] + body)
    if name == "cnn":
        assert m.count_params() == CNN_PARAMS, m.count_params()
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy" if s["loss"] == "cce" else "mse",
              **compile_kwargs)
    return m
