"""GFLOP/s of graphc's GEMM helper vs numpy (OpenBLAS), best of repeated runs (not a test).

    taskset -c 0 python tools/gemm_gflops.py [--threads N] [--dtype float32] [MxKxN ...]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from graphc.codegen.standalone import call_gemm as call, jit_gemm as build


def best(fn, reps, clock=time.perf_counter):
    """The fastest of ``reps`` runs. With one thread the clock is this thread's CPU time, so the
    time slices other processes take on a shared machine do not count."""
    fn()
    ts = []
    for _ in range(reps):
        t = clock()
        fn()
        ts.append(clock() - t)
    return min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shapes", nargs="*", default=["256x784x512", "1024x1024x1024", "784x256x512", "256x512x784"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--bits", type=int, default=None)
    a = ap.parse_args()
    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(a.threads)
    except ImportError:
        limit = None
    _, f = build(a.dtype, a.bits, nthreads=a.threads)
    rng = np.random.default_rng(0)
    for s in a.shapes:
        M, K, N = map(int, s.split("x"))
        A = rng.standard_normal((M, K)).astype(a.dtype)
        B = rng.standard_normal((K, N)).astype(a.dtype)
        C = np.zeros((M, N), a.dtype)
        flops = 2.0 * M * N * K
        clock = time.thread_time if a.threads == 1 else time.perf_counter
        tg = best(lambda: call(f, A, B, C), a.reps, clock)
        tn = best(lambda: np.matmul(A, B, out=C), a.reps, clock)
        print(f"M={M} K={K} N={N} {a.dtype} threads={a.threads}: graphc {flops / tg / 1e9:7.1f} GFLOP/s, "
              f"numpy {flops / tn / 1e9:7.1f} GFLOP/s, ratio {tn / tg:.2f}")
    del limit


if __name__ == "__main__":
    main()
