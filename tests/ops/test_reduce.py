import numpy as np
import pytest

import graphc
from graphc.errors import ShapeError, UnsupportedOpError
from graphc.ir import GraphBuilder
from harness import build_op_graph, check_op

X4 = (3, 1, 7, 13)
REDUCE = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"]


def rand(shape, dtype=np.float32, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def axes(*a):
    return np.array(a, dtype=np.int64)


# --- Softmax / LogSoftmax ---------------------------------------------------------------
@pytest.mark.parametrize("op_type", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("axis", [-4, -3, -2, -1, 0, 1, 2, 3])
def test_softmax_every_axis(op_type, axis):
    check_op(op_type, [rand(X4)], {"axis": axis})


@pytest.mark.parametrize("op_type", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("shape", [(1,), (31,), (7, 13), (13, 31)])
def test_softmax_default_axis_and_float64(op_type, shape):
    check_op(op_type, [rand(shape)], {})
    check_op(op_type, [rand(shape, np.float64)], {}, rtol=1e-12)


@pytest.mark.parametrize("op_type", ["Softmax", "LogSoftmax"])
def test_softmax_is_stable_for_large_inputs(op_type):
    x = rand((3, 31)) + np.float32(1000)  # exp(x) overflows: only exp(x - max) is finite
    x[0, :] = -1000.0
    out, _ = check_op(op_type, [x], {})
    assert np.isfinite(out[0]).all()


@pytest.mark.parametrize("axis", [0, -1])
def test_softmax_symbolic_batch(axis):
    check_op("Softmax", [rand((5, 7))], {"axis": axis}, symbolic_batch=True, extra_batches=(1, 7))
    check_op("LogSoftmax", [rand((5, 3, 7))], {"axis": axis}, symbolic_batch=True, extra_batches=(1, 7))


def test_softmax_bad_axis():
    with pytest.raises(ShapeError, match=r"\(Softmax\).*axis 2"):
        build_op_graph("Softmax", [rand((3, 4))], {"axis": 2})


# --- ReduceSum / Mean / Max / Min -------------------------------------------------------
@pytest.mark.parametrize("op_type", REDUCE)
@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_every_axis(op_type, axis, keepdims):
    check_op(op_type, [rand(X4), axes(axis)], {"keepdims": keepdims}, const_slots=(1,))


@pytest.mark.parametrize("op_type", REDUCE)
@pytest.mark.parametrize("ax", [(0, 2), (1, 3), (-1, -3), (3, 0, 2), (0, 1, 2, 3)])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_axis_sets(op_type, ax, keepdims):
    check_op(op_type, [rand(X4), axes(*ax)], {"keepdims": keepdims}, const_slots=(1,))


@pytest.mark.parametrize("op_type", REDUCE)
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_all_float64(op_type, keepdims):
    x = rand((7, 13), np.float64)
    check_op(op_type, [x], {"keepdims": keepdims}, rtol=1e-12)
    check_op(op_type, [x, axes()], {"keepdims": keepdims}, const_slots=(1,), rtol=1e-12)


@pytest.mark.parametrize("op_type", REDUCE)
def test_reduce_noop_with_empty_axes(op_type):
    x = rand((3, 7))
    check_op(op_type, [x], {"noop_with_empty_axes": 1})
    check_op(op_type, [x, axes()], {"noop_with_empty_axes": 1}, const_slots=(1,))
    check_op(op_type, [x, axes(1)], {"noop_with_empty_axes": 1}, const_slots=(1,))


@pytest.mark.parametrize("op_type", REDUCE)
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("ax", [(1,), (0,), (0, 2)])
def test_reduce_symbolic_batch(op_type, keepdims, ax):
    check_op(op_type, [rand((5, 7, 3)), axes(*ax)], {"keepdims": keepdims}, const_slots=(1,),
             symbolic_batch=True, extra_batches=(1, 7))


@pytest.mark.parametrize("op_type", REDUCE)
@pytest.mark.parametrize("ax", [(0,), (1,), (0, 2), (1, 3), (-4, -1)])
def test_reduce_axes_read_at_run_time(op_type, ax):
    """(3, 3, 7, 7) without keepdims: the output type does not say which axes went."""
    check_op(op_type, [rand((3, 3, 7, 7)), axes(*ax)], {"keepdims": 0}, const_slots=(1,))


def test_reduce_nan_propagates():
    x = rand((3, 7))
    x[1, 4] = np.nan
    for op in REDUCE:
        out, _ = check_op(op, [x, axes(1)], {"keepdims": 0}, const_slots=(1,))
        assert np.isnan(out[0][1]) and not np.isnan(out[0][[0, 2]]).any()


def test_reduce_axes_are_not_baked_into_shared_kernels():
    """(3, 3) reduced over axis 0 and over axis 1 have equal types: one kernel serves both."""
    b = GraphBuilder()
    x = b.input("x", "float32", (3, 3))
    b.output(*[b.op("ReduceSum", [x, b.const(axes(a))], keepdims=0) for a in (0, 1)])
    x0 = rand((3, 3))
    y0, y1 = graphc.compile(b.g).run([x0])
    np.testing.assert_allclose(y0, x0.sum(0), rtol=1e-6)
    np.testing.assert_allclose(y1, x0.sum(1), rtol=1e-6)


def test_reduce_bad_axes_and_int_kernel():
    with pytest.raises(ShapeError, match=r"\(ReduceMean\).*axis 2"):
        build_op_graph("ReduceMean", [rand((3, 4)), axes(2)], {}, const_slots=(1,))
    with pytest.raises(ShapeError, match="repeat"):
        build_op_graph("ReduceSum", [rand((3, 4)), axes(1, -1)], {}, const_slots=(1,))
    with pytest.raises(UnsupportedOpError, match="int64"):
        graphc.compile(build_op_graph("ReduceSum", [rand((3, 4), np.int64), axes(1)], {}, const_slots=(1,)))


# --- ArgMax -----------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-4, 0, 1, 2, 3])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_argmax_every_axis(axis, keepdims):
    check_op("ArgMax", [rand(X4)], {"axis": axis, "keepdims": keepdims})


@pytest.mark.parametrize("last", [0, 1])
def test_argmax_ties_and_nan(last):
    x = np.round(rand((7, 13), scale=1.0))  # many ties
    check_op("ArgMax", [x], {"axis": 1, "select_last_index": last})
    check_op("ArgMax", [x.astype(np.float64)], {"axis": 0, "select_last_index": last, "keepdims": 0})
    x[2, 3] = x[2, 9] = np.nan
    out, _ = check_op("ArgMax", [x], {"axis": 1, "keepdims": 0, "select_last_index": last})
    assert out[0][2] == (9 if last else 3)


def test_argmax_symbolic_batch():
    check_op("ArgMax", [rand((5, 7))], {"axis": 1, "keepdims": 0}, symbolic_batch=True, extra_batches=(1, 7))
    check_op("ArgMax", [rand((5, 7))], {"axis": 0}, symbolic_batch=True, extra_batches=(1, 7))
