"""Gradients of Gemm and MatMul (float64 finite differences on compiled code) and the
graphc.MatMulAtB helper op."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from graphc.ir import GraphBuilder
from graphc.passes.autodiff import autodiff
from grad_util import check_graphc_op, check_vjp
from harness import check_grad

RNG = np.random.default_rng(0)


def gemm_inputs(m, k, n, ta, tb, c_shape):
    a = RNG.standard_normal((k, m) if ta else (m, k))
    b = RNG.standard_normal((n, k) if tb else (k, n))
    return [a, b] + ([RNG.standard_normal(c_shape)] if c_shape is not None else [])


@pytest.mark.parametrize("ta", [0, 1])
@pytest.mark.parametrize("tb", [0, 1])
@pytest.mark.parametrize("c_shape, alpha, beta", [(None, 1.0, 1.0), ((4,), 0.5, 2.0), ((3, 1), 1.0, 1.0),
                                                  ((3, 4), -1.5, 0.25), ((), 1.0, 3.0), ((1, 1), 2.0, 1.0)])
def test_gemm_gradients(ta, tb, c_shape, alpha, beta):
    attrs = {"transA": ta, "transB": tb, "alpha": alpha, "beta": beta}
    check_grad("Gemm", gemm_inputs(3, 5, 4, ta, tb, c_shape), attrs)


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (1, 3, 2), (4, 1, 3), (2, 3, 1)])
def test_gemm_gradients_size_one_dims(m, k, n):
    check_grad("Gemm", gemm_inputs(m, k, n, 0, 1, (n,)), {"transB": 1})


def _op_count(g, op_type):
    return sum(op.op_type == op_type for op in g.ops())


def test_gemm_gradient_uses_trans_flags_not_transposes():
    b = GraphBuilder()
    x, w, c = b.input("x", "float64", ("N", 3)), b.input("w", "float64", (4, 3)), b.input("c", "float64", (4,))
    y = b.op("Gemm", [x, w, c], transB=1)
    autodiff(b.g, b.op("ReduceSum", [y], keepdims=0), [x, w, c])
    assert _op_count(b.g, "Transpose") == 0 and _op_count(b.g, "Gemm") == 3


@pytest.mark.parametrize("sa, sb", [
    ((3, 4), (4, 5)), ((1, 1), (1, 1)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
    ((2, 3, 4), (4, 5)), ((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (3, 4, 2)), ((1, 3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4, 1)), ((1, 2, 1, 4), (2, 4, 3))])
def test_matmul_gradients(sa, sb):
    check_grad("MatMul", [RNG.standard_normal(sa), RNG.standard_normal(sb)])


@settings(deadline=None, max_examples=10)
@given(m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3),
       batch=st.lists(st.tuples(st.sampled_from([1, 2]), st.sampled_from([1, 2])), max_size=2),
       a_vec=st.booleans(), b_vec=st.booleans(), drop_a=st.integers(0, 2), drop_b=st.integers(0, 2))
def test_matmul_gradients_random_shapes(m, k, n, batch, a_vec, b_vec, drop_a, drop_b):
    """Random ranks (1-D operands included) and broadcast batch dims (size 1 vs 2, missing axes)."""
    ba, bb = tuple(p for p, _ in batch[drop_a:]), tuple(q for _, q in batch[drop_b:])  # right-aligned pairs
    sa = (k,) if a_vec else ba + (m, k)
    sb = (k,) if b_vec else bb + (k, n)
    check_grad("MatMul", [RNG.standard_normal(sa), RNG.standard_normal(sb)])


def test_dense_on_a_sequence_folds_the_weight_gradient_into_one_gemm():
    b = GraphBuilder()
    x, w = b.input("x", "float64", ("N", 5, 3)), b.input("w", "float64", (3, 4))
    autodiff(b.g, b.op("ReduceSum", [b.op("MatMul", [x, w])], keepdims=0), [w])
    assert _op_count(b.g, "MatMulAtB") == 1 and _op_count(b.g, "ReduceSum") == 1  # the loss's, no batch sum


@pytest.mark.parametrize("op, ins, attrs, symbolic", [
    ("Gemm", gemm_inputs(3, 2, 4, 0, 1, (4,)), {"transB": 1, "alpha": 0.5, "beta": 2.0}, {0: 0}),
    ("Gemm", gemm_inputs(3, 2, 4, 1, 0, (3, 4)), {"transA": 1, "alpha": 0.5, "beta": 2.0}, {0: 1, 2: 0}),
    ("MatMul", [RNG.standard_normal((2, 5, 3)), RNG.standard_normal((3, 4))], {}, {0: 0}),  # graphc.MatMulAtB
    ("MatMul", [RNG.standard_normal((2, 3)), RNG.standard_normal((3,))], {}, {0: 0}),
    ("MatMul", [RNG.standard_normal((2, 2, 3)), RNG.standard_normal((2, 3, 4))], {}, {0: 0, 1: 0})])
def test_float32_and_symbolic_batch_gradients(op, ins, attrs, symbolic):
    check_vjp(op, ins, attrs, symbolic=symbolic)


@pytest.mark.parametrize("sa, sb", [((5, 3), (5, 4)), ((2, 3, 4), (2, 3, 2)), ((1, 1), (1, 1)), ((3,), (3,))])
def test_matmul_at_b_op(sa, sb):
    check_graphc_op("MatMulAtB", [RNG.standard_normal(sa), RNG.standard_normal(sb)])
