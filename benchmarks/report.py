"""Turn benchmarks/results/latest.json into the ratio table, and put it in the README between markers.

    python benchmarks/report.py [results.json]      # regenerates latest.md and the README section

Every ratio is a speed-up of graphc over the best peer in the same run, so > 1 means graphc is
faster: rates are graphc / best peer, times are best peer / graphc.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- benchmark:begin (benchmarks/report.py writes this section) -->", "<!-- benchmark:end -->"
TRAIN_PEERS = ("torch", "keras-jax")
INFER_PEERS = ("torch", "keras-jax", "onnxruntime")


def _ok(r):
    return isinstance(r, dict) and "error" not in r and r.get("available", True)


def _best(row, peers, key, higher=True):
    vals = [(row[p][key], p) for p in peers if _ok(row.get(p)) and row[p].get(key) is not None]
    if not vals:
        return None, None
    return (max if higher else min)(vals)


def _num(v, unit=""):
    if v is None:
        return "—"
    if unit == "us":
        return f"{v * 1e6:,.0f} µs"
    if unit == "s":
        return f"{v:.2f} s"
    if unit == "gf":
        return f"{v:,.1f} GFLOP/s"
    return f"{v:,.0f}"


def _why(r):
    if r is None:
        return "not run"
    if "error" in r:
        return "error"
    return "not available" if not r.get("available", True) else None


def _cells(rows, workload, key, peers, unit, higher, threads):
    out = []
    for t in threads:
        row = rows.get(str(t), {}).get(workload, {})
        g = row.get("graphc")
        why = _why(g)
        gv = None if why else g.get(key)
        pv, pn = _best(row, peers, key, higher)
        ratio = None if gv is None or pv is None or not gv or not pv else (gv / pv if higher else pv / gv)
        out += [why or _num(gv, unit), f"{_num(pv, unit)} ({pn})" if pn else "—",
                f"**{ratio:.2f}×**" if ratio is not None else "—"]
    return out


def table(doc) -> str:
    rows, threads = doc["results"], doc["threads"]
    m = doc["machine"]
    head = ["workload", "figure"]
    for t in threads:
        head += [f"graphc {t}T", f"best peer {t}T", f"ratio {t}T"]
    lines = [f"Measured {doc['date']} on {m.get('cpu', '?')} ({m.get('cpus')} CPUs, {', '.join(m.get('simd', []))}), "
             f"{'QUICK smoke run (small epochs; numbers are rough)' if doc.get('quick') else 'full run'}. "
             "Ratio = speed-up of graphc over the best peer (> 1: graphc faster). 1T rows are pinned to one CPU.",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    workloads = [w for w in next(iter(rows.values()), {}) if w != "gemm"]
    for w in workloads:
        lines.append("| " + " | ".join([w, "train samples/s"] + _cells(rows, w, "train_samples_per_s", TRAIN_PEERS,
                                                                          "", True, threads)) + " |")
        lines.append("| " + " | ".join([w, "train samples per CPU-second (load-robust)"] + _cells(
            rows, w, "train_samples_per_cpu_s", TRAIN_PEERS, "", True, threads)) + " |")
        lines.append("| " + " | ".join([w, "inference samples/s (batch 256)"] + _cells(
            rows, w, "infer_samples_per_s", INFER_PEERS, "", True, threads)) + " |")
        lines.append("| " + " | ".join([w, "latency (batch 1)"] + _cells(rows, w, "latency_s", INFER_PEERS, "us",
                                                                          False, threads)) + " |")
        lines.append("| " + " | ".join([w, "compile, cold (peer: Keras-JAX first step)"] + _cells(
            rows, w, "compile_cold_s", ("keras-jax",), "s", False, threads)) + " |")
        cells = []
        for t in threads:
            g = rows.get(str(t), {}).get(w, {}).get("graphc")
            cells += ["—" if _why(g) else _num(g.get("compile_warm_s"), "s"), "target < 0.20 s", "—"]
        lines.append("| " + " | ".join([w, "compile, warm (disk cache)"] + cells) + " |")
        cells = []
        for t in threads:
            r = rows.get(str(t), {})
            g, sg = r.get(w, {}).get("graphc"), r.get("gemm", {}).get("numpy")
            gv = None if _why(g) else g.get("train_gflops")
            sv = sg.get("gemm_256x784x512_gflops") if _ok(sg) else None
            cells += [_num(gv, "gf"), f"{_num(sv, 'gf')} (numpy sgemm)" if sv else "—",
                      f"**{gv / sv:.2f}×**" if gv and sv else "—"]
        lines.append("| " + " | ".join([w, "train step GFLOP/s vs sgemm (roofline)"] + cells) + " |")
    for key, label in (("gemm_256x784x512_gflops", "GEMM 256×784×512"), ("gemm_1024x1024x1024_gflops", "GEMM 1024³")):
        cells = []
        for t in threads:
            r = rows.get(str(t), {}).get("gemm", {})
            g, n = r.get("graphc"), r.get("numpy")
            gv = g.get(key) if _ok(g) else None
            nv = n.get(key) if _ok(n) else None
            cells += [_num(gv, "gf"), f"{_num(nv, 'gf')} (numpy)" if nv else "—",
                      f"**{gv / nv:.2f}×**" if gv and nv else "—"]
        lines.append("| " + " | ".join(["gemm", label] + cells) + " |")
    lines += ["", "graphc per-call overhead (median time above the bare native call, batch 1) and arena plan "
              "(training graph, batch of the workload):", "",
              "| workload | threads | predict(1 sample) | train_on_batch(1 sample) | arena planned / peak-live bound |",
              "|---|---|---|---|---|"]
    for t in threads:
        for w in workloads:
            g = rows.get(str(t), {}).get(w, {}).get("graphc")
            if _why(g):
                continue
            mem = g.get("memory") or {}
            arena = (f"{mem['arena_bytes'] / 2**20:.1f} MiB / {mem['peak_live_bytes'] / 2**20:.1f} MiB "
                     f"({mem['ratio_to_bound']:.2f}×; {mem['unshared_bytes'] / 2**20:.1f} MiB unshared)") if mem else "—"
            lines.append(f"| {w} | {t} | {_num(g.get('predict1_overhead_s'), 'us')} "
                         f"(native {_num(g.get('predict1_native_s'), 'us')}) | {_num(g.get('train1_overhead_s'), 'us')} "
                         f"(native {_num(g.get('train1_native_s'), 'us')}) | {arena} |")
    missing = sorted({f"{p}/{w}: {r.get('reason') or r.get('error')}" for t in threads
                      for w, row in rows.get(str(t), {}).items() for p, r in row.items() if not _ok(r)})
    if missing:
        lines += ["", "Not measured: " + "; ".join(missing)]
    return "\n".join(lines) + "\n"


def write(doc, md_path=None, readme=None) -> str:
    text = table(doc)
    if md_path is not None:
        _atomic(Path(md_path), text)
    if readme is not None and Path(readme).exists():
        src = Path(readme).read_text()
        block = f"{BEGIN}\n{text}{END}"
        if BEGIN in src and END in src:
            src = src[:src.index(BEGIN)] + block + src[src.index(END) + len(END):]
        else:
            src = src.rstrip("\n") + "\n\n## Benchmarks\n\n`make bench` (see benchmarks/run.py).\n\n" + block + "\n"
        _atomic(Path(readme), src)
    return text


def _atomic(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results" / "latest.json"
    doc = json.loads(src.read_text())
    print(write(doc, src.with_suffix(".md"), HERE.parent / "README.md"))
