"""Gradients of the elementwise ops (float64 finite differences on compiled code) and the
graphc-domain helper ops they emit (compiled kernel vs numpy reference)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import graphc
from graphc.errors import UnsupportedOpError
from graphc.ir import GraphBuilder
from graphc.passes.autodiff import autodiff
from grad_util import away, check_graphc_op, check_vjp
from harness import check_grad

RNG = np.random.default_rng(0)

# op -> (attrs, input generator); inputs stay away from kinks (0 for relu/abs/leaky, the clip
# points of hard_sigmoid) and inside the domain (log, sqrt, reciprocal)
UNARY = {
    "Relu": ({}, lambda r, s: away(r, s)),
    "LeakyRelu": ({"alpha": 0.2}, lambda r, s: away(r, s)),
    "Elu": ({"alpha": 1.3}, lambda r, s: away(r, s, scale=2)),
    "Selu": ({}, lambda r, s: away(r, s, scale=2)),
    "Sigmoid": ({}, lambda r, s: r.standard_normal(s) * 3),
    "HardSigmoid": ({"alpha": 0.3, "beta": 0.4}, lambda r, s: r.uniform(-1, 1, s) + 0.05),
    "Tanh": ({}, lambda r, s: r.standard_normal(s) * 2),
    "Softplus": ({}, lambda r, s: r.standard_normal(s) * 4),
    "Softsign": ({}, lambda r, s: r.standard_normal(s) * 3),
    "Exp": ({}, lambda r, s: r.standard_normal(s)),
    "Log": ({}, lambda r, s: r.uniform(0.2, 3, s)),
    "Neg": ({}, lambda r, s: r.standard_normal(s)),
    "Abs": ({}, lambda r, s: away(r, s)),
    "Sqrt": ({}, lambda r, s: r.uniform(0.2, 3, s)),
    "Reciprocal": ({}, lambda r, s: away(r, s, lo=0.3)),
    "Identity": ({}, lambda r, s: r.standard_normal(s)),
}


@pytest.mark.parametrize("op", sorted(UNARY))
@pytest.mark.parametrize("shape", [(1,), (2, 3), (1, 4, 1)])
def test_unary_gradients(op, shape):
    attrs, gen = UNARY[op]
    check_grad(op, [gen(RNG, shape)], attrs)


@settings(deadline=None, max_examples=10)
@given(op=st.sampled_from(sorted(UNARY)), shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
       seed=st.integers(0, 2 ** 16))
def test_unary_gradients_random_shapes(op, shape, seed):
    attrs, gen = UNARY[op]
    check_grad(op, [np.asarray(gen(np.random.default_rng(seed), tuple(shape)))], attrs)


@pytest.mark.parametrize("op, attrs", [("LeakyRelu", {"alpha": -0.5}), ("LeakyRelu", {"alpha": 0.0}),
                                       ("Elu", {"alpha": -0.7}), ("Elu", {"alpha": 0.0}),
                                       ("Selu", {"alpha": 1.2, "gamma": -0.5})])
def test_activation_attributes_that_need_the_input(op, attrs):
    """Negative slopes break 'sign of y = sign of x': the rule then reads x instead of y."""
    check_grad(op, [away(RNG, (3, 4), scale=2)], attrs)


def _grad_program(op, ins, attrs=None, const_slots=()):
    """d sum(op(ins)) / d ins (the non-const ones), computed by the compiled program."""
    b = GraphBuilder()
    xs = [b.const(np.float64(x), name=f"c{i}") if i in const_slots else b.input(f"x{i}", "float64", np.shape(x))
          for i, x in enumerate(ins)]
    wrt = [x for i, x in enumerate(xs) if i not in const_slots]
    grads = autodiff(b.g, b.op("ReduceSum", [b.op(op, xs, **(attrs or {}))], keepdims=0), wrt)
    b.output(*[grads[x] for x in wrt])
    return graphc.compile(b.g).run([np.asarray(x, np.float64) for i, x in enumerate(ins) if i not in const_slots])


def test_relu_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(_grad_program("Relu", [[-1.0, 0.0, 2.0]])[0], [0, 0, 1])


def test_abs_gradient_is_sign():
    np.testing.assert_array_equal(_grad_program("Abs", [[-1.5, 0.0, 2.0]])[0], [-1, 0, 1])


# --- Clip ------------------------------------------------------------------------------------
@pytest.mark.parametrize("lo, hi", [(-0.5, 0.7), (None, 0.3), (-0.2, None), (None, None)])
def test_clip_gradient(lo, hi):
    x = away(RNG, (3, 5))
    x[np.abs(x - (lo or 0)) < 0.05] += 0.1  # away from the bounds
    x[np.abs(x - (hi or 0)) < 0.05] += 0.1
    ins = [x, None if lo is None else np.array(lo), None if hi is None else np.array(hi)]
    check_grad("Clip", ins, const_slots=(1, 2))


def test_clip_gradient_bounds_inclusive():
    np.testing.assert_array_equal(
        _grad_program("Clip", [[-2.0, -1.0, 0.0, 1.0, 2.0], -1.0, 1.0], const_slots=(1, 2))[0], [0, 1, 1, 1, 0])


def test_clip_bound_that_needs_a_gradient_is_refused():
    b = GraphBuilder()
    x, lo = b.input("x", "float64", (3,)), b.input("lo", "float64", ())
    loss = b.op("ReduceSum", [b.op("Clip", [x, lo], name="clip")], keepdims=0)
    with pytest.raises(UnsupportedOpError, match="clip.*Clip.*min/max"):
        autodiff(b.g, loss, [x, lo])


# --- Pow -------------------------------------------------------------------------------------
@pytest.mark.parametrize("xs, ps", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (2, 1, 4)), ((2,), ())])
def test_pow_gradient_both_inputs(xs, ps):
    check_grad("Pow", [RNG.uniform(0.3, 2.0, xs), RNG.uniform(-2, 2, ps)])


def test_pow_gradient_with_const_exponent_and_at_zero():
    check_grad("Pow", [RNG.uniform(0.3, 2.0, (4,)), np.array(3.0)], const_slots=(1,))
    dx, dp = _grad_program("Pow", [[0.0, 1.5], [2.0, 2.0]])
    np.testing.assert_allclose(dx, [0.0, 3.0])  # p x^(p-1) stays finite at x = 0
    np.testing.assert_allclose(dp, [0.0, 1.5 ** 2 * np.log(1.5)])  # xlogy: 0 * log(0) = 0


# --- variadic Sum / Mean / Max / Min ---------------------------------------------------------
@pytest.mark.parametrize("op", ["Sum", "Mean", "Max", "Min"])
@pytest.mark.parametrize("shapes", [[(3, 4)], [(3, 4), (3, 4)], [(3, 4), (4,), (2, 1, 1)], [(1,), (2, 3), (3,)]])
def test_variadic_gradients(op, shapes):
    ins = [RNG.standard_normal(s) for s in shapes]
    if len(shapes) > 1 and len(set(shapes)) == 1 and op in ("Sum", "Mean"):
        # every input's gradient is then the same value; the runtime mishandles a graph output
        # listed twice (only one of the two arrays is written), so check one input at a time
        for slot in range(len(ins)):
            check_grad(op, ins, wrt=[slot])
    else:
        check_grad(op, ins)


@settings(deadline=None, max_examples=10)
@given(op=st.sampled_from(["Max", "Min", "Pow", "Mean"]),
       shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), seed=st.integers(0, 2 ** 16))
def test_broadcasting_gradients_random_shapes(op, shapes, seed):
    r = np.random.default_rng(seed)
    a, b = shapes.input_shapes
    ins = [r.uniform(0.3, 2, a), r.uniform(-2, 2, b)] if op == "Pow" else [r.standard_normal(a), r.standard_normal(b)]
    for wrt in ([[0], [1]] if op == "Mean" and a == b else [None]):  # see test_variadic_gradients
        check_grad(op, ins, wrt=wrt)


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_extremum_ties_go_to_the_first_input(op):
    a, b, c = [1.0, 2.0, 3.0], [1.0, 0.0, 3.0], [1.0, 2.0, 3.0]
    da, db, dc = _grad_program(op, [a, b, c])
    first = [1, 1, 1] if op == "Max" else [1, 0, 1]
    np.testing.assert_array_equal(da, first)
    np.testing.assert_array_equal(db, [0, 1 - first[1], 0])
    np.testing.assert_array_equal(dc, [0, 0, 0])


# --- float32 and symbolic-batch gradient programs -----------------------------------------------
@pytest.mark.parametrize("op", sorted(UNARY) + ["Pow", "Mean", "Max", "Clip"])
def test_float32_gradient_programs(op):
    if op in UNARY:
        attrs, gen = UNARY[op]
        check_vjp(op, [gen(RNG, (3, 4))], attrs)
    elif op == "Clip":
        check_vjp(op, [away(RNG, (3, 4)), np.array(-0.5), np.array(0.5)], const_slots=(1, 2))
    else:
        check_vjp(op, [RNG.uniform(0.3, 2, (3, 4)), RNG.uniform(-2, 2, (4,))])


@pytest.mark.parametrize("op", ["Relu", "Sigmoid", "Max", "Sum"])
def test_symbolic_batch_gradients(op):
    ins = [away(RNG, (2, 3))] + ([RNG.standard_normal((3,))] if op in ("Max", "Sum") else [])
    check_vjp(op, ins, float32=False, symbolic={0: 0})


# --- the graphc-domain helper ops: compiled kernels vs their numpy references ---------------
def _act_inputs(shape=(3, 5)):
    y = RNG.standard_normal(shape)
    y.flat[:3] = [0.0, 1.0, -1.0]  # the boundaries of the masks
    return [RNG.standard_normal(shape), y]


@pytest.mark.parametrize("op, attrs", [
    ("ReluGrad", {}), ("LeakyReluGrad", {"alpha": 0.3}), ("EluGrad", {"alpha": 1.5}),
    ("EluGrad", {"alpha": 1.7, "gamma": 1.05, "from_output": 0}), ("SigmoidGrad", {}),
    ("HardSigmoidGrad", {"alpha": 0.25}), ("TanhGrad", {}), ("SoftplusGrad", {}), ("SoftsignGrad", {}),
    ("AbsGrad", {}), ("ReciprocalGrad", {}), ("EqualMask", {})])
def test_elementwise_helper_ops(op, attrs):
    check_graphc_op(op, _act_inputs(), attrs)
    check_graphc_op(op, [RNG.standard_normal((2, 1, 4)), RNG.standard_normal((3, 1))], attrs)  # broadcasting


def test_sqrt_grad_and_xlogy_ops():
    check_graphc_op("SqrtGrad", [RNG.standard_normal((3, 4)), RNG.uniform(0.1, 2, (3, 4))])
    x = RNG.uniform(0, 2, (3, 4))
    x[0] = 0.0
    check_graphc_op("XLogY", [x, RNG.uniform(0.1, 2, (4,))])
    check_graphc_op("XLogY", [np.zeros(3), np.zeros(3)])  # 0 * log(0) = 0


def test_clip_grad_op_optional_bounds():
    dy, x = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    x[0, :2] = [-0.5, 0.5]
    check_graphc_op("ClipGrad", [dy, x, np.array(-0.5), np.array(0.5)])
    check_graphc_op("ClipGrad", [dy, x, None, np.array(0.5)])
    check_graphc_op("ClipGrad", [dy, x, np.array(-0.5)])
    check_graphc_op("ClipGrad", [dy, x])


def test_select_first_equal_op():
    xs = [np.array([[1.0, 2.0, 3.0]]), np.array([[1.0], [2.0]]), np.array([1.0, 2.0, 4.0])]
    y = np.maximum.reduce(np.broadcast_arrays(*xs))
    dy = RNG.standard_normal(y.shape)
    for i in range(3):
        check_graphc_op("SelectFirstEqual", [dy, y, *xs], {"index": i})
