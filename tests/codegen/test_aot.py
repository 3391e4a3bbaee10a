"""graphc compile's library (codegen/aot.py): every fixture model built into a .so agrees with predict;
the C example links it with the system C compiler; run() rejects bad arguments with an error code."""
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnx.helper as oh
import pytest

import graphc
import keras_models
from graphc import keras
from graphc.codegen import aot
from graphc.errors import CompileError, GraphError
from harness import assert_close
from parity_models import as_list

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "c"
needs_cc = pytest.mark.skipif(not any(shutil.which(c) for c in ("cc", "gcc", "clang")), reason="no C compiler")


def _model(name, seed=0):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    builder, shapes = keras_models.MODELS[name]
    model = builder(keras)
    rng = np.random.default_rng(seed)
    for w in model.weights:  # non-trivial biases and BatchNormalization statistics
        if "variance" in w.name:
            w.assign(rng.random(w.shape).astype(w.dtype) + 0.5)
        elif w.name in ("bias", "beta", "gamma", "moving_mean"):
            w.assign(rng.standard_normal(w.shape).astype(w.dtype) * 0.3)
    return model, shapes if isinstance(shapes, list) else [shapes]


def _inputs(model, shapes, batch, rng):
    return [rng.integers(0, 10, (batch,) + tuple(s)).astype(t.dtype) if "int" in t.dtype else
            rng.standard_normal((batch,) + tuple(s)).astype(np.float32) for s, t in zip(shapes, model.inputs)]


@needs_cc
@pytest.mark.parametrize("name", sorted(keras_models.MODELS))
def test_every_fixture_model_as_a_shared_library_matches_predict(name, tmp_path):
    model, shapes = _model(name)
    _, g = graphc.inference_graph(model)
    extra = {s: 64 for s in g.symbols() if s != "N"}  # other run-time lengths (seq_dense's time axis)
    lib = aot.build_library(g, tmp_path / f"{name}.so", opt_level=2, max_batch=4, dims=extra)
    native = lib.load()
    rng = np.random.default_rng(1)
    # 9 > max_batch runs in chunks when the batch is the only run-time size (else it is a bound)
    for batch in (1, 9 if lib.signature.chunked else 4):
        xs = _inputs(model, shapes, batch, rng)
        want = as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        got = native(*xs)
        for k, (a, b) in enumerate(zip(got, want)):
            assert_close(a, b, rtol=1e-5, what=f"{name} batch {batch} output {k}")
    native.close()


def _run_c_example(lib_path, header, inputs: np.ndarray, tmp_path):
    """Compile examples/c/main.c against ``model.so``/``model.h`` with the system cc and run it."""
    work = tmp_path / "c"
    work.mkdir()
    shutil.copy(lib_path, work / "model.so")
    shutil.copy(header, work / "model.h")
    cc = aot.find_c_compiler()
    subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(work / "run_model"), str(EXAMPLE / "main.c"),
                    f"-I{work}", str(work / "model.so"), "-Wl,-rpath,$ORIGIN"], check=True, capture_output=True)
    np.savetxt(work / "input.txt", inputs.reshape(len(inputs), -1), fmt="%.9g")
    res = subprocess.run([str(work / "run_model"), str(work / "input.txt")], capture_output=True, text=True,
                         cwd=work, env={k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"})
    assert res.returncode == 0, res.stderr
    return np.loadtxt(res.stdout.splitlines(), dtype=np.float32, ndmin=2)


@needs_cc
@pytest.mark.parametrize("fmt", ["h5", "onnx"])
@pytest.mark.parametrize("name", ["churn_mlp", "mnist_cnn"])
def test_c_program_links_the_library_and_matches_predict(name, fmt, tmp_path):
    from graphc.cli import load_model_file
    model, shapes = _model(name)
    path = tmp_path / f"{name}.{fmt}"
    model.save(str(path)) if fmt == "h5" else model.export(str(path))
    _, g = graphc.inference_graph(load_model_file(path))
    lib = aot.build_library(g, tmp_path / "model.so", name="model", source=str(path))
    x = _inputs(model, shapes, 70, np.random.default_rng(2))[0]  # 70 > the default max batch (64): two chunks
    got = _run_c_example(lib.path, lib.header, x, tmp_path)
    assert_close(got, model.predict(x, verbose=0), rtol=1e-5, what=f"{name} from .{fmt} through C")


@needs_cc
def test_static_shapes_onnx_and_library_dependencies(tmp_path):
    """An ONNX model with a fixed batch: run() takes no batch argument; the .so needs only libc/libm."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    graph = oh.make_graph([oh.make_node("MatMul", ["x", "w"], ["h"]), oh.make_node("Tanh", ["h"], ["y"])], "static",
                          [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 4])],
                          [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 3])],
                          [onnx.numpy_helper.from_array(w, "w")])
    path = tmp_path / "static.onnx"
    onnx.save(oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)]), str(path))
    m = graphc.onnx.load(str(path))
    _, g = graphc.inference_graph(m)
    lib = aot.build_library(g, tmp_path / "model.so", name="model")
    text = lib.header.read_text()
    assert "int gc_model_run(gc_model_ctx *ctx, const float *in0, float *out0);" in text
    assert "MAX_BATCH" not in text
    x = rng.standard_normal((2, 4)).astype(np.float32)
    assert_close(lib.load()(x)[0], np.tanh(x @ w), rtol=1e-5)
    got = _run_c_example(lib.path, lib.header, np.stack([x, 2 * x]), tmp_path)  # two whole inputs, two calls
    assert_close(got.reshape(2, 2, 3), np.stack([np.tanh(x @ w), np.tanh(2 * x @ w)]), rtol=1e-5)
    dyn = subprocess.run(["readelf", "-dW", str(lib.path)], capture_output=True, text=True).stdout
    needed = {line.split("[")[1].rstrip("]") for line in dyn.splitlines() if "(NEEDED)" in line}
    assert needed <= {"libc.so.6", "libm.so.6"}, needed
    assert "(SONAME)" in dyn and "[model.so]" in dyn
    syms = subprocess.run(["nm", "-D", "--defined-only", str(lib.path)], capture_output=True, text=True).stdout
    assert sorted(line.split()[-1] for line in syms.splitlines() if " T " in line) == \
        ["gc_model_create", "gc_model_destroy", "gc_model_run"]


@needs_cc
def test_run_rejects_bad_arguments_with_error_codes(tmp_path):
    model, shapes = _model("embedding_classifier")  # an int32 id input with a valid range [0, 50)
    _, g = graphc.inference_graph(model)
    lib = aot.build_library(g, tmp_path / "emb.so", name="emb", max_batch=8, opt_level=1)
    native = lib.load()
    ids = np.random.default_rng(4).integers(0, 50, (20, 6)).astype(np.int32)
    assert_close(native(ids)[0], model.predict(ids, verbose=0), rtol=1e-5)
    bad = ids.copy()
    bad[13, 2] = 50
    with pytest.raises(ValueError, match="ERR_INDEX"):
        native(bad)
    run, ctx = native._run, native._ctx
    out = np.empty((20, 3), np.float32)
    assert run(ctx, -1, ids.ctypes.data, out.ctypes.data) == aot.ERR_DIM
    assert run(ctx, 20, None, out.ctypes.data) == aot.ERR_ARG
    assert run(None, 20, ids.ctypes.data, out.ctypes.data) == aot.ERR_ARG
    assert run(ctx, 0, None, None) == aot.OK  # an empty batch needs no arrays
    assert "#define GC_EMB_ERR_INDEX 3" in lib.header.read_text()
    assert "values in [0, 50)" in lib.header.read_text()


@needs_cc
def test_symbols_other_than_the_batch_are_bounded_run_time_arguments(tmp_path):
    model, _ = _model("seq_dense")  # Input(shape=(None, 16)): batch N and a time axis
    _, g = graphc.inference_graph(model)
    with pytest.raises(GraphError, match=r"needs a maximum.*--dim d1=MAX"):
        aot.build_library(g, tmp_path / "s.so")
    with pytest.raises(GraphError, match="no such symbolic dimension"):
        aot.build_library(g, tmp_path / "s.so", dims={"T": 5, "d1": 5})
    lib = aot.build_library(g, tmp_path / "s.so", name="s", max_batch=3, dims={"d1": 5}, opt_level=1)
    assert not lib.signature.chunked
    text = lib.header.read_text()
    assert "int64_t batch, int64_t dim_d1" in text and "#define GC_S_MAX_DIM_D1 5" in text
    native = lib.load()
    rng = np.random.default_rng(5)
    for shape in ((3, 5, 16), (2, 1, 16), (1, 4, 16)):
        x = rng.standard_normal(shape).astype(np.float32)
        assert_close(native(x)[0], model.predict(x, verbose=0), rtol=1e-5)
    with pytest.raises(ValueError, match="ERR_DIM"):  # above the maxima the arena was sized for
        native(rng.standard_normal((4, 5, 16)).astype(np.float32))
    with pytest.raises(ValueError, match="ERR_DIM"):
        native(rng.standard_normal((1, 6, 16)).astype(np.float32))


@needs_cc
def test_generic_cpu_level_and_opt_levels(tmp_path):
    model, shapes = _model("mnist_cnn")
    _, g = graphc.inference_graph(model)
    x = _inputs(model, shapes, 3, np.random.default_rng(6))[0]
    want = model.predict(x, verbose=0)
    lib = aot.build_library(g, tmp_path / "v2.so", cpu="x86-64-v2", opt_level=0, name="v2")
    assert (lib.cpu, lib.features) == ("x86-64-v2", "")  # LLVM's features for the level, not the host's
    asm = aot.build_library(g, tmp_path / "v2.s", emit="asm", cpu="x86-64-v2", name="v2")
    assert "ymm" not in asm.path.read_text()  # no AVX on x86-64-v2
    assert_close(lib.load()(x)[0], want, rtol=1e-5)
    with pytest.raises(CompileError, match="not a CPU LLVM knows"):
        aot.build_library(g, tmp_path / "bad.so", cpu="pentium-9000")


def test_bad_arguments_are_clear_errors(tmp_path):
    model, _ = _model("churn_mlp")
    _, g = graphc.inference_graph(model)
    with pytest.raises(ValueError, match="C identifier"):
        aot.build_library(g, tmp_path / "x.so", name="2fast")
    with pytest.raises(ValueError, match="emit must be one of"):
        aot.build_library(g, tmp_path / "x.so", emit="exe")
    with pytest.raises(ValueError, match="opt_level"):
        aot.build_library(g, tmp_path / "x.so", opt_level=4)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        aot.build_library(g, tmp_path / "missing" / "x.so")
    with pytest.raises(ValueError, match="overwritten by its C header"):
        aot.build_library(g, tmp_path / "x.h", emit="obj")


def test_no_c_compiler_is_a_clear_error(tmp_path, monkeypatch):
    model, _ = _model("churn_mlp")
    _, g = graphc.inference_graph(model)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no cc, gcc or clang
    monkeypatch.delenv("CC", raising=False)
    with pytest.raises(CompileError, match="no C compiler found"):
        aot.build_library(g, tmp_path / "x.so")
    assert not (tmp_path / "x.so").exists()
    lib = aot.build_library(g, tmp_path / "x.o", emit="obj")  # an object needs no compiler
    assert lib.path.read_bytes()[:4] == b"\x7fELF" and lib.header.exists()
