"""Comparisons, Not/And/Or and Where: kernels vs onnx.reference and numpy (float, int and bool
operands, broadcasting, NaN), Where's gradient vs float64 finite differences."""
import numpy as np
import pytest

from harness import check_grad, check_op

RNG = np.random.default_rng(0)
CMP = [("Equal", np.equal), ("Less", np.less), ("LessOrEqual", np.less_equal), ("Greater", np.greater),
       ("GreaterOrEqual", np.greater_equal)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32"])
@pytest.mark.parametrize("op, fn", CMP, ids=[c[0] for c in CMP])
def test_comparisons(op, fn, dtype):
    x = RNG.integers(-2, 3, (3, 4)).astype(dtype)
    y = RNG.integers(-2, 3, (1, 4)).astype(dtype)
    (got,), _ = check_op(op, [x, y])
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, fn(x, y))
    if dtype.startswith("float"):
        nan = np.array([np.nan, 1.0, np.nan], dtype)
        (got,), _ = check_op(op, [nan, np.array([1.0, 1.0, np.nan], dtype)])
        np.testing.assert_array_equal(got, fn(nan, np.array([1.0, 1.0, np.nan], dtype)))


@pytest.mark.parametrize("op, fn", [("And", np.logical_and), ("Or", np.logical_or)])
def test_and_or(op, fn):
    x, y = RNG.random((3, 4)) > 0.5, RNG.random((4,)) > 0.5
    (got,), _ = check_op(op, [x, y])
    np.testing.assert_array_equal(got, fn(x, y))


def test_not_and_equal_on_bools():
    x = RNG.random((2, 5)) > 0.5
    (got,), _ = check_op("Not", [x])
    np.testing.assert_array_equal(got, ~x)
    (got,), _ = check_op("Equal", [x, x[:1]])
    np.testing.assert_array_equal(got, x == x[:1])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_where_broadcasts(dtype):
    c = RNG.random((3, 1)) > 0.5
    x = RNG.standard_normal((3, 4)).astype(dtype)
    y = RNG.standard_normal((4,)).astype(dtype)
    (got,), _ = check_op("Where", [c, x, y])
    np.testing.assert_array_equal(got, np.where(c, x, y))


def test_where_gradient_by_finite_differences():
    c = RNG.random((3, 4)) > 0.5
    check_grad("Where", [c, RNG.standard_normal((3, 4)), RNG.standard_normal((1, 4))])


def test_mismatched_dtypes_are_named():
    from graphc.errors import ShapeError
    with pytest.raises(ShapeError, match="condition must be bool"):
        check_op("Where", [np.ones((2,), np.float32), np.ones((2,), np.float32), np.ones((2,), np.float32)])
