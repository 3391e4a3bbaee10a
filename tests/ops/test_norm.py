"""BatchNormalization (inference form) against onnx.reference."""
import numpy as np
import pytest

from graphc.errors import ShapeError, UnsupportedOpError
from harness import build_op_graph, check_op


def _bn_inputs(shape, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    scale, bias, mean = (rng.standard_normal(c).astype(dtype) for _ in range(3))
    var = rng.uniform(0.1, 4.0, c).astype(dtype)
    return [x, scale, bias, mean, var]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 1), (2, 31), (2, 7, 13), (2, 3, 7, 13), (1, 13, 1, 1), (2, 3, 3, 5, 7)])
def test_batchnorm_ranks_and_sizes(shape, dtype):
    """Running statistics are params/states (never constants), as the Keras layer lowers them."""
    check_op("BatchNormalization", _bn_inputs(shape, dtype), {"epsilon": 1e-3}, param_slots=(1, 2, 3, 4),
             symbolic_batch=True, extra_batches=(1, 7))


@pytest.mark.parametrize("epsilon", [1e-5, 0.1])
def test_batchnorm_epsilon_and_zero_variance(epsilon):
    ins = _bn_inputs((2, 7, 3, 3))
    ins[4][:3] = 0.0  # epsilon alone keeps the division finite
    check_op("BatchNormalization", ins, {"epsilon": epsilon}, param_slots=(1, 2, 3, 4))


def test_batchnorm_default_epsilon_and_graph_inputs():
    check_op("BatchNormalization", _bn_inputs((2, 3, 7, 7)), {})


@pytest.mark.parametrize("slot,shape,match", [
    (1, (4,), "scale expected float32\\[3\\]"),
    (2, (3, 1), "B expected float32\\[3\\]"),
    (4, (1,), "input_var expected float32\\[3\\]"),
])
def test_batchnorm_shape_errors(slot, shape, match):
    ins = _bn_inputs((2, 3, 5, 5))
    ins[slot] = np.ones(shape, np.float32)
    with pytest.raises(ShapeError, match=match) as e:
        build_op_graph("BatchNormalization", ins, {}, param_slots=(1, 2, 3, 4))
    assert "(BatchNormalization)" in str(e.value)


def test_batchnorm_rank_and_dtype_errors():
    ins = _bn_inputs((2, 3))
    with pytest.raises(ShapeError, match="rank >= 2"):
        build_op_graph("BatchNormalization", [ins[0][:, 0]] + ins[1:], {})
    ins[3] = ins[3].astype(np.float64)
    with pytest.raises(ShapeError, match="input_mean expected float32"):
        build_op_graph("BatchNormalization", ins, {})


def test_batchnorm_mode_and_output_count_errors():
    """training_mode=1 is supported (tests/ops/test_grad_norm.py); other modes and running-statistics
    outputs in inference mode are not."""
    with pytest.raises(UnsupportedOpError, match="training_mode"):
        build_op_graph("BatchNormalization", _bn_inputs((2, 3, 4, 4)), {"training_mode": 2})
    with pytest.raises(UnsupportedOpError, match="expected 1 output"):
        build_op_graph("BatchNormalization", _bn_inputs((2, 3, 4, 4)), {}, n_out=3)
