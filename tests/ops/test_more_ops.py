"""ReduceL1/L2/SumSquare/LogSum/Prod, ArgMin, CastLike, Size and PRelu against onnx.reference;
gradients against float64 finite differences."""
import numpy as np
import pytest

import graphc
from harness import build_op_graph, check_grad, check_op

RNG = np.random.default_rng(0)
OPS = ["ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceProd"]


def _x(op, shape, dtype=np.float32):
    x = RNG.standard_normal(shape)
    if op == "ReduceLogSum":
        x = np.abs(x) + 0.1
    if op == "ReduceProd":
        x = 0.5 + RNG.random(shape)
    return x.astype(dtype)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("axes,keepdims", [(None, 1), ([1], 0), ([0, 2], 1), ([-1], 0)])
def test_reductions(op, axes, keepdims):
    ins = [_x(op, (3, 4, 5))] + ([] if axes is None else [np.array(axes, np.int64)])
    check_op(op, ins, {"keepdims": keepdims}, const_slots=(1,), rtol=1e-5)


@pytest.mark.parametrize("op", OPS)
def test_reductions_float64_and_noop(op):
    check_op(op, [_x(op, (2, 3), np.float64), np.array([0], np.int64)], {}, const_slots=(1,), rtol=1e-12)
    # empty axes with noop_with_empty_axes: the ONNX spec says the output is the input (onnx.reference
    # applies the elementwise part, abs or square, instead; no backend case covers it)
    x = _x(op, (2, 3))
    g = build_op_graph(op, [x, np.array([], np.int64)], {"noop_with_empty_axes": 1}, const_slots=(1,))
    np.testing.assert_array_equal(graphc.compile(g).run([x])[0], x)


@pytest.mark.parametrize("op", ["ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum"])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduction_gradients(op, keepdims):
    x = _x(op, (2, 3, 4), np.float64)
    if op == "ReduceL1":
        x = np.where(np.abs(x) < 0.05, 0.3, x)  # away from the kink at 0
    check_grad(op, [x, np.array([1], np.int64)], {"keepdims": keepdims}, const_slots=(1,))


@pytest.mark.parametrize("attrs", [{"axis": 1}, {"axis": 0, "keepdims": 0}, {"axis": -1, "select_last_index": 1}])
def test_argmin(attrs):
    x = RNG.integers(0, 3, (4, 5, 3)).astype(np.float32)  # ties: first/last index matters
    check_op("ArgMin", [x], attrs)


@pytest.mark.parametrize("src,dst", [(np.float32, np.float64), (np.float64, np.int64), (np.int32, np.float32),
                                     (np.float32, np.bool_)])
def test_castlike(src, dst):
    x = (RNG.standard_normal((3, 4)) * 3).astype(src)
    check_op("CastLike", [x, np.zeros(2, dst)], {}, const_slots=(1,))


def test_castlike_gradient():
    check_grad("CastLike", [RNG.standard_normal((2, 3)), np.zeros(1, np.float64)], {}, const_slots=(1,))


def test_size_folds_when_static_and_is_computed_at_run_time_otherwise():
    x = np.zeros((3, 4, 2), np.float32)
    check_op("Size", [x], {})
    g = build_op_graph("Size", [x], {}, symbolic_batch=True)
    exe = graphc.compile(g)
    assert int(exe.run([np.zeros((7, 4, 2), np.float32)])[0]) == 56
    static = graphc.compile(build_op_graph("Size", [x], {}))
    assert not [op for op in static.graph.ops()]  # folded to a const


@pytest.mark.parametrize("xs,ss", [((2, 3, 4, 4), (3, 1, 1)), ((2, 5), (1,)), ((3, 4), (3, 4))])
def test_prelu(xs, ss):
    x = RNG.standard_normal(xs).astype(np.float32)
    check_op("PRelu", [x, RNG.standard_normal(ss).astype(np.float32)], {}, param_slots=(1,))


def test_prelu_gradient():
    x = RNG.standard_normal((2, 3, 2, 2))
    x = np.where(np.abs(x) < 0.05, 0.4, x)
    check_grad("PRelu", [x, RNG.standard_normal((3, 1, 1))], {})


def test_pow_negative_base_and_zero_exponent():
    """A negative base with an integer exponent (GELU's x^3) and x^0 = 1, as numpy/onnx.reference."""
    x = np.array([-2.0, -1.5, -1.0, 0.0, 0.5, 3.0, -3.0, 0.0], np.float32)
    for p in (3.0, 2.0, 0.0, -1.0, 0.5):
        with np.errstate(all="ignore"):
            check_op("Pow", [x, np.full(x.shape, p, np.float32)], {}, rtol=1e-5)
