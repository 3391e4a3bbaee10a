"""The `graphc` command: `graphc compile` in every --emit mode, `graphc convert`, and clear errors for bad input."""
import re
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as llvm
import numpy as np
import pytest

click = pytest.importorskip("click")
from click.testing import CliRunner  # noqa: E402

from graphc import cli, keras  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)])
    m.save(str(d / "tiny.h5"))
    m.save(str(d / "tiny.keras"))
    m.export(str(d / "tiny.onnx"))
    return d, m


def invoke(*args):
    return CliRunner().invoke(cli._build_cli(), list(map(str, args)), catch_exceptions=False)


@pytest.mark.parametrize("fmt", ["h5", "keras", "onnx"])
def test_compile_so_with_header_from_every_model_format(fmt, model_files, tmp_path):
    d, m = model_files
    out = tmp_path / f"lib{fmt}.so"
    res = invoke("compile", d / f"tiny.{fmt}", "-o", out, "--name", f"tiny_{fmt}", "--max-batch", 3)
    assert res.exit_code == 0, res.output
    assert f"wrote {out}, {out.with_suffix('.h')}" in res.output
    header = out.with_suffix(".h").read_text()
    assert f"gc_tiny_{fmt}_ctx *gc_tiny_{fmt}_create(void);" in header
    assert f"int gc_tiny_{fmt}_run(gc_tiny_{fmt}_ctx *ctx, int64_t batch, const float *in0, float *out0);" in header
    assert f"#define GC_TINY_{fmt.upper()}_IN0_SHAPE {{-1, 6}}" in header
    assert f"#define GC_TINY_{fmt.upper()}_MAX_BATCH 3" in header
    assert out.read_bytes()[:4] == b"\x7fELF"
    import ctypes
    lib = ctypes.CDLL(str(out))
    # one function object each: CDLL[name] makes a fresh one (with default types) on every lookup
    create, run, destroy = (lib[f"gc_tiny_{fmt}_{f}"] for f in ("create", "run", "destroy"))
    create.restype = ctypes.c_void_p
    run.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p]
    destroy.argtypes = [ctypes.c_void_p]
    ctx = create()
    x = np.random.default_rng(0).standard_normal((7, 6)).astype(np.float32)
    y = np.empty((7, 2), np.float32)
    assert run(ctx, 7, x.ctypes.data, y.ctypes.data) == 0
    np.testing.assert_allclose(y, m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    destroy(ctx)


def test_emit_modes_and_default_output_names(model_files, tmp_path, monkeypatch):
    d, _ = model_files
    monkeypatch.chdir(tmp_path)  # the default output is MODEL's name in the current directory
    for emit in ("llvm-ir", "asm", "obj", "so"):
        res = invoke("compile", d / "tiny.h5", "--emit", emit, "-O", 1)
        assert res.exit_code == 0, res.output
    work = tmp_path
    names = sorted(p.name for p in work.iterdir())
    assert names == ["tiny.h", "tiny.ll", "tiny.o", "tiny.s", "tiny.so"]
    ir_text = (work / "tiny.ll").read_text()
    for f in ("create", "run", "destroy"):  # the entry points, defined (and gc_program inlined into run)
        assert re.search(rf"^define .*@gc_tiny_{f}\(", ir_text, re.M), f
    llvm.parse_assembly(ir_text).verify()  # the emitted IR is valid LLVM
    assert "gc_tiny_create:" in (work / "tiny.s").read_text()
    obj = (work / "tiny.o").read_bytes()
    assert obj[:4] == b"\x7fELF" and obj[16] == 1  # ET_REL: a relocatable object
    assert (work / "tiny.so").read_bytes()[16] == 3  # ET_DYN: a shared library


@pytest.mark.parametrize("args, message", [
    (["compile", "{d}/nothere.onnx"], "model file not found"),
    (["compile", "{d}/tiny.pb"], "unsupported model file extension '.pb'"),
    (["compile", "{d}/corrupt.onnx"], "not a valid ONNX model"),
    (["compile", "{d}/corrupt.h5"], "not a valid HDF5"),
    (["compile", "{d}/corrupt.keras"], "SerializationError"),
    (["compile", "{d}/tiny.h5", "--cpu", "pentium-9000"], "not a CPU LLVM knows"),
    (["compile", "{d}/tiny.h5", "--name", "9lives"], "C identifier"),
    (["compile", "{d}/tiny.h5", "--dim", "d1"], "expected SYMBOL=MAX"),
    (["compile", "{d}/tiny.h5", "--dim", "T=4"], "no such symbolic dimension"),
    (["compile", "{d}/tiny.h5", "-o", "{d}/no/such/dir/x.so"], "does not exist"),
    (["compile", "{d}/tiny.h5", "--emit", "exe"], "Invalid value for '--emit'"),
    (["compile", "{d}/tiny.h5", "--opt-level", "4"], "Invalid value for '--opt-level'"),
])
def test_errors_are_clear_and_write_nothing(args, message, model_files, tmp_path):
    d, _ = model_files
    (d / "tiny.pb").write_bytes(b"\x08\x01")
    (d / "corrupt.onnx").write_bytes(b"\xff\xff\xff\xff not protobuf")
    (d / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    (d / "corrupt.keras").write_bytes(b"PK\x03\x04 truncated zip")
    before = set(Path(d).rglob("*"))
    res = invoke(*[a.format(d=d) for a in args])
    assert res.exit_code != 0
    assert message in res.output, res.output
    assert "Traceback" not in res.output
    assert set(Path(d).rglob("*")) == before  # no partial library or header left behind


def test_console_entry_point_and_core_without_click(tmp_path):
    res = subprocess.run([sys.executable, "-m", "graphc", "compile", "--help"], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 0 and "--emit [llvm-ir|asm|obj|so]" in res.stdout
    # click is optional: graphc (and its AOT compiler) import without it, and the command says what is missing
    code = ("import sys; sys.modules['click'] = None\n"
            "import graphc, graphc.keras, graphc.onnx, graphc.codegen.aot\n"
            "from graphc import cli\n"
            "assert cli.main(['compile', '--help']) == 1\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "pip install 'graphc[cli]'" in res.stderr
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'graphc = "graphc.cli:main"' in pyproject


def test_convert_subcommand_round_trips_and_reports_errors(model_files, tmp_path):
    d, m = model_files
    res = invoke("convert", d / "tiny.h5", tmp_path / "t.onnx")
    assert res.exit_code == 0, res.output
    assert f"wrote {tmp_path / 't.onnx'}" in res.output
    res = invoke("convert", tmp_path / "t.onnx", tmp_path / "back.keras")
    assert res.exit_code == 0, res.output
    x = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    import onnxruntime as ort
    sess = ort.InferenceSession(str(tmp_path / "t.onnx"), providers=["CPUExecutionProvider"])
    want = m.predict(x, verbose=0)
    np.testing.assert_allclose(sess.run(None, {sess.get_inputs()[0].name: x})[0], want, rtol=1e-5, atol=1e-6)
    back = keras.models.load_model(str(tmp_path / "back.keras"))
    np.testing.assert_allclose(back.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    for args, message in ([d / "nothere.h5", tmp_path / "x.onnx"], "model file not found"), \
                         ([d / "tiny.h5", tmp_path / "x.pb"], "expected a file ending in"):
        res = invoke("convert", *args)
        assert res.exit_code != 0 and message in res.output, res.output
        assert "Traceback" not in res.output
