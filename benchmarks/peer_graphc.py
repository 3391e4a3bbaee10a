"""graphc: training (fit), inference, latency, compile times, per-call overhead; exports ONNX for onnxruntime.

Run by benchmarks/run.py in its own process (pinned and with GRAPHC_NUM_THREADS set by the parent).
``--workload gemm`` times graphc's MatMul at the GEMM reference shapes instead.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from common import (GEMM_CALLS, MARK, emit, gflops, latency_calls, measure_inference, median_time, parse_args,
                    train_rate)
from workloads import GEMM_SHAPES, INFER_BATCH, data, keras_model, spec, train_flops_per_sample


def build(name):
    from graphc import keras
    return keras_model(name, keras)


def _compile_step(m, y):
    """Seconds (wall, CPU) to build the train step: lowering, passes, LLVM (or the disk cache), JIT load."""
    from graphc.keras.models.training import step_program
    t, c = time.perf_counter(), time.process_time()
    prog, _ = step_program(m, [y], True)
    return time.perf_counter() - t, time.process_time() - c, prog.exe.compiled.from_cache


def _overhead(exe, inputs, full, calls):
    """(median seconds of ``full()``, median seconds of the bare native call on ``inputs``), the two timed
    alternately so that load drifting during the measurement hits both alike (timed one after the other,
    the difference came out negative under load). One ``run`` fills the pointer table; ``inputs`` and
    the returned outputs stay referenced while the table points at them."""
    keep = exe.run(inputs)
    _, dims = exe.validate(inputs)
    bnd = exe.binding(dims)
    fn, table, d = exe._fn, bnd.table_ptr, bnd.dims_ptr
    a, b = [], []
    for i in range(calls + 5):
        t = time.perf_counter()
        full()
        t1 = time.perf_counter()
        fn(table, d)
        t2 = time.perf_counter()
        if i >= 5:  # warm-up
            a.append(t1 - t)
            b.append(t2 - t1)
    del keep
    return statistics.median(a), statistics.median(b)


def workload(args):
    s = spec(args.workload, args.quick)
    b = s["batch"]
    x, y = data(s)
    out = {"peer": "graphc", "workload": s["name"], "threads": args.threads}
    workdir = args.workdir or tempfile.mkdtemp()
    m = build(s["name"])
    # cold: a fresh process and an empty disk cache; warm: another fresh process on the filled cache
    # (a fresh process as when a script is rerun: auto layer names, thus the cache key, restart there)
    for kind in ("cold", "warm"):
        child = subprocess.run([sys.executable, __file__, "--workload", s["name"], "--threads", str(args.threads),
                                "--workdir", workdir, "--compile-only"], capture_output=True, text=True, check=True)
        r = json.loads([ln for ln in child.stdout.splitlines() if ln.startswith(MARK)][-1][len(MARK):])
        out[f"compile_{kind}_s"], out[f"compile_{kind}_cpu_s"], out[f"compile_{kind}_hit"] = r["compile"]

    def epoch(i):
        m.fit(x, y, batch_size=b, epochs=1, verbose=0, shuffle=True)
    out.update(train_rate(epoch, len(x), args.quick))
    out["train_gflops"] = gflops(train_flops_per_sample(s["name"]) * out["train_samples_per_s"], 1.0)
    prog = next(iter(m._train_programs.values()))
    out["memory"] = prog.exe.memory_report((b,))

    xi = data(s, n=max(INFER_BATCH * (4 if args.quick else 16), INFER_BATCH), seed=1)[0]
    measure_inference(out, s["name"], m.predict_on_batch, xi, INFER_BATCH, args.quick)
    x1 = xi[:1]
    # per-call overhead: what a one-sample predict / train_on_batch costs above its bare native call
    full, native = _overhead(m._executable(), [x1], lambda: m.predict_on_batch(x1), latency_calls(args.quick))
    out["predict1_native_s"], out["predict1_overhead_s"] = native, full - native
    xt1, y1, sw1 = x[:1], y[:1], np.ones(1, np.float32)
    full, native = _overhead(prog.exe, [xt1, y1, sw1], lambda: m.train_on_batch(xt1, y1), latency_calls(args.quick))
    out["train1_s"], out["train1_native_s"], out["train1_overhead_s"] = full, native, full - native
    if args.onnx:
        from graphc import onnx as gonnx
        gonnx.export(m, args.onnx)
        out["onnx"] = args.onnx
    return out


def gemm(args):
    import graphc
    from graphc.ir import GraphBuilder
    out = {"peer": "graphc", "workload": "gemm", "threads": args.threads}
    rng = np.random.default_rng(0)
    for (mm, k, n) in GEMM_SHAPES:
        gb = GraphBuilder(name=f"gemm_{mm}x{k}x{n}")
        a = gb.input("a", "float32", ("N", k))
        w = gb.param("w", "float32", (k, n))
        gb.g.value(w).data = rng.standard_normal((k, n), dtype=np.float32)
        gb.output(gb.op("MatMul", [a, w]))
        exe = graphc.compile(gb.g)
        av = rng.standard_normal((mm, k), dtype=np.float32)
        np.testing.assert_allclose(exe.run([av])[0], av @ gb.g.value(w).data, rtol=2e-3, atol=2e-3)
        t = median_time(lambda: exe.run([av]), 3 if args.quick else GEMM_CALLS, warmup=2)
        out[f"gemm_{mm}x{k}x{n}_gflops"] = gflops(2.0 * mm * k * n, t)
    return out


def main():
    args = parse_args([(("--compile-only",), dict(action="store_true"))])
    if args.workload != "gemm" and args.workdir:
        os.environ["GRAPHC_CACHE_DIR"] = os.path.join(args.workdir, "graphc-cache")  # empty at first: cold
    if args.compile_only:
        s = spec(args.workload)
        emit({"compile": _compile_step(build(s["name"]), data(s, n=s["batch"])[1])})
        return
    if args.workload == "gemm":
        emit(gemm(args))
        return
    emit(workload(args))


if __name__ == "__main__":
    main()
