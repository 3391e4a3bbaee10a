"""numpy sgemm peer (OpenBLAS/MKL behind numpy, limited by threadpoolctl): the GEMM reference rate."""
from __future__ import annotations

import numpy as np

from common import GEMM_CALLS, emit, gflops, median_time, parse_args
from workloads import GEMM_SHAPES


def main():
    args = parse_args()
    from threadpoolctl import threadpool_info, threadpool_limits
    out = {"peer": "numpy", "workload": "gemm", "threads": args.threads, "version": np.__version__}
    with threadpool_limits(limits=args.threads):
        out["blas"] = [f"{i.get('internal_api')} {i.get('version')} threads={i.get('num_threads')}"
                       for i in threadpool_info()]
        rng = np.random.default_rng(0)
        for (m, k, n) in GEMM_SHAPES:
            a = rng.standard_normal((m, k), dtype=np.float32)
            b = rng.standard_normal((k, n), dtype=np.float32)
            c = np.empty((m, n), np.float32)
            t = median_time(lambda: np.matmul(a, b, out=c), 3 if args.quick else GEMM_CALLS, warmup=2)
            out[f"gemm_{m}x{k}x{n}_gflops"] = gflops(2.0 * m * k * n, t)
    emit(out)


if __name__ == "__main__":
    main()
