"""Keras 3 on JAX peer (the compiled-train-step peer): jit-compiled ``fit``, ``predict_on_batch``.

Runs under the Keras interpreter given to run.py (``KERAS_PY``), with KERAS_BACKEND=jax and, for one
thread, XLA's single-thread flags set by the parent before JAX starts.
"""
from __future__ import annotations

import time

from common import emit, gflops, infer_rate, latency_calls, median_time, parse_args, train_rate
from workloads import CNN_PARAMS, INFER_BATCH, data, infer_flops_per_sample, spec, train_flops_per_sample


def build(name, keras):
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
    m.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=True,
              loss="categorical_crossentropy" if s["loss"] == "cce" else "mse")
    return m


def main():
    args = parse_args()
    import jax
    import keras
    s = spec(args.workload, args.quick)
    b = s["batch"]
    x, y = data(s)
    m = build(s["name"], keras)
    out = {"peer": "keras-jax", "workload": s["name"], "threads": args.threads,
           "version": f"keras {keras.__version__}, jax {jax.__version__}"}
    t = time.perf_counter()
    m.train_on_batch(x[:b], y[:b])  # traces and XLA-compiles the train step (no persistent cache)
    out["compile_cold_s"] = time.perf_counter() - t

    def epoch(i):
        m.fit(x, y, batch_size=b, epochs=1, verbose=0, shuffle=True)
    out.update(train_rate(epoch, len(x), args.quick))
    out["train_gflops"] = gflops(train_flops_per_sample(s["name"]) * out["train_samples_per_s"], 1.0)
    xi = data(s, n=INFER_BATCH * (4 if args.quick else 16), seed=1)[0]
    out["infer_samples_per_s"] = infer_rate(m.predict_on_batch, xi, INFER_BATCH, args.quick)
    out["infer_gflops"] = gflops(infer_flops_per_sample(s["name"]) * out["infer_samples_per_s"], 1.0)
    x1 = xi[:1]
    out["latency_s"] = median_time(lambda: m.predict_on_batch(x1), latency_calls(args.quick))
    emit(out)


if __name__ == "__main__":
    main()
