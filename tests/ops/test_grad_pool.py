"""Pool gradients: finite differences on compiled float64 code, and the graphc-domain MaxPoolGrad /
AveragePoolGrad kernels against their numpy references (which are checked against the forward
references: the adjoint identity for the linear AveragePool, argmax routing for MaxPool)."""
import numpy as np
import pytest

import graphc
from graphc.errors import ShapeError
from graphc.ir import GraphBuilder, TensorType
from graphc.ir.graph import Op
from graphc.ops import registry
from graphc.ops.pool import _geometry, pool_reference
from harness import assert_close, check_grad


def distinct(shape, seed=0):
    """Distinct values in [-0.5, 0.5): no ties, so every max has a unique finite-difference slope."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) / n - 0.5


MAX_CASES = [
    ((2, 2, 6, 6), dict(kernel_shape=[2, 2], strides=[2, 2])),  # Keras MaxPooling2D
    ((2, 2, 7, 7), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 2, 1])),  # asymmetric pads
    ((2, 2, 7, 7), dict(kernel_shape=[3, 3])),  # overlapping windows, stride 1
    ((1, 2, 7, 7), dict(kernel_shape=[2, 2], strides=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1])),
    ((2, 2, 7, 7), dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)),
    ((2, 2, 5, 7), dict(kernel_shape=[2, 3], strides=[2, 2], auto_pad="SAME_LOWER")),
    ((2, 3, 9), dict(kernel_shape=[3], strides=[2], pads=[1, 1])),  # 1-D
    ((1, 2, 4, 5, 3), dict(kernel_shape=[2, 2, 2], strides=[2, 2, 1], auto_pad="SAME_UPPER")),  # 3-D
]


@pytest.mark.parametrize("shape,attrs", MAX_CASES, ids=[str(a) for _, a in MAX_CASES])
def test_maxpool_gradient(shape, attrs):
    check_grad("MaxPool", [distinct(shape)], attrs)


AVG_CASES = [
    ((2, 2, 6, 6), dict(kernel_shape=[2, 2], strides=[2, 2])),
    ((2, 2, 7, 7), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 2, 1])),
    ((2, 2, 7, 7), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)),
    ((2, 2, 5, 7), dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER")),  # Keras 'same'
    ((2, 2, 9), dict(kernel_shape=[3], strides=[2], pads=[2, 1])),  # 1-D (AveragePool-18 has no dilations)
    ((1, 2, 4, 5, 3), dict(kernel_shape=[2, 3, 2], strides=[1, 2, 1], pads=[1, 0, 1, 0, 1, 1])),  # 3-D
]


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("shape,attrs", AVG_CASES, ids=[str(a) for _, a in AVG_CASES])
def test_averagepool_gradient(shape, attrs, count_include_pad):
    check_grad("AveragePool", [distinct(shape)], dict(attrs, count_include_pad=count_include_pad))


@pytest.mark.parametrize("op_type", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (2, 2, 7), (1, 2, 3, 2, 3)])
def test_global_pool_gradient(op_type, shape):
    check_grad(op_type, [distinct(shape)])


# --- the graphc-domain kernels ----------------------------------------------------------------

def _pool_op(op_type, attrs):
    return Op("pool", op_type, registry.get(op_type).full_attrs(attrs))


def _compile_grad(op_type, ins, attrs, dtype):
    """One graphc-domain pool gradient op with a symbolic batch."""
    b = GraphBuilder(name=op_type)
    names = [b.input(n, dtype, ("N",) + s[1:]) for n, s in ins]
    b.output(b.op(op_type, names, domain="graphc", **attrs))
    return graphc.compile(b.g)


KERNEL_CASES = MAX_CASES + [
    ((2, 3, 13, 13), dict(kernel_shape=[3, 3], strides=[2, 2], dilations=[2, 2], pads=[1, 1, 2, 2])),
    ((2, 3, 13, 7), dict(kernel_shape=[2, 3], strides=[1, 2], dilations=[3, 1])),
    ((2, 3, 7, 13), dict(kernel_shape=[2, 2], strides=[3, 3], pads=[1, 0, 1, 1], ceil_mode=1)),
    ((2, 3, 7, 7), dict(kernel_shape=[7, 7])),  # window = input
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,attrs", KERNEL_CASES, ids=[str(a) for _, a in KERNEL_CASES])
def test_pool_grad_kernels_match_references(shape, attrs, dtype):
    x_t = TensorType(dtype, shape)
    out = _geometry(_pool_op("MaxPool", attrs), x_t).out
    ys = shape[:2] + out
    mx = _compile_grad("MaxPoolGrad", [("x", shape), ("dy", ys)], attrs, dtype)
    avgs = {c: _compile_grad("AveragePoolGrad", [("dy", ys), ("x", shape)], dict(attrs, count_include_pad=c), dtype)
            for c in (0, 1)} if "dilations" not in attrs else {}  # AveragePool-18 has no dilations
    rng = np.random.default_rng(2)
    for n in (shape[0], 1, 3):
        x = distinct((n,) + shape[1:]).astype(dtype)
        dy = rng.standard_normal((n,) + ys[1:]).astype(dtype)
        ref = registry.run_reference(next(iter(mx.graph.ops())), [x, dy])[0]
        assert_close(mx.run([x, dy])[0], ref, what="MaxPoolGrad kernel")
        # the reference routes each dY to its window's maximum: dX is nonzero exactly there
        y = pool_reference(x, _geometry(_pool_op("MaxPool", attrs), TensorType(dtype, x.shape)), "max")
        np.testing.assert_allclose(ref.sum(), dy.sum(), rtol=1e-4)
        assert set(x[ref != 0].tolist()) <= set(y[dy != 0].tolist())
        for c, exe in avgs.items():
            ref = registry.run_reference(next(iter(exe.graph.ops())), [dy, x])[0]
            assert_close(exe.run([dy, x])[0], ref, what=f"AveragePoolGrad kernel (count_include_pad={c})")
            geo = _geometry(_pool_op("AveragePool", dict(attrs, count_include_pad=c)), TensorType(dtype, x.shape))
            y = pool_reference(x.astype(np.float64), geo, "avg", bool(c))
            np.testing.assert_allclose(np.sum(x * ref), np.sum(y * dy), rtol=1e-4 if dtype == "float32" else 1e-10)


def test_maxpool_grad_ties_and_nans():
    """Ties (ReLU zeros) give the whole gradient to the first maximum; NaNs never win, and a window
    without a number gets no gradient."""
    x = np.array([[[[0.0, 0.0, 1.0, np.nan], [0.0, 0.0, 1.0, 2.0],
                    [np.nan, np.nan, -np.inf, -np.inf], [np.nan, np.nan, -np.inf, -np.inf]]]])
    dy = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    attrs = dict(kernel_shape=[2, 2], strides=[2, 2])
    exe = _compile_grad("MaxPoolGrad", [("x", x.shape), ("dy", dy.shape)], attrs, "float64")
    want = np.array([[[[1.0, 0, 0, 0], [0, 0, 0, 2.0], [0, 0, 4.0, 0], [0, 0, 0, 0]]]])
    np.testing.assert_array_equal(exe.run([x, dy])[0], want)
    np.testing.assert_array_equal(registry.run_reference(next(iter(exe.graph.ops())), [x, dy])[0], want)


def test_pool_gradients_are_graphc_ops():
    from graphc.passes.autodiff import autodiff
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 2, 6, 6))
    h = b.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    h = b.op("AveragePool", [h], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    loss = b.op("ReduceSum", [b.op("GlobalMaxPool", [h])], keepdims=0)
    grads = autodiff(b.g, loss, [x])
    types = [(op.domain, op.op_type) for op in b.g.ops()]
    assert ("graphc", "MaxPoolGrad") in types and ("graphc", "AveragePoolGrad") in types
    assert b.type(grads[x]) == b.type(x)


@pytest.mark.parametrize("op_type,ins,match", [
    ("MaxPoolGrad", [(2, 3, 6, 6), (2, 3, 3, 2)], r"dY expected float32\[2,3,3,3\]"),
    ("AveragePoolGrad", [(2, 3, 2, 3), (2, 3, 6, 6)], r"dY expected float32\[2,3,3,3\]"),
])
def test_pool_grad_shape_errors(op_type, ins, match):
    b = GraphBuilder()
    names = [b.input(f"i{j}", "float32", s) for j, s in enumerate(ins)]
    with pytest.raises(ShapeError, match=match):
        b.op(op_type, names, domain="graphc", kernel_shape=[2, 2], strides=[2, 2])
