"""graphc.DirectConvGradWeight (a Conv's weight gradient without im2col): Before/Expected graphs,
the kernel against the numpy ConvGradWeight reference (itself checked against Conv's reference
through the adjoint identity in test_grad_conv) on odd and benchmark shapes, float64 finite
differences of a Conv that takes this path, 1 vs 2 threads and fusion on vs off."""
import numpy as np
import pytest

import graphc
from graphc.errors import ShapeError
from graphc.ir import GraphBuilder
from graphc.ops import registry
from graphc.passes.pipeline import INFERENCE, run
from harness import assert_close, check_grad

RNG = np.random.default_rng(5)


def _out(hw, k, strides, dil, pads):
    return tuple((i + pads[a] + pads[a + 2] - ((kk - 1) * d + 1)) // s + 1
                 for a, (i, kk, s, d) in enumerate(zip(hw, k, strides, dil)))


def _graph(c, hw, m, k, dtype="float32", **attrs):
    """One ConvGradWeight(x, dy) with a symbolic batch N."""
    out = _out(hw, k, attrs.get("strides", (1, 1)), attrs.get("dilations", (1, 1)), attrs.get("pads", (0,) * 4))
    b = GraphBuilder(name="gw")
    x, dy = b.input("x", dtype, ("N", c) + tuple(hw)), b.input("dy", dtype, ("N", m) + out)
    b.output(b.op("ConvGradWeight", [x, dy], domain="graphc", name="gw", kernel_shape=list(k),
                  **{a: list(v) if isinstance(v, tuple) else v for a, v in attrs.items()}))
    return b.g, out


def _kinds(g):
    return [(op.domain, op.op_type) for op in g.ops()]


# --- Before / Expected -------------------------------------------------------------------------
def test_weight_gradient_becomes_the_direct_kernel_between_transposes():
    g, _ = _graph(32, (13, 13), 64, (3, 3))
    assert _kinds(g) == [("graphc", "ConvGradWeight")]
    after = run(g, INFERENCE)
    assert _kinds(after) == [("graphc", "DirectConvGradWeight"), ("", "Transpose")]
    (op,) = [o for o in after.ops() if o.op_type == "DirectConvGradWeight"]
    assert after.value(after.op_outputs(op)[0]).type.shape == (3, 3, 32, 64)  # the Keras kernel's layout


@pytest.mark.parametrize("c,hw,m,k,attrs", [
    (1, (28, 28), 32, (2, 3), {}),                       # six taps, less than a register tile's rows
    (32, (13, 13), 64, (3, 3), dict(pads=(1, 1, 1, 1))),  # padded
    (32, (13, 13), 64, (3, 3), dict(group=2)),            # grouped
    (8, (130, 130), 16, (3, 3), {}),                     # one image's dY beyond the chunk buffer
])
def test_what_keeps_the_im2col_kernel(c, hw, m, k, attrs):
    g, _ = _graph(c, hw, m, k, **attrs)
    assert ("graphc", "DirectConvGradWeight") not in _kinds(run(g, INFERENCE))


def test_a_keras_layer_gradient_needs_no_transpose():
    """Conv on a (KH, KW, C, M) kernel (a Keras layer's Transpose): the weight gradient comes out in
    that layout and the two Transposes compose to nothing."""
    from graphc.passes.autodiff import autodiff
    b = GraphBuilder(name="layer")
    x = b.input("x", "float32", ("N", 32, 9, 9))
    wk = b.param("wk", "float32", (3, 3, 32, 40))
    y = b.op("Conv", [x, b.op("Transpose", [wk], perm=[3, 2, 0, 1])], kernel_shape=[3, 3])
    loss = b.op("ReduceSum", [y], keepdims=0)
    grads = autodiff(b.g, loss, [wk])
    b.output(grads[wk])
    after = run(b.g, INFERENCE)
    (gw,) = [o for o in after.ops() if o.op_type == "DirectConvGradWeight"]
    (out,) = after.outputs  # the graph output keeps its name: at most an Identity of the kernel's result
    assert out in after.op_outputs(gw) or after.op_inputs(after.producer(out)) == after.op_outputs(gw)
    assert [o.op_type for o in after.ops() if o.op_type == "Transpose"] == []


# --- the kernel -----------------------------------------------------------------------------------
CASES = [  # (C, HW, M, kernel, attrs)
    (32, (13, 13), 64, (3, 3), {}),           # the benchmark CNN's second layer
    (64, (5, 5), 64, (3, 3), {}),             # and third
    (1, (28, 28), 32, (3, 3), {}),            # and first: nine taps (one tile of nine rows with AVX-512)
    (1, (9, 8), 21, (3, 4), {}),              # twelve taps
    (7, (9, 11), 13, (3, 3), {}),             # 63 taps: a partial tap tile; 13 channels: part vectors
    (5, (10, 9), 40, (2, 4), dict(strides=(2, 1), dilations=(1, 2))),
    (3, (8, 8), 17, (5, 5), {}),
    (13, (7, 6), 1, (3, 3), {}),              # one output channel
    (31, (4, 5), 33, (2, 2), dict(strides=(2, 2))),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c,hw,m,k,attrs", CASES, ids=[f"{c}-{hw}-{m}-{k}-{a}" for c, hw, m, k, a in CASES])
def test_kernel_matches_the_reference(c, hw, m, k, attrs, dtype, monkeypatch):
    g, out = _graph(c, hw, m, k, dtype, **attrs)
    op = next(iter(g.ops()))
    feeds = [(RNG.standard_normal((n, c) + hw).astype(dtype), RNG.standard_normal((n, m) + out).astype(dtype))
             for n in (1, 3, 13)]  # 13 images: several chunks and a short last one for the small layers
    results = []
    for threads in (1, 2):
        monkeypatch.setenv("GRAPHC_NUM_THREADS", str(threads))
        exe = graphc.compile(g)
        assert ("graphc", "DirectConvGradWeight") in _kinds(exe.graph)
        got = [exe.run([x, dy])[0] for x, dy in feeds]
        for (x, dy), a in zip(feeds, got):
            want = registry.run_reference(op, [x, dy])[0]
            assert_close(a, want, rtol=1e-4 if dtype == "float32" else 1e-10, what="DirectConvGradWeight")
        results.append(got)
    for one, two in zip(*results):  # the thread count changes nothing
        np.testing.assert_array_equal(one, two)


def test_benchmark_batch_with_fusion_on_and_off(monkeypatch):
    """Batch 256 of the CNN's second layer: the direct kernel and the unfused im2col GEMM agree."""
    monkeypatch.setenv("GRAPHC_NUM_THREADS", "1")
    g, out = _graph(32, (13, 13), 64, (3, 3))
    x = RNG.standard_normal((256, 32, 13, 13)).astype(np.float32)
    dy = RNG.standard_normal((256, 64) + out).astype(np.float32)
    fused = graphc.compile(g)
    assert ("graphc", "DirectConvGradWeight") in _kinds(fused.graph)
    assert_close(fused.run([x, dy])[0], graphc.compile(g, fuse=False).run([x, dy])[0], rtol=1e-5)


def test_conv_gradient_through_the_direct_kernel_finite_differences():
    """float64 Conv (36 taps: the direct kernel's path) against central differences."""
    x, w, b = RNG.standard_normal((2, 4, 6, 5)), RNG.standard_normal((3, 4, 3, 3)), RNG.standard_normal(3)
    check_grad("Conv", [x, w, b], dict(strides=[1, 2], dilations=[2, 1]))


def test_shape_errors():
    b = GraphBuilder()
    x, dy = b.input("x", "float32", ("N", 4, 7, 7)), b.input("dy", "float32", ("N", 5, 4, 5))
    with pytest.raises(ShapeError, match=r"dY expected shape \(N, M, 5, 5\)"):
        b.op("DirectConvGradWeight", [x, dy], domain="graphc", kernel_shape=[3, 3])
    dy = b.input("dy2", "float32", ("N", 5, 7, 7))
    with pytest.raises(ShapeError, match="padding is not supported"):
        b.op("DirectConvGradWeight", [x, dy], domain="graphc", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    with pytest.raises(ShapeError, match="float32/float64"):
        b.op("DirectConvGradWeight", [x, b.input("dy3", "float64", ("N", 5, 5, 5))], domain="graphc",
             kernel_shape=[3, 3])
