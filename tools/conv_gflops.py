"""GFLOP/s of graphc's Conv / ConvGradInput / ConvGradWeight kernels on the benchmark CNN's layers
(batch 256), best of repeated runs, this thread's CPU time with one thread (not a test).

    taskset -c 0 python tools/conv_gflops.py [--batch 256] [--threads 1]
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

LAYERS = [((1, 28, 28), (32, 1, 3, 3)), ((32, 13, 13), (64, 32, 3, 3)), ((64, 5, 5), (64, 64, 3, 3))]


def graph(op_type, ins, attrs, domain=""):
    from graphc.ir import GraphBuilder
    b = GraphBuilder(name=op_type)
    names = [b.input(n, "float32", shape) for n, shape in ins]
    b.output(b.op(op_type, names, domain=domain, **attrs))
    return b.g


def best(fn, reps, clock):
    fn()
    ts = []
    for _ in range(reps):
        t = clock()
        fn()
        ts.append(clock() - t)
    return min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    os.environ["GRAPHC_NUM_THREADS"] = str(a.threads)
    import graphc
    clock = time.thread_time if a.threads == 1 else time.perf_counter
    rng = np.random.default_rng(0)
    n = a.batch
    for xs, ws in LAYERS:
        out = tuple(d - 2 for d in xs[1:])
        macs = n * ws[0] * math.prod(out) * ws[1] * 9
        x = rng.standard_normal((n,) + xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        dy = rng.standard_normal((n, ws[0]) + out).astype(np.float32)
        ks = dict(kernel_shape=[3, 3])
        cases = [("Conv", graph("Conv", [("x", (n,) + xs), ("w", ws)], {}), [x, w]),
                 ("ConvGradInput", graph("ConvGradInput", [("dy", dy.shape), ("w", ws), ("x", x.shape)], ks, "graphc"),
                  [dy, w, x]),
                 ("ConvGradWeight", graph("ConvGradWeight", [("x", x.shape), ("dy", dy.shape)], ks, "graphc"), [x, dy])]
        for name, g, ins in cases:
            exe = graphc.compile(g)
            t = best(lambda: exe.run(ins), a.reps, clock)
            print(f"{name:15s} x{(n,) + xs} w{ws}: {2 * macs / t / 1e9:6.1f} GFLOP/s ({t * 1e3:.2f} ms)", flush=True)


if __name__ == "__main__":
    main()
