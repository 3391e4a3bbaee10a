"""Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh (ONNX) and graphc's Expm1, Log1p,
StopGradient: kernels vs onnx.reference and numpy in float32 and float64 over their domains, edges
(0, -0, +-1, inf, NaN, huge and tiny arguments), and gradients vs float64 finite differences."""
import numpy as np
import pytest

import graphc
from graphc.ir import GraphBuilder
from harness import assert_close, check_grad, check_op

# op, numpy, domain of the random inputs, extra edge values inside the domain
OPS = [
    ("Sin", np.sin, (-20, 20), [0.0, -0.0, 1e-30, np.pi, -np.pi / 2, 1e4, -3e4]),
    ("Cos", np.cos, (-20, 20), [0.0, np.pi / 2, np.pi, 1e-30, 1e4, -3e4]),
    ("Tan", np.tan, (-1.5, 1.5), [0.0, -0.0, 1e-20, 1.0, -1.0, 3.0, 100.0]),
    ("Asin", np.arcsin, (-1, 1), [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 0.999, 1e-20]),
    ("Acos", np.arccos, (-1, 1), [0.0, 1.0, -1.0, 0.5, -0.5, 0.999, -0.999]),
    ("Atan", np.arctan, (-5, 5), [0.0, -0.0, 1.0, -1.0, 1e-20, 1e20, -1e30]),
    ("Sinh", np.sinh, (-10, 10), [0.0, -0.0, 1e-20, 0.999, 1.0, 50.0, -80.0]),
    ("Cosh", np.cosh, (-10, 10), [0.0, 1e-20, 1.0, 50.0, -80.0]),
    ("Asinh", np.arcsinh, (-10, 10), [0.0, -0.0, 1e-20, 1e10, -1e30, 0.5]),
    ("Acosh", np.arccosh, (1, 10), [1.0, 1.0 + 1e-6, 2.0, 1e10, 1e30]),
    ("Atanh", np.arctanh, (-1, 1), [0.0, -0.0, 1e-20, 0.5, -0.999, 0.9999]),
]
IDS = [o[0] for o in OPS]
NEAR_ULPS = {"float32": 8, "float64": 8}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op,fn,domain,edges", OPS, ids=IDS)
def test_matches_onnx_reference_and_numpy(op, fn, domain, edges, dtype):
    rng = np.random.default_rng(0)
    x = rng.uniform(*domain, (6, 40)).astype(dtype)
    rtol = 2e-6 if dtype == "float32" else 1e-14
    check_op(op, [x], rtol=rtol, symbolic_batch=True, extra_batches=(1, 9))
    e = np.array([edges], dtype=dtype)
    (got,), _ = check_op(op, [e], rtol=rtol)
    want = fn(e.astype(np.float64))
    # within a few ulps of the float64 result, relative to its magnitude
    tol = NEAR_ULPS[dtype] * np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
    assert np.all(np.abs(got - want) <= tol + (1e-6 if dtype == "float32" and op in ("Sin", "Cos") else 0)), \
        (got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op,fn,domain,edges", OPS, ids=IDS)
def test_special_values(op, fn, domain, edges, dtype):
    x = np.array([[np.nan, np.inf, -np.inf, 2.0, -2.0]], dtype=dtype)
    (got,), _ = check_op(op, [x])
    with np.errstate(all="ignore"):
        want = fn(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = ~np.isnan(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-6)


@pytest.mark.parametrize("op,fn,domain,edges", OPS, ids=IDS)
def test_gradient_by_finite_differences(op, fn, domain, edges):
    lo, hi = domain
    lo, hi = (lo + 0.1, hi - 0.1) if op in ("Asin", "Acos", "Atanh", "Acosh") else (lo, hi)
    x = np.random.default_rng(1).uniform(lo, hi, (3, 4))
    check_grad(op, [x], rtol=1e-5, atol=1e-7)


def _run(op, x):
    b = GraphBuilder(name="t")
    i = b.input("x", x.dtype.name, x.shape)
    b.output(b.op(op, [i], domain="graphc"))
    return graphc.compile(b.g).run([x])[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op,fn", [("Expm1", np.expm1), ("Log1p", np.log1p)])
def test_graphc_expm1_log1p_are_accurate_near_zero(op, fn, dtype):
    x = np.concatenate([np.geomspace(1e-30, 0.9, 200), -np.geomspace(1e-30, 0.9, 200), [0.0, -0.0, 5.0, 40.0]])
    x = x.astype(dtype)
    got = _run(op, x)
    assert_close(got, fn(x.astype(np.float64)).astype(dtype), rtol=4e-7 if dtype == "float32" else 4e-16)
    s = _run(op, np.array([np.nan, np.inf], dtype))
    np.testing.assert_array_equal(s, fn(np.array([np.nan, np.inf], dtype)))


@pytest.mark.parametrize("op", ["Expm1", "Log1p"])
def test_graphc_expm1_log1p_gradients(op):
    x = np.random.default_rng(2).uniform(-0.9, 2.0, (3, 4))
    check_grad(op, [x], domain="graphc")


def test_stop_gradient_blocks_the_gradient():
    from graphc.passes.autodiff import autodiff
    b = GraphBuilder(name="sg")
    x = b.input("x", "float64", (3,))
    y = b.op("Add", [b.op("Mul", [x, x]), b.op("StopGradient", [b.op("Mul", [x, x])], domain="graphc")])
    loss = b.op("ReduceSum", [y], keepdims=0)
    grads = autodiff(b.g, loss, [x])
    b.output(loss, grads[x])
    v = np.array([1.0, -2.0, 3.0])
    total, g = graphc.compile(b.g).run([v])
    assert_close(total, 2 * (v * v).sum())
    assert_close(g, 2 * v)  # only the unstopped x*x contributes
