"""The autodiff pass: gradients as IR ops, checked by float64 finite differences on compiled code."""
import numpy as np
import pytest

from graphc.errors import UnsupportedOpError
from graphc.ir import GraphBuilder
from graphc.ops.common import same_as_input
from graphc.ops.registry import OpDef, register_op
from graphc.passes.autodiff import autodiff
from harness import check_grad

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (3,))])
def test_binary_gradients_unbroadcast(op, shapes):
    a = RNG.standard_normal(shapes[0])
    b = RNG.standard_normal(shapes[1]) + (3 if op == "Div" else 0)
    check_grad(op, [a, b])


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean"])
@pytest.mark.parametrize("axes, keepdims", [(None, 0), ([1], 0), ([0, 2], 1), ([-1], 0)])
def test_reduction_gradients(op, axes, keepdims):
    x = RNG.standard_normal((2, 3, 4))
    ins = [x] if axes is None else [x, np.array(axes, np.int64)]
    check_grad(op, ins, {"keepdims": keepdims}, const_slots=(1,))


def test_value_used_twice_accumulates():
    b = GraphBuilder()
    x = b.input("x", "float64", (3,))
    loss = b.op("ReduceSum", [b.op("Mul", [x, x])], keepdims=0)
    grads = autodiff(b.g, loss, [x])
    b.output(grads[x])
    import graphc
    xv = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(graphc.compile(b.g).run([xv])[0], 2 * xv)


@register_op("NoGrad", domain="test", schema=False)
class NoGrad(OpDef):
    """A differentiable-looking op without a gradient rule."""
    infer = staticmethod(same_as_input)


def test_missing_gradient_rule_names_the_op():
    b = GraphBuilder()
    x = b.input("x", "float64", (3,))
    y = b.op("NoGrad", [x], domain="test", name="nograd")
    loss = b.op("ReduceSum", [y], keepdims=0)
    with pytest.raises(UnsupportedOpError, match="nograd.*NoGrad.*has no gradient rule"):
        autodiff(b.g, loss, [x])


def test_unreached_value_has_no_gradient():
    b = GraphBuilder()
    x, z = b.input("x", "float64", (3,)), b.input("z", "float64", (3,))
    loss = b.op("ReduceSum", [x], keepdims=0)
    assert autodiff(b.g, loss, [x, z])[z] is None
