"""Integer kernels of the arithmetic elementwise ops (int32/int64) against onnx.reference, including
the cases where a machine division would trap (x / 0, INT_MIN / -1)."""
import numpy as np
import pytest

import graphc
from harness import build_op_graph, check_op

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Max", "Min"])
def test_binary(op, dtype):
    x, y = RNG.integers(-50, 50, (3, 4)).astype(dtype), RNG.integers(-50, 50, (4,)).astype(dtype)
    check_op(op, [x, y], {})


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_div_truncates_toward_zero(dtype):
    x = np.array([-7, 7, -7, 7, 0, 5], dtype)
    y = np.array([2, 2, -2, -2, 3, 1], dtype)
    check_op("Div", [x, y], {})


def test_div_by_zero_and_overflow_do_not_trap():
    info = np.iinfo(np.int32)
    x = np.array([5, -5, info.min, info.min, 9], np.int32)
    y = np.array([0, 0, -1, 1, -1], np.int32)
    got = graphc.compile(build_op_graph("Div", [x, y], {})).run([x, y])[0]
    np.testing.assert_array_equal(got, [0, 0, info.min, info.min, -9])


@pytest.mark.parametrize("op", ["Neg", "Abs", "Relu", "Sign", "Identity"])
def test_unary(op):
    check_op(op, [RNG.integers(-9, 9, (2, 5)).astype(np.int64)], {})


def test_fused_integer_chain_and_variadic():
    a, b, c = (RNG.integers(-20, 20, (4, 3)).astype(np.int64) for _ in range(3))
    check_op("Sum", [a, b, c], {})
    check_op("Clip", [a, np.array(-5, np.int64), np.array(6, np.int64)], {})
