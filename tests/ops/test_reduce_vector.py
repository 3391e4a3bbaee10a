"""The explicit-vector reduction paths (reduced axes trailing: vector accumulators per block; kept axes
trailing: whole output rows updated with vector code; Softmax along the last axis) on sizes around the
vector widths (16 float32 / 8 float64 lanes), against onnx.reference and the numpy reference."""
import numpy as np
import pytest

from harness import check_op

OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSumSquare", "ReduceL1", "ReduceL2",
       "ReduceLogSum", "ReduceProd"]
SIZES = [1, 3, 7, 8, 13, 16, 17, 31, 257]


def data(shape, dtype, op_type, seed=0):
    rng = np.random.default_rng(seed)
    if op_type in ("ReduceLogSum",):
        return rng.uniform(0.5, 2.0, shape).astype(dtype)
    if op_type == "ReduceProd":
        return rng.uniform(0.9, 1.1, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op_type", OPS)
@pytest.mark.parametrize("trailing", [True, False], ids=["trailing-axes", "leading-axes"])
def test_vector_reduction_paths(op_type, dtype, trailing):
    """Reduced axes trailing (each output folds a contiguous block) or leading (the bias-gradient form:
    whole (N, C) rows summed over the batch)."""
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for n in SIZES:
        shape = (3, n) if trailing else (5, n)
        check_op(op_type, [data(shape, dtype, op_type), np.array([1 if trailing else 0], np.int64)],
                 {"keepdims": 0}, const_slots=(1,), rtol=rtol)
    shape, ax = ((2, 5, 17), [1, 2]) if trailing else ((4, 3, 33), [0, 1])
    check_op(op_type, [data(shape, dtype, op_type), np.array(ax, np.int64)], {"keepdims": 1}, const_slots=(1,),
             rtol=rtol)


@pytest.mark.parametrize("op_type", ["ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("axis", [0, 1])
def test_nan_propagates_through_vector_lanes(op_type, axis):
    x = data((4, 37), np.float32, op_type)
    x[2, 20] = np.nan  # inside a vector block of the row, and a column of the leading-axes path
    x[1, 36] = np.nan  # in the scalar tail
    out, _ = check_op(op_type, [x, np.array([axis], np.int64)], {"keepdims": 0}, const_slots=(1,))
    assert np.isnan(out[0]).sum() == (2 if axis == 1 else 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op_type", ["Softmax", "LogSoftmax"])
def test_softmax_last_axis_vector_path(op_type, dtype):
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for n in SIZES:
        check_op(op_type, [data((3, n), dtype, op_type) * 4], {"axis": -1}, rtol=rtol)
    x = data((2, 40), dtype, op_type)
    x[1, 5] = np.nan
    out, _ = check_op(op_type, [x], {"axis": -1}, rtol=rtol)
    assert np.isnan(out[0][1]).all() and np.isfinite(out[0][0]).all()
