"""The pools' input gradients with the activation gradient below them fused in (passes/fuse_epilogue):
Before/Expected training graphs, gradients against float64 finite differences, fusion on and off."""
import numpy as np
import pytest

import graphc
from graphc.ir import GraphBuilder
from graphc.passes.autodiff import autodiff
from graphc.passes.pipeline import INFERENCE, UNFUSED, run
from tests.harness import assert_close

RNG = np.random.default_rng(5)


def _train_graph(pool_op, act="Relu", dtype="float64", pool=(2, 2), strides=(2, 2), pads=(0, 0, 0, 0)):
    """loss = sum(pool(act(x)) * r); returns the graph with dloss/dx as its second output."""
    b = GraphBuilder()
    x = b.input("x", dtype, (3, 4, 7, 6))
    y = b.op(act, [x], name="act")
    attrs = dict(kernel_shape=list(pool), strides=list(strides), pads=list(pads))
    p = b.op(pool_op, [y], name="pool", **attrs)
    r = b.const(RNG.standard_normal(b.type(p).shape).astype(dtype), name="r")
    loss = b.op("ReduceSum", [b.op("Mul", [p, r])], keepdims=0, name="loss")
    grads = autodiff(b.g, loss, [x])
    b.output(loss, grads[x])
    return b.g


def _kinds(g):
    return [(op.domain, op.op_type) for op in g.ops()]


@pytest.mark.parametrize("pool_op", ["MaxPool", "AveragePool"])
def test_activation_gradient_fuses_into_the_pool_gradient(pool_op):
    g = _train_graph(pool_op)
    before = run(g, UNFUSED)
    assert ("graphc", pool_op + "Grad") in _kinds(before) and ("graphc", "ReluGrad") in _kinds(before)
    after = run(g, INFERENCE)
    assert ("graphc", "ReluGrad") not in _kinds(after)
    (ep,) = [op for op in after.ops() if op.op_type == "WithEpilogue" and op.attrs["producer"][0] == pool_op + "Grad"]
    assert [step[0] for step in ep.attrs["body"]] == ["ReluGrad"]


@pytest.mark.parametrize("pool_op,act,pool,strides,pads", [
    ("MaxPool", "Relu", (2, 2), (2, 2), (0, 0, 0, 0)),
    ("MaxPool", "Tanh", (3, 2), (2, 1), (1, 0, 1, 1)),
    ("AveragePool", "Sigmoid", (2, 3), (1, 2), (0, 1, 0, 1)),
])
def test_fused_pool_gradient_matches_finite_differences_and_the_unfused_graph(pool_op, act, pool, strides, pads):
    g = _train_graph(pool_op, act, pool=pool, strides=strides, pads=pads)
    x = RNG.standard_normal((3, 4, 7, 6))
    fused = graphc.compile(g).run([x])[1]
    plain = graphc.compile(g, fuse=False).run([x])[1]
    assert_close(fused, plain, rtol=1e-12)
    loss = graphc.compile(g, fuse=False)
    eps = 1e-6
    for idx in [(0, 0, 0, 0), (1, 2, 3, 4), (2, 3, 6, 5), (0, 1, 4, 1)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        fd = (loss.run([xp])[0] - loss.run([xm])[0]) / (2 * eps)
        assert abs(fd - fused[idx]) <= 1e-6 * max(1.0, abs(fd)), (idx, fd, fused[idx])
