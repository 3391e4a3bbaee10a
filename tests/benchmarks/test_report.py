"""The benchmark report's arithmetic (the harness itself is never run by the test suite)."""
import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name):  # by path, under a private name: benchmarks/ is not a package and must not shadow modules
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


report, workloads = _load("report"), _load("workloads")


def _doc():
    mem = {"arena_bytes": 3 * 2**20, "peak_live_bytes": 3 * 2**20, "unshared_bytes": 5 * 2**20, "ratio_to_bound": 1.0}
    g = {"train_samples_per_s": 30000.0, "train_samples_per_cpu_s": 31000.0, "infer_samples_per_s": 90000.0,
         "latency_s": 20e-6, "compile_cold_s": 1.0, "compile_warm_s": 0.1, "train_gflops": 40.0, "memory": mem,
         "predict1_overhead_s": 4e-6, "predict1_native_s": 16e-6, "train1_overhead_s": 9e-6, "train1_native_s": 1e-4}
    row = {"graphc": g,
           "torch": {"train_samples_per_s": 20000.0, "infer_samples_per_s": 60000.0, "latency_s": 40e-6},
           "keras-jax": {"train_samples_per_s": 25000.0, "infer_samples_per_s": 50000.0, "latency_s": 80e-6,
                         "compile_cold_s": 4.0},
           "onnxruntime": {"infer_samples_per_s": 120000.0, "latency_s": 25e-6}}
    lstm = {"graphc": {"available": False, "reason": "graphc has no keras.layers.LSTM yet"},
            "torch": {"train_samples_per_s": 1000.0}, "keras-jax": {"error": "rc=1: boom"},
            "onnxruntime": {"available": False, "reason": "no graphc ONNX export for this workload"}}
    gemm = {"numpy": {"gemm_256x784x512_gflops": 80.0, "gemm_1024x1024x1024_gflops": 70.0},
            "graphc": {"gemm_256x784x512_gflops": 72.0, "gemm_1024x1024x1024_gflops": 77.0}}
    return {"date": "2026-11-23 23:00 UTC", "machine": {"cpu": "Test CPU", "cpus": 2, "simd": ["avx2"]},
            "quick": False, "threads": [1], "results": {"1": {"mlp1": row, "lstm": lstm, "gemm": gemm}}}


def test_ratios_are_speedups_over_the_best_peer():
    text = report.table(_doc())
    lines = {ln.split(" | ")[1]: ln for ln in text.splitlines() if ln.startswith("| mlp1 |")}
    assert "25,000 (keras-jax)" in lines["train samples/s"] and "**1.20×**" in lines["train samples/s"]
    assert "(onnxruntime)" in lines["inference samples/s (batch 256)"] and "**0.75×**" in lines[
        "inference samples/s (batch 256)"]
    assert "**1.25×**" in lines["latency (batch 1)"]  # 25 us / 20 us: lower latency is a speed-up
    assert "**4.00×**" in lines["compile, cold (peer: Keras-JAX first step)"]
    assert "**0.50×**" in lines["train step GFLOP/s vs sgemm (roofline)"]  # 40 / 80
    assert "| gemm | GEMM 256×784×512 | 72.0 GFLOP/s | 80.0 GFLOP/s (numpy) | **0.90×** |" in text
    assert "| lstm | train samples/s | not available | 1,000 (torch) | — |" in text
    assert "graphc/lstm: graphc has no keras.layers.LSTM yet" in text and "keras-jax/lstm: rc=1: boom" in text
    assert "3.0 MiB / 3.0 MiB (1.00×" in text


def test_readme_section_is_replaced_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nintro\n\n{report.BEGIN}\nold table\n{report.END}\n\n## After\nkept\n")
    report.write(_doc(), tmp_path / "latest.md", readme)
    text = readme.read_text()
    assert "old table" not in text and "Measured 2026-11-23 23:00 UTC on Test CPU" in text
    assert text.startswith("# x\n\nintro\n") and text.endswith("## After\nkept\n")
    assert (tmp_path / "latest.md").read_text() in text


def test_workload_flop_counts():
    # mlp1: forward 2*(784*512 + 512*10); training = 3x forward minus the first layer's input gradient
    fwd = 2 * (784 * 512 + 512 * 10)
    assert workloads.infer_flops_per_sample("mlp1") == fwd
    assert workloads.train_flops_per_sample("mlp1") == 3 * fwd - 2 * 784 * 512
    x, y = workloads.data(workloads.spec("cnn", quick=True))
    assert x.shape == (512, 28, 28, 1) and y.shape == (512, 10) and (y.sum(1) == 1).all()
