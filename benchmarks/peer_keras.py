"""Keras 3 on JAX peer (the compiled-train-step peer): jit-compiled ``fit``, ``predict_on_batch``.

Runs under the Keras interpreter given to run.py (``KERAS_PY``), with KERAS_BACKEND=jax and, for one
thread, XLA's single-thread flags set by the parent before JAX starts.
"""
from __future__ import annotations

import time

from common import emit, gflops, measure_inference, parse_args, train_rate
from workloads import INFER_BATCH, data, keras_model, spec, train_flops_per_sample


def build(name, keras):
    return keras_model(name, keras, jit_compile=True)


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
    measure_inference(out, s["name"], m.predict_on_batch, xi, INFER_BATCH, args.quick)
    emit(out)


if __name__ == "__main__":
    main()
