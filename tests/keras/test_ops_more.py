"""keras.ops floor, ceil, round (half to even, decimals), erf, exact gelu(approximate=False), the
comparisons, logical_and/or/not and where in
Keras 3's three modes -- eager on numpy, functional on KerasTensors, traced inside a Lambda -- against
numpy and math.erf, and a gradient through exact gelu in fit (vs finite differences of the oracle)."""
import math

import numpy as np
import pytest

from graphc import keras
from harness import assert_close

ops = keras.ops
RNG = np.random.default_rng(0)
# halves (ties of round) and values away from them
X = np.concatenate([np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.0, 3.25]),
                    RNG.standard_normal(8) * 3]).reshape(4, 4).astype(np.float32)
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu_exact(x):
    return 0.5 * x * (1 + _erf(x / np.sqrt(2)))


CASES = [("floor", ops.floor, np.floor), ("ceil", ops.ceil, np.ceil), ("round", ops.round, np.round),
         ("round_decimals", lambda x: ops.round(x, decimals=1), lambda x: np.round(x, 1)),
         ("erf", ops.erf, _erf), ("gelu_exact", lambda x: ops.gelu(x, approximate=False), _gelu_exact)]
EXACT = {"floor", "ceil", "round"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,op,fn", CASES, ids=[c[0] for c in CASES])
def test_eager_matches_numpy(name, op, fn, dtype):
    x = X.astype(dtype)
    got = op(x)
    assert isinstance(got, np.ndarray) and got.dtype == dtype and got.shape == x.shape
    want = fn(x.astype(np.float64))
    if name in EXACT:
        np.testing.assert_array_equal(got, want.astype(dtype))
    else:
        assert_close(got, want.astype(dtype), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name,op,fn", CASES, ids=[c[0] for c in CASES])
def test_functional_node_and_lambda(name, op, fn):
    inp = keras.Input((4,))
    node = keras.Model(inp, op(inp))
    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: op(t))])
    want = fn(X.astype(np.float64)).astype(np.float32)
    for model in (node, lam):
        got = model.predict(X, verbose=0)
        if name in EXACT:
            np.testing.assert_array_equal(got, want)
        else:
            assert_close(got, want, rtol=2e-6, atol=1e-7)


def test_gelu_default_stays_the_tanh_form():
    x = X.astype(np.float64)
    tanh_form = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    assert_close(ops.gelu(X), tanh_form.astype(np.float32))
    assert np.max(np.abs(tanh_form - _gelu_exact(x))) > 1e-5  # the two forms are told apart


def test_exact_gelu_gradient_in_training_matches_the_oracle():
    """One SGD step through Dense -> gelu(approximate=False) -> sum: the kernel's change equals
    lr * x^T gelu'(x W + b) with gelu' from central differences of the float64 oracle."""
    inp = keras.Input((4,))
    dense = keras.layers.Dense(3)
    model = keras.Model(inp, keras.layers.Lambda(lambda t: ops.gelu(t, approximate=False))(dense(inp)))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=lambda y, p: ops.sum(p, axis=-1))
    w, b = [v.astype(np.float64) for v in model.get_weights()]
    x = X.astype(np.float64)
    z = x @ w + b
    h = 1e-6
    dgelu = (_gelu_exact(z + h) - _gelu_exact(z - h)) / (2 * h)
    model.fit(X, np.zeros((4, 3), np.float32), batch_size=4, epochs=1, shuffle=False, verbose=0)
    # the loss is the batch mean of sum(p): d/dW = x^T dgelu / batch
    want = w - 0.1 * x.T @ dgelu / len(x)
    assert_close(model.get_weights()[0], want.astype(np.float32), rtol=1e-4, atol=1e-6)


# --- comparisons, logic, where ---------------------------------------------------------------------
A = np.array([[1.0, 2.0, np.nan, -1.0], [3.0, -1.0, 0.0, 2.0]], np.float32)
B = np.array([1.0, 0.0, np.nan, 2.0], np.float32)
COMPARE = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]


@pytest.mark.parametrize("name", COMPARE)
def test_comparisons_in_three_modes(name):
    op, fn = getattr(ops, name), getattr(np, name)
    got = op(A, B)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, fn(A, B))  # NaN: only not_equal is True, as numpy
    np.testing.assert_array_equal(op(A, 2.0), fn(A, np.float32(2.0)))
    inp = keras.Input((4,))
    node = keras.Model(inp, ops.cast(op(inp, 1.0), "float32"))
    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: ops.cast(op(t, 1.0), "float32"))])
    for model in (node, lam):
        np.testing.assert_array_equal(model.predict(A, verbose=0), fn(A, np.float32(1.0)).astype(np.float32))


def test_logical_functions_and_where_in_three_modes():
    m1, m2 = A > 0, B > 0
    np.testing.assert_array_equal(ops.logical_and(m1, m2), m1 & m2)
    np.testing.assert_array_equal(ops.logical_or(m1, m2), m1 | m2)
    np.testing.assert_array_equal(ops.logical_not(m1), ~m1)
    np.testing.assert_array_equal(ops.logical_and(A, 1.0), np.logical_and(A, 1.0))  # nonzero is True
    assert ops.logical_not(m1).dtype == np.bool_
    np.testing.assert_array_equal(ops.where(m1, A, -1.0), np.where(m1, A, np.float32(-1.0)))
    np.testing.assert_array_equal(ops.where(A > 0, 1.0, 0.0), np.where(A > 0, 1.0, 0.0).astype(np.float32))

    def f(t):
        keep = ops.logical_or(ops.logical_and(ops.less(t, 2.0), ops.logical_not(ops.equal(t, 0.0))),
                              ops.greater_equal(t, 3.0))
        return ops.where(keep, t, ops.multiply(t, 0.5))
    x = A.astype(np.float64)
    keep = ((x < 2) & ~(x == 0)) | (x >= 3)
    want = np.where(keep, x, x * 0.5).astype(np.float32)
    inp = keras.Input((4,))
    for model in (keras.Model(inp, f(inp)), keras.Sequential([keras.Input((4,)), keras.layers.Lambda(f)])):
        np.testing.assert_array_equal(model.predict(A, verbose=0), want)
    with pytest.raises(ValueError, match="x1 and x2"):
        ops.where(m1)


def test_where_gradient_in_training():
    """d/dz of where(z > 0, z, 0.1 z) (leaky relu written with where) through one SGD step."""
    inp = keras.Input((4,))
    dense = keras.layers.Dense(3)
    z = dense(inp)
    model = keras.Model(inp, ops.where(ops.greater(z, 0.0), z, ops.multiply(z, 0.1)))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=lambda y, p: ops.sum(p, axis=-1))
    w, b = [v.astype(np.float64) for v in model.get_weights()]
    x = np.nan_to_num(A).astype(np.float64)
    slope = np.where(x @ w + b > 0, 1.0, 0.1)
    model.fit(x.astype(np.float32), np.zeros((2, 3), np.float32), batch_size=2, epochs=1, shuffle=False, verbose=0)
    assert_close(model.get_weights()[0], (w - 0.1 * x.T @ slope / len(x)).astype(np.float32), rtol=1e-5, atol=1e-7)
