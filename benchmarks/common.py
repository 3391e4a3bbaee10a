"""Timing helpers shared by the peer scripts (numpy only; each peer runs in its own process)."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

MARK = "BENCH-RESULT "


def parse_args(extra=None):
    p = argparse.ArgumentParser()
    p.add_argument("--workload", default=None)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--onnx", default=None, help="ONNX file (onnxruntime peer)")
    p.add_argument("--workdir", default=None)
    for args, kw in extra or []:
        p.add_argument(*args, **kw)
    return p.parse_args()


def epochs(quick: bool) -> int:
    return 1 if quick else 5


def latency_calls(quick: bool) -> int:
    return 50 if quick else 500


def train_rate(run_epoch, n_samples: int, quick: bool) -> dict:
    """One warm-up epoch, then the median of the timed epochs (each shuffles its own order)."""
    run_epoch(0)
    times, cpu = [], []
    for e in range(epochs(quick)):
        t, c = time.perf_counter(), time.process_time()
        run_epoch(e + 1)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    # the CPU seconds of this process show how much of the wall time other load on the machine took
    return {"train_samples_per_s": n_samples / statistics.median(times), "train_epoch_s": times,
            "train_epoch_cpu_s": cpu, "train_samples_per_cpu_s": n_samples / statistics.median(cpu)}


# GEMM reference shapes: the median of this many calls (20 took 16 ms at 256x784x512, so one stall of the
# other vCPU could drag a 2-thread median down tenfold)
GEMM_CALLS = 100


def median_time(fn, calls: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def infer_rate(predict_batch, x: np.ndarray, batch: int, quick: bool, seconds: float = 2.0) -> float:
    """Samples/s of inference over ``x`` in batches of ``batch``: the median sweep over all of ``x``, repeated
    for about ``seconds`` (at least 5 sweeps) after a warm-up sweep. Five sweeps of the MLPs took 70 ms,
    so one scheduler hiccup moved the figure by several percent between otherwise identical runs."""
    n = len(x) - len(x) % batch
    chunks = [x[i:i + batch] for i in range(0, n, batch)]

    def sweep():
        for c in chunks:
            predict_batch(c)
    if quick:
        return n / median_time(sweep, 1, warmup=1)
    sweep()
    t = time.perf_counter()
    sweep()
    reps = max(5, min(500, int(seconds / max(time.perf_counter() - t, 1e-6))))
    return n / median_time(sweep, reps, warmup=0)


def measure_inference(out: dict, name: str, predict, x: np.ndarray, batch: int, quick: bool):
    """Fill ``out`` with inference samples/s at ``batch``, its GFLOP/s and the batch-1 latency of ``predict``."""
    from workloads import infer_flops_per_sample
    out["infer_samples_per_s"] = infer_rate(predict, x, batch, quick)
    out["infer_gflops"] = gflops(infer_flops_per_sample(name) * out["infer_samples_per_s"], 1.0)
    x1 = x[:1]
    out["latency_s"] = median_time(lambda: predict(x1), latency_calls(quick))


def emit(result: dict):
    """The parent reads the last line that starts with MARK."""
    sys.stdout.write(MARK + json.dumps(result) + "\n")
    sys.stdout.flush()


def gflops(flops: float, seconds: float) -> float:
    return flops / seconds / 1e9
