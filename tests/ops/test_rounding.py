"""Floor, Ceil, Round (half to even) and Erf: kernels vs onnx.reference and numpy/math.erf in
float32 and float64, their gradients vs float64 finite differences."""
import math

import numpy as np
import pytest

from harness import assert_close, check_grad, check_op

EDGES = [-2.5, -1.5, -0.5, -0.49999997, 0.5, 1.5, 2.5, 3.5, -3.7, 3.7, 1e-30, -0.0, 1e7 + 0.5, np.inf, -np.inf]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op, ref", [("Floor", np.floor), ("Ceil", np.ceil), ("Round", np.round)])
def test_rounding_matches_onnx_reference_and_numpy(op, ref, dtype):
    x = np.array([EDGES], dtype=dtype)
    (got,), _ = check_op(op, [x])
    np.testing.assert_array_equal(got, ref(x))
    assert np.isnan(check_op(op, [np.array([np.nan], dtype)])[0][0][0])
    rng = np.random.default_rng(0)
    check_op(op, [(rng.standard_normal((5, 7)) * 4).astype(dtype)], symbolic_batch=True, extra_batches=(1, 9))


@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-6), ("float64", 2e-7)])
def test_erf_matches_math_erf(dtype, rtol):
    x = np.concatenate([np.linspace(-6, 6, 241), [1e-20, -1e-8, 0.0, 0.99999, 1.0, 1.00001, 30.0, -np.inf, np.inf]])
    x = x.astype(dtype)[None]
    (got,), _ = check_op("Erf", [x], rtol=rtol)
    want = np.array([math.erf(v) for v in x[0].astype(np.float64)])
    assert_close(got[0], want, rtol=rtol, atol=1e-7 if dtype == "float64" else 1e-7)
    assert np.isnan(check_op("Erf", [np.array([np.nan], dtype)])[0][0][0])


def test_erf_gradient_by_finite_differences():
    x = np.random.default_rng(1).uniform(-3, 3, (3, 5))
    check_grad("Erf", [x])


@pytest.mark.parametrize("op", ["Floor", "Ceil", "Round"])
def test_rounding_gradient_is_zero(op):
    x = np.random.default_rng(2).uniform(-3, 3, (3, 5))
    x = np.floor(x) + 0.25  # away from the jumps (Round's are at .5)
    (g,) = check_grad(op, [x])
    np.testing.assert_array_equal(g, np.zeros_like(x))
