"""Accuracy of the recurrent cells' float32 tanh and sigmoid (kernels/rnn_acts.py) against numpy
in float64, compiled in a vectorized loop as the cell helpers are (and in float64, where the
cells keep ScalarEmitter's functions)."""
from __future__ import annotations

import ctypes

import numpy as np
import pytest
from llvmlite import ir

from graphc.codegen.kernel import PTR
from graphc.codegen.kernels import rnn_acts
from graphc.codegen.llvm import JIT, optimize, parse, target_machine
from graphc.codegen.loops import I64, for_range
from graphc.codegen.scalar import ScalarEmitter, lltype

_JITS = {}


def _compiled(name, dtype):
    """``f(x, y, n)``: y[i] = act(x[i]) for i < n, optimized as the kernels are (vectorized)."""
    key = (name, dtype)
    if key not in _JITS:
        mod = ir.Module(name="acts")
        tm = target_machine()
        mod.triple, mod.data_layout = tm.triple, str(tm.target_data)
        fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64]), "f")
        for a in fn.args[:2]:
            a.add_attribute("noalias")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        s, ty = ScalarEmitter(b, dtype), lltype(dtype)
        x, y, n = fn.args
        with for_range(b, n) as i:
            v = b.load(b.gep(x, [i], source_etype=ty), typ=ty)
            b.store(rnn_acts.act_value(s, (name, None, None), v), b.gep(y, [i], source_etype=ty))
        b.ret_void()
        llmod = parse(str(mod))
        optimize(llmod, tm)
        jit = JIT(llmod)
        _JITS[key] = (jit, ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(jit.address("f")))
    return _JITS[key][1]


def _run(name, x):
    y = np.empty_like(x)
    _compiled(name, x.dtype.name)(x.ctypes.data, y.ctypes.data, x.size)
    return y


def _inputs(dtype):
    small = np.logspace(-30, 1.5, 20001)
    x = np.concatenate([np.linspace(-30, 30, 200001), small, -small, [0.0, -0.0, 88.0, -88.0, 100.0, -100.0, 1e30,
                                                                      -1e30, np.inf, -np.inf]])
    return x.astype(dtype)


EXACT = {"tanh": np.tanh, "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v))}


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_float32_accuracy(name):
    x = _inputs(np.float32)
    with np.errstate(over="ignore"):
        want = EXACT[name](x.astype(np.float64))
    got = _run(name, x).astype(np.float64)
    err = np.abs(got - want)
    assert err.max() <= 4e-7, f"{name}: max abs error {err.max()} at x={x[err.argmax()]}"
    rel_ok = want > 1e-37 if name == "sigmoid" else np.abs(want) > 0  # sigmoid below x=-87: absolute error only
    rel = err[rel_ok] / np.abs(want[rel_ok])
    assert rel.max() <= 4e-7, f"{name}: max relative error {rel.max()} at x={x[rel_ok][rel.argmax()]}"
    assert np.all((got >= -1.0) & (got <= 1.0)) if name == "tanh" else np.all((got >= 0.0) & (got <= 1.0))


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_limits(name, dtype):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, 1e-20, -1e-20], dtype)
    got = _run(name, x)
    assert np.isnan(got[0])
    lim = (1.0, -1.0) if name == "tanh" else (1.0, 0.0)
    # float32 saturates within 3e-7 (tanh's rational approximation ends at +-7.9, sigmoid's exp at -87)
    np.testing.assert_allclose(got[1:3], np.array(lim, dtype), rtol=0, atol=3e-7 if dtype == np.float32 else 0)
    if name == "tanh":  # odd, exact near 0 to the last bits
        np.testing.assert_allclose(got[3:], x[3:], rtol=2e-7, atol=0)
    else:
        np.testing.assert_allclose(got[3:], 0.5, rtol=2e-7)


def test_float64_keeps_the_precise_functions():
    x = _inputs(np.float64)[:-4]
    np.testing.assert_allclose(_run("tanh", x), np.tanh(x), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(_run("sigmoid", x), 1.0 / (1.0 + np.exp(-x)), rtol=1e-14, atol=1e-300)
