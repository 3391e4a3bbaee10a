"""Gradients of the data-movement ops (float64 finite differences on compiled code) and the
graphc-domain helper ops they emit (ReshapeAs, SliceGrad, PadGrad, GatherGrad)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphc
from graphc.ir import GraphBuilder, onnx_dtype
from graphc.passes.autodiff import autodiff
from grad_util import check_graphc_op, check_vjp
from harness import check_grad

RNG = np.random.default_rng(0)


def I(*v):
    return np.array(v, dtype=np.int64)


def x(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("shape, perm", [((2, 3), [1, 0]), ((2, 3, 4), [1, 2, 0]), ((2, 3, 4), [2, 1, 0]),
                                         ((1, 3, 1, 2), [3, 0, 2, 1]), ((4,), [0])])
def test_transpose_gradient(shape, perm):
    check_grad("Transpose", [x(*shape)], {"perm": perm})


def test_transpose_gradient_default_perm():
    """No perm = reversed axes. (check_grad cannot run it: cancel_transposes fails on a perm-less
    Transpose that feeds an elementwise op.)"""
    b = GraphBuilder()
    xv, dy = b.input("x", "float64", (2, 3, 4)), b.input("dy", "float64", (4, 3, 2))
    b.output(autodiff(b.g, b.op("Transpose", [xv]), [xv], seed=dy)[xv])
    d = x(4, 3, 2)
    np.testing.assert_array_equal(graphc.compile(b.g).run([x(2, 3, 4), d])[0], d.transpose())


@settings(deadline=None, max_examples=8)
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=4), data=st.data())
def test_transpose_gradient_random_perms(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    check_grad("Transpose", [x(*shape)], {"perm": list(perm)})


@pytest.mark.parametrize("op, shape, arg, attrs", [
    ("Reshape", (2, 3, 4), I(4, -1), {}), ("Reshape", (2, 3, 4), I(0, 12), {}), ("Reshape", (6,), I(1, 2, 3, 1), {}),
    ("Flatten", (2, 3, 4), None, {"axis": 0}), ("Flatten", (2, 3, 4), None, {"axis": 2}),
    ("Flatten", (2, 3, 4), None, {"axis": -1}), ("Squeeze", (2, 1, 4, 1), I(1), {}),
    ("Squeeze", (1, 3, 1), None, {}), ("Unsqueeze", (2, 4), I(0, 3), {}), ("Unsqueeze", (3,), I(-1), {})])
def test_reshape_like_gradients(op, shape, arg, attrs):
    check_grad(op, [x(*shape)] + ([arg] if arg is not None else []), attrs, const_slots=(1,))


@pytest.mark.parametrize("shapes, axis", [([(2, 3), (2, 1), (2, 4)], 1), ([(2, 3), (1, 3)], 0),
                                          ([(2, 2, 3), (2, 1, 3)], -2), ([(3,)], 0), ([(1, 2), (1, 2)], 0)])
def test_concat_gradient(shapes, axis):
    check_grad("Concat", [x(*s) for s in shapes], {"axis": axis})


@pytest.mark.parametrize("shape, starts, ends, axes, steps", [
    ((5, 6), I(1, -1), I(4, 0), I(0, 1), I(1, -2)), ((5, 6), I(1), I(100), None, None),
    ((5, 6), I(-3), I(-1), I(1), None), ((4, 3, 5), I(0, 4), I(3, 0), I(0, 2), I(2, -1)),
    ((6,), I(10), I(-10), I(0), I(-3)), ((3, 4), I(1), I(1), I(1), None)])
def test_slice_gradient(shape, starts, ends, axes, steps):
    check_grad("Slice", [x(*shape), starts, ends, axes, steps], const_slots=(1, 2, 3, 4))


@settings(deadline=None, max_examples=10)
@given(d0=st.integers(1, 5), d1=st.integers(1, 5), data=st.data())
def test_slice_gradient_random(d0, d1, data):
    axis = data.draw(st.sampled_from([0, 1, -1]))
    d = (d0, d1)[axis]
    start, end = data.draw(st.integers(-d - 1, d + 1)), data.draw(st.integers(-d - 1, d + 1))
    step = data.draw(st.sampled_from([1, 2, 3, -1, -2]))
    check_grad("Slice", [x(d0, d1), I(start), I(end), I(axis), I(step)], const_slots=(1, 2, 3, 4))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("shape, pads, axes", [((3, 4), I(1, 2, 2, 1), None), ((3, 4), I(0, 1, 2, 0), None),
                                               ((2, 3, 4), I(2, 1), I(-1)), ((1, 4), I(0, 3, 0, 2), None)])
def test_pad_gradient(mode, shape, pads, axes):
    check_grad("Pad", [x(*shape), pads, None, axes], {"mode": mode}, const_slots=(1, 2, 3))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_pad_gradient_with_cropping(mode):
    check_grad("Pad", [x(3, 5), I(-1, 2, 0, -2)], {"mode": mode}, const_slots=(1,))


def test_pad_constant_value_is_not_differentiated():
    check_grad("Pad", [x(3, 4), I(1, 1, 1, 1), np.array(2.5)], const_slots=(1, 2))


@pytest.mark.parametrize("shape, idx, axis", [
    ((5, 3), I(0, 2, 2, -1, 0), 0), ((2, 5, 3), np.array([[0, 4], [4, 1]]), 1), ((4, 3), np.array(2), 0),
    ((3, 4), np.array([3, -4, 3], np.int32), -1), ((1, 2), I(1, 1, 0), 1)])
def test_gather_gradient_accumulates_repeated_indices(shape, idx, axis):
    check_grad("Gather", [x(*shape), idx], {"axis": axis}, const_slots=(1,))


def test_gather_gradient_with_run_time_indices():
    """Embedding-style: the indices are a graph input, the table gets rows added at them."""
    check_grad("Gather", [x(6, 2), np.array([[5, 0, 5], [1, 1, 2]])], {"axis": 0}, wrt=[0])


@pytest.mark.parametrize("shape, target", [((3, 1), I(2, 3, 4)), ((1,), I(3)), ((2, 3), I(3)), ((2, 1, 3), I(1, 4, 1))])
def test_expand_gradient(shape, target):
    check_grad("Expand", [x(*shape), target], const_slots=(1,))


def test_dropout_and_identity_cast_gradients():
    check_grad("Dropout", [x(3, 4), np.array(0.3)], const_slots=(1,))
    check_grad("Cast", [x(3, 4)], {"to": onnx_dtype("float64")})


def test_cast_gradient_casts_back():
    b = GraphBuilder()
    xv = b.input("x", "float64", (3,))
    y = b.op("Mul", [b.op("Cast", [xv], to=onnx_dtype("float32")), b.const(np.array([1.0, -2.0, 0.5], np.float32))])
    loss = b.op("Cast", [b.op("ReduceSum", [y], keepdims=0)], to=onnx_dtype("float64"))
    g = autodiff(b.g, loss, [xv])[xv]
    assert b.type(g).dtype == "float64"
    b.output(g)
    np.testing.assert_array_equal(graphc.compile(b.g).run([np.ones(3)])[0], [1.0, -2.0, 0.5])


def test_cast_to_int_blocks_the_gradient():
    b = GraphBuilder()
    xv = b.input("x", "float64", (3,))
    back = b.op("Cast", [b.op("Cast", [xv], to=onnx_dtype("int64"))], to=onnx_dtype("float64"))
    assert autodiff(b.g, b.op("ReduceSum", [back], keepdims=0), [xv])[xv] is None


# --- float32 and symbolic batch dims -----------------------------------------------------------
@pytest.mark.parametrize("op, ins, attrs, symbolic", [
    ("Reshape", [x(2, 2, 3), I(0, -1)], {}, {0: 0}),                  # Reshape(dy, [0, 2, 3])
    ("Flatten", [x(2, 2, 3)], {"axis": 1}, {0: 0}),
    ("Unsqueeze", [x(2, 4), I(0)], {}, {0: 0}),                       # graphc.ReshapeAs
    ("Squeeze", [x(1, 2, 4), I(0)], {}, {0: 1}),                      # graphc.ReshapeAs
    ("Transpose", [x(2, 3, 4)], {"perm": [1, 2, 0]}, {0: 0}),
    ("Concat", [x(2, 3), x(2, 1)], {"axis": 1}, {0: 0, 1: 0}),
    ("Slice", [x(2, 6), I(1), I(5), I(1), I(2)], {}, {0: 0}),
    ("Pad", [x(2, 3), I(0, 1, 0, 2)], {"mode": "reflect"}, {0: 0}),
    ("Gather", [x(2, 5), I(4, 0, 4)], {"axis": 1}, {0: 0}),
    ("Gather", [x(7, 3), np.array([[6, 0], [6, 2]])], {"axis": 0}, {1: 0}),  # embedding: batch in the indices
    ("Expand", [x(2, 1), I(1, 3)], {}, {0: 0})])
def test_float32_and_symbolic_batch_gradients(op, ins, attrs, symbolic):
    const_slots = tuple(i for i, v in enumerate(ins) if i > 0 and v.dtype.kind == "i" and i not in symbolic)
    check_vjp(op, ins, attrs, const_slots=const_slots, symbolic=symbolic)


# --- graphc-domain helper ops ------------------------------------------------------------------
def test_reshape_as_op():
    check_graphc_op("ReshapeAs", [x(2, 6), x(3, 1, 4)])
    check_graphc_op("ReshapeAs", [x(5), x(5, 1)])


@pytest.mark.parametrize("dy_shape, like_shape, starts, steps", [
    ((3, 2), (5, 6), [1, 5], [1, -2]), ((2,), (6,), [4], [-3]),
    ((1, 2, 3), (2, 4, 3), [1, 0, 0], [1, 2, 1]), ((0, 3), (2, 3), [0, 0], [1, 1])])
def test_slice_grad_op(dy_shape, like_shape, starts, steps):
    check_graphc_op("SliceGrad", [x(*dy_shape), x(*like_shape)], {"starts": starts, "steps": steps})


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("dy_shape, like_shape, begin", [((6, 5), (3, 4), [1, 0]), ((3, 9), (3, 4), [0, 3]),
                                                         ((2, 6), (3, 4), [-1, 2])])
def test_pad_grad_op(mode, dy_shape, like_shape, begin):
    check_graphc_op("PadGrad", [x(*dy_shape), x(*like_shape)], {"mode": mode, "begin": begin})


@pytest.mark.parametrize("like_shape, idx, axis", [
    ((5, 3), I(0, 2, 2, -1, 9), 0), ((2, 4, 3), np.array([[0, 3], [3, -5]], np.int32), 1),
    ((3, 4), np.array(1), 1), ((3,), I(2, 2, 2), 0)])
def test_gather_grad_op(like_shape, idx, axis):
    """Repeated indices add up; negative ones wrap; out-of-range ones (9, -5) add nothing."""
    a = axis % len(like_shape)
    dy_shape = like_shape[:a] + idx.shape + like_shape[a + 1:]
    check_graphc_op("GatherGrad", [x(*dy_shape), idx, x(*like_shape)], {"axis": axis})


@pytest.mark.parametrize("op, shape, arg, attrs, uses", [
    ("Flatten", ("N", 2, 3), None, {"axis": 1}, "Reshape"),       # Reshape(dy, [0, 2, 3])
    ("Reshape", (2, 3), I(6), {}, "Reshape"),                      # static: Reshape(dy, [2, 3])
    ("Unsqueeze", ("N", 4), I(0), {}, "ReshapeAs"),               # (1, N, 4) -> (N, 4): no const shape says that
    ("Squeeze", (1, "N"), I(0), {}, "ReshapeAs")])
def test_reshape_gradients_use_onnx_reshape_when_a_const_shape_can_say_it(op, shape, arg, attrs, uses):
    b = GraphBuilder()
    xv = b.input("x", "float64", shape)
    y = b.op(op, [xv] + ([b.const(arg)] if arg is not None else []), **attrs)
    before = {o.name for o in b.g.ops()}
    autodiff(b.g, b.op("ReduceSum", [y], keepdims=0), [xv])
    new = [o.op_type for o in b.g.ops() if o.name not in before]
    assert uses in new and ({"Reshape", "ReshapeAs"} - {uses}).isdisjoint(new)
