"""Split against onnx.reference; its gradient against float64 finite differences."""
import numpy as np
import pytest

from graphc.errors import ShapeError
from harness import build_op_graph, check_grad, check_op

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape,axis,split,attrs,n_out", [
    ((4, 6), 1, [2, 4], {}, 2),
    ((5, 3, 2), 0, [1, 0, 4], {}, 3),
    ((3, 7), -1, None, {"num_outputs": 3}, 3),  # ceil: 3, 3, 1
    ((2, 6, 2), 1, None, {"num_outputs": 2}, 2),
])
def test_split(shape, axis, split, attrs, n_out):
    x = RNG.standard_normal(shape).astype(np.float32)
    ins = [x] + ([np.array(split, np.int64)] if split is not None else [])
    check_op("Split", ins, {"axis": axis, **attrs}, n_out=n_out, const_slots=(1,))


def test_split_symbolic_batch_on_another_axis():
    check_op("Split", [RNG.standard_normal((3, 4)).astype(np.float32)], {"axis": 1, "num_outputs": 2}, n_out=2,
             symbolic_batch=True, extra_batches=(1, 5))


def test_split_gradient_with_an_unused_output():
    x = RNG.standard_normal((2, 5, 3))
    check_grad("Split", [x, np.array([2, 3], np.int64)], {"axis": 1}, const_slots=(1,), n_out=2,
               out_weights=[1.0, 0.0])
    check_grad("Split", [x], {"axis": 2, "num_outputs": 3}, n_out=3)


def test_split_sizes_must_add_up():
    with pytest.raises(ShapeError, match="summing to the axis size 6"):
        build_op_graph("Split", [np.zeros((2, 6), np.float32), np.array([2, 3], np.int64)], {"axis": 1},
                       n_out=2, const_slots=(1,))
