"""Run every workload on graphc and its peers, one process per (peer, workload, threads), and record it.

    python benchmarks/run.py [--quick] [--threads 1,2] [--workloads mlp1,cnn] [--keras-python PY]

One-thread rows pin every process to CPU 0 (``taskset -c 0``) and set every library's thread count
(GRAPHC_NUM_THREADS, OMP/OpenBLAS/MKL, torch.set_num_threads, ORT intra_op_num_threads, threadpoolctl,
XLA's single-thread flags); two-thread rows pin to CPUs 0-1. Results go to
benchmarks/results/latest.json and the ratio table to benchmarks/results/latest.md and the README
(benchmarks/report.py). Never part of ``make test``: it takes minutes and its numbers depend on the load.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import MARK  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for k in ("GRAPHC_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    env["KERAS_BACKEND"] = "jax"
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if threads == 1:
        env["XLA_FLAGS"] = XLA_ONE_THREAD
    else:
        env.pop("XLA_FLAGS", None)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def pin(threads: int) -> list[str]:
    if shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", "0" if threads == 1 else f"0-{threads - 1}"]


def run_peer(python, script, threads, extra, timeout, log):
    cmd = pin(threads) + [python, str(HERE / script), "--threads", str(threads)] + extra
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=thread_env(threads), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout}s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith(MARK)]
    log(f"  {script} {' '.join(extra[:2])} threads={threads}: {time.perf_counter() - t:.1f}s rc={p.returncode}")
    if p.returncode != 0 or not lines:
        tail = (p.stderr or p.stdout).strip().splitlines()[-6:]
        return {"error": f"rc={p.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1][len(MARK):])


def keras_available(python) -> str | None:
    """None if ``python`` can import keras with the JAX backend, else the reason."""
    if not python:
        return "no Keras interpreter given (make bench KERAS_PY=/path/to/python with keras + jax)"
    if not Path(python).exists():
        return f"{python} does not exist"
    p = subprocess.run([python, "-c", "import jax, keras"], env=thread_env(1), capture_output=True, text=True)
    return None if p.returncode == 0 else "keras/jax not importable: " + p.stderr.strip().splitlines()[-1]


def machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        text = Path("/proc/cpuinfo").read_text()
        for line in text.splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                info["simd"] = [f for f in ("avx2", "fma", "avx512f") if f in flags]
                break
    except OSError:
        info["cpu"] = platform.processor()
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small epochs, few repetitions: a smoke test")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--python", default=sys.executable, help="interpreter with graphc, torch, onnxruntime")
    ap.add_argument("--keras-python", default=os.environ.get("KERAS_PY", ""), help="interpreter with keras + jax")
    ap.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite the README section")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--all-peers", action="store_true", help="run the peers even where graphc has no result")
    args = ap.parse_args(argv)
    threads = [t for t in (int(s) for s in args.threads.split(",")) if t <= (os.cpu_count() or 1)]
    names = [w for w in args.workloads.split(",") if w]
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    keras_missing = keras_available(args.keras_python)
    if keras_missing:
        log(f"Keras-JAX peer not available: {keras_missing}")
    extra_q = ["--quick"] if args.quick else []
    results = {}
    with tempfile.TemporaryDirectory(prefix="graphc-bench-") as work:
        for t in threads:
            rows = results[str(t)] = {}
            log(f"threads={t}")
            for w in names:
                onnx_path = os.path.join(work, f"{w}-{t}.onnx")
                wd = os.path.join(work, f"{w}-{t}")
                os.makedirs(wd, exist_ok=True)
                row = rows[w] = {}
                row["graphc"] = run_peer(args.python, "peer_graphc.py", t, ["--workload", w, "--onnx", onnx_path,
                                                                              "--workdir", wd] + extra_q,
                                         args.timeout, log)
                if not row["graphc"].get("available", True) and not args.all_peers:
                    # no graphc figure to compare with: do not spend minutes on the peers (--all-peers does)
                    skip = {"available": False, "reason": "skipped: graphc has no result for this workload"}
                    row.update({"torch": skip, "keras-jax": skip, "onnxruntime": skip})
                    continue
                row["torch"] = run_peer(args.python, "peer_torch.py", t, ["--workload", w] + extra_q, args.timeout, log)
                row["keras-jax"] = ({"available": False, "reason": keras_missing} if keras_missing else
                                    run_peer(args.keras_python, "peer_keras.py", t, ["--workload", w] + extra_q,
                                             args.timeout, log))
                row["onnxruntime"] = (run_peer(args.python, "peer_ort.py", t, ["--workload", w, "--onnx", onnx_path]
                                               + extra_q, args.timeout, log) if os.path.exists(onnx_path) else
                                      {"available": False, "reason": "no graphc ONNX export for this workload"})
            rows["gemm"] = {"numpy": run_peer(args.python, "peer_numpy.py", t, extra_q, args.timeout, log),
                            "graphc": run_peer(args.python, "peer_graphc.py", t, ["--workload", "gemm"] + extra_q,
                                               args.timeout, log)}
    doc = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": machine(), "quick": args.quick, "threads": threads, "results": results}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, out)
    import report
    table = report.write(doc, out.with_suffix(".md"), None if args.no_readme else ROOT / "README.md")
    print(table)


if __name__ == "__main__":
    main()
