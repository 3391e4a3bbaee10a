"""Gradients of Softmax, LogSoftmax, ReduceMax/ReduceMin (float64 finite differences on compiled
code; ReduceSum/ReduceMean are in tests/passes/test_autodiff.py) and the graphc-domain
SoftmaxGrad/LogSoftmaxGrad ops."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphc
from graphc.ir import GraphBuilder
from graphc.passes.autodiff import autodiff
from grad_util import check_graphc_op, check_vjp
from harness import check_grad

RNG = np.random.default_rng(0)


def I(*v):
    return np.array(v, dtype=np.int64)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("shape, axis", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1), ((1, 6), -1), ((4,), 0),
                                         ((2, 1, 3), 1)])
def test_softmax_gradients(op, shape, axis):
    check_grad(op, [RNG.standard_normal(shape) * 2], {"axis": axis})


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
@pytest.mark.parametrize("axes, keepdims", [(None, 0), (None, 1), ([1], 0), ([0, 2], 1), ([-1], 0), ([0, 1, 2], 0)])
def test_reduce_extremum_gradients(op, axes, keepdims):
    x = RNG.permutation(24).reshape(2, 3, 4) * 0.1 + RNG.uniform(0, 0.01, (2, 3, 4))  # tie-free, well separated
    ins = [x] if axes is None else [x, I(*axes)]
    check_grad(op, ins, {"keepdims": keepdims}, const_slots=(1,))


@settings(deadline=None, max_examples=10)
@given(op=st.sampled_from(["ReduceMax", "ReduceMin"]), shape=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       keepdims=st.sampled_from([0, 1]), data=st.data())
def test_reduce_extremum_gradients_random(op, shape, keepdims, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    n = int(np.prod(shape))
    x = np.random.default_rng(n).permutation(n).reshape(shape) * 0.5  # tie-free
    ins = [x, I(*axes)] if axes else [x]
    check_grad(op, ins, {"keepdims": keepdims}, const_slots=(1,))


def test_reduce_noop_with_empty_axes_passes_the_gradient_through():
    check_grad("ReduceMax", [RNG.standard_normal((2, 3)), I()], {"noop_with_empty_axes": 1}, const_slots=(1,))


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
def test_reduce_extremum_ties_split_evenly(op):
    b = GraphBuilder()
    xv = b.input("x", "float64", (2, 4))
    y = b.op(op, [xv, b.const(I(1))], keepdims=0)
    loss = b.op("ReduceSum", [b.op("Mul", [y, b.const(np.array([3.0, 2.0]))])], keepdims=0)
    b.output(autodiff(b.g, loss, [xv])[xv])
    s = 1 if op == "ReduceMax" else -1
    xs = s * np.array([[1.0, 5.0, 5.0, 5.0], [2.0, 0.0, 2.0, 1.0]])
    np.testing.assert_allclose(graphc.compile(b.g).run([xs])[0], [[0, 1, 1, 1], [1, 0, 1, 0]])


@pytest.mark.parametrize("op, ins, attrs, symbolic", [
    ("Softmax", [RNG.standard_normal((2, 5))], {"axis": -1}, {0: 0}),
    ("LogSoftmax", [RNG.standard_normal((3, 2, 4))], {"axis": 1}, {0: 0}),
    ("Softmax", [RNG.standard_normal((2, 5))], {"axis": 0}, {0: 0}),  # along the symbolic axis
    ("ReduceMax", [RNG.permutation(12).reshape(2, 6) * 1.0, I(1)], {"keepdims": 0}, {0: 0}),
    ("ReduceMin", [RNG.permutation(12).reshape(2, 2, 3) * 1.0, I(0, 2)], {"keepdims": 1}, {0: 1})])
def test_float32_and_symbolic_batch_gradients(op, ins, attrs, symbolic):
    check_vjp(op, ins, attrs, const_slots=(1,), symbolic=symbolic)


@pytest.mark.parametrize("op", ["SoftmaxGrad", "LogSoftmaxGrad"])
@pytest.mark.parametrize("shape, axis", [((3, 4, 5), 1), ((3, 4, 5), -1), ((2, 6), 0), ((1,), 0)])
def test_softmax_grad_ops(op, shape, axis):
    z = RNG.standard_normal(shape)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    y = e / e.sum(axis=axis, keepdims=True)
    check_graphc_op(op, [RNG.standard_normal(shape), np.log(y) if op == "LogSoftmaxGrad" else y], {"axis": axis})
