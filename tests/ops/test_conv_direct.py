"""graphc.DirectConv (Conv without im2col) and its fused max pool: Before/Expected graphs, kernels
against onnx.reference on odd and benchmark shapes, 1 and 2 threads, fusion on and off."""
import numpy as np
import pytest
from onnx.reference import ReferenceEvaluator

import graphc
from graphc.ir import GraphBuilder
from graphc.onnx.export import to_model_proto
from graphc.passes.pipeline import INFERENCE, UNFUSED, run
from tests.harness import assert_close

RNG = np.random.default_rng(11)


def _graph(n, c, hw, m, k, strides=(1, 1), dil=(1, 1), pads=None, act="Relu", pool=None, pool_strides=None,
           dtype="float32", keep_conv=False, bias=True, bn=False):
    """x -> Conv(W, B) -> act -> MaxPool?; weights are params (random)."""
    b = GraphBuilder()
    x = b.input("x", dtype, ("N", c) + tuple(hw))
    w = b.param("w", dtype, (m, c) + tuple(k))
    ins = [x, w]
    if bias:
        ins.append(b.param("bias", dtype, (m,)))
    attrs = dict(kernel_shape=list(k), strides=list(strides), dilations=list(dil))
    if pads is not None:
        attrs["pads"] = list(pads)
    y = b.op("Conv", ins, name="conv", **attrs)
    if bn:
        stats = [b.param(f"bn{i}", dtype, (m,)) for i in range(4)]
        y = b.op("BatchNormalization", [y] + stats, name="bn", epsilon=1e-3)
    z = b.op(act, [y], name="act") if act else y
    outs = [z]
    if pool is not None:
        outs = [b.op("MaxPool", [z], name="pool", kernel_shape=list(pool), strides=list(pool_strides or pool))]
    if keep_conv:
        outs.append(z)
    b.output(*outs)
    for name in ["w", "bias"] + ([f"bn{i}" for i in range(4)] if bn else []):
        if name in b.g.nx:
            shape = b.g.value(name).type.shape
            data = RNG.standard_normal(shape)
            if name == "bn3":
                data = np.abs(data) + 0.5  # a variance
            b.g.value(name).data = data.astype(dtype)
    return b.g, n


def _kinds(g):
    return [(op.domain, op.op_type) for op in g.ops() if op.op_type not in ("Reshape", "Transpose")]


def _oracle(g, x):
    return ReferenceEvaluator(to_model_proto(g)).run(None, {"x": x})


def _check(g, n, rtol=1e-5, threads=(1,), monkeypatch=None):
    x_t = g.value("x").type
    x = RNG.standard_normal((n,) + tuple(x_t.shape[1:])).astype(x_t.dtype)
    want = _oracle(g, x)
    results = []
    for t in threads:
        if monkeypatch is not None:
            monkeypatch.setenv("GRAPHC_NUM_THREADS", str(t))
        got = graphc.compile(g).run([x])
        for a, e in zip(got, want):
            assert_close(a, e, rtol=rtol, what="DirectConv vs onnx.reference")
        results.append(got)
    for other in results[1:]:  # the thread count never changes a result
        for a, e in zip(other, results[0]):
            np.testing.assert_array_equal(a, e)
    return x, results[0]


# --- Before / Expected -------------------------------------------------------------------------
def test_conv_relu_maxpool_becomes_one_direct_conv_with_epilogue_and_pool():
    g, _ = _graph(2, 3, (9, 9), 5, (3, 3), pool=(2, 2))
    before = run(g, UNFUSED)
    assert _kinds(before) == [("", "Conv"), ("", "Relu"), ("", "MaxPool")]
    after = run(g, INFERENCE)
    assert _kinds(after) == [("graphc", "WithEpilogue")]
    (op,) = [o for o in after.ops() if o.op_type == "WithEpilogue"]
    prod = dict(op.attrs["producer"][2])
    assert op.attrs["producer"][:2] == ("DirectConv", "graphc") and prod["pool"] == [2, 2]
    assert after.op_outputs(op) == ["pool"] and after.value("pool").type.shape == ("N", 5, 3, 3)
    assert "act" not in after.nx and "conv" not in after.nx


def test_the_kernel_reads_the_weights_in_kh_kw_c_m_order():
    g, _ = _graph(2, 3, (9, 9), 5, (3, 3))
    after = run(g, INFERENCE)
    (t,) = [o for o in after.ops() if o.op_type == "Transpose"]
    assert t.attrs["perm"] == [2, 3, 1, 0] and after.op_inputs(t) == ["w"]


@pytest.mark.parametrize("case", ["conv_read_elsewhere", "overlapping_pool", "padded_conv", "pointwise", "no_act"])
def test_what_does_not_fuse_or_stays_conv(case):
    if case == "conv_read_elsewhere":  # the full-size map is an output: the pool stays
        g, _ = _graph(2, 3, (9, 9), 5, (3, 3), pool=(2, 2), keep_conv=True)
        want = [("graphc", "WithEpilogue"), ("", "MaxPool")]
    elif case == "overlapping_pool":
        g, _ = _graph(2, 3, (9, 9), 5, (3, 3), pool=(3, 3), pool_strides=(2, 2))
        want = [("graphc", "WithEpilogue"), ("", "MaxPool")]
    elif case == "padded_conv":  # im2col handles padding
        g, _ = _graph(2, 3, (9, 9), 5, (3, 3), pads=(1, 1, 1, 1), pool=(2, 2))
        want = [("graphc", "WithEpilogue"), ("", "MaxPool")]
    elif case == "pointwise":  # a 1x1 stride-1 conv is a plain GEMM per image
        g, _ = _graph(2, 3, (9, 9), 5, (1, 1))
        want = [("graphc", "WithEpilogue")]
    else:  # no activation: the pool folds into the bare DirectConv
        g, _ = _graph(2, 3, (9, 9), 5, (3, 3), act=None, pool=(2, 2))
        want = [("graphc", "DirectConv")]
    after = run(g, INFERENCE)
    assert _kinds(after) == want
    producers = [o.attrs["producer"][0] for o in after.ops() if o.op_type == "WithEpilogue"]
    assert producers == (["Conv"] if case in ("padded_conv", "pointwise") else ["DirectConv"] * len(producers))
    _check(g, 3)


# --- kernels against onnx.reference --------------------------------------------------------------
@pytest.mark.parametrize("n,c,hw,m,k,strides,dil", [
    (1, 1, (7, 9), 13, (3, 3), (1, 1), (1, 1)),
    (3, 3, (8, 8), 40, (5, 5), (1, 1), (1, 1)),
    (7, 13, (9, 7), 3, (3, 3), (2, 1), (1, 1)),
    (3, 3, (11, 10), 33, (3, 3), (1, 2), (2, 2)),
    (1, 13, (6, 6), 64, (1, 1), (2, 2), (1, 1)),
    (7, 1, (5, 5), 1, (3, 3), (1, 1), (1, 1)),
    (3, 5, (6, 9), 16, (2, 3), (1, 1), (1, 2)),
])
@pytest.mark.parametrize("pool", [None, (2, 2)])
def test_direct_conv_matches_onnx_reference(n, c, hw, m, k, strides, dil, pool, monkeypatch):
    g, n = _graph(n, c, hw, m, k, strides, dil, pool=pool)
    if pool is not None:
        after = run(g, INFERENCE)
        assert [o.op_type for o in after.ops() if o.op_type == "MaxPool"] == []  # the pool is fused
    _check(g, n, threads=(1, 2), monkeypatch=monkeypatch)


@pytest.mark.parametrize("n,hw,m", [
    (1, (3, 4), 16),    # 2 positions: only one-row tiles
    (3, (10, 10), 32),  # 64 positions per image: every tile inside one image
    (5, (7, 9), 48),    # 35 per image: tiles straddling two images (and a 16-channel rest block)
    (2, (6, 6), 64),    # 16 per image, two 32-channel blocks
    (3, (5, 6), 24),    # 24 channels: a part-vector rest block (lane by lane)
])
def test_tile_stores_to_nchw_contiguous_and_straddling(n, hw, m, monkeypatch):
    """Eight positions of one image are stored one vector per channel (a transpose in registers); a
    tile crossing an image boundary, and channel blocks of part vectors, are stored lane by lane."""
    g, n = _graph(n, 3, hw, m, (3, 3))
    _check(g, n, threads=(1, 2), monkeypatch=monkeypatch)
    g, n = _graph(n, 3, hw, m, (3, 3), act=None, bias=False)
    _check(g, n)


@pytest.mark.parametrize("pool", [(1, 2), (3, 1), (2, 3), (3, 3)])
def test_other_non_overlapping_pools(pool):
    g, n = _graph(3, 2, (10, 11), 7, (3, 3), pool=pool)
    _check(g, n)


def test_float64_and_no_bias_and_other_activations():
    for act in ("Sigmoid", "Tanh", None):
        g, n = _graph(3, 2, (8, 8), 9, (3, 3), dtype="float64", bias=False, act=act, pool=(2, 2))
        _check(g, n, rtol=1e-12)


def test_batchnorm_folds_into_the_direct_conv():
    g, n = _graph(3, 3, (9, 9), 12, (3, 3), bn=True, pool=(2, 2))
    after = run(g, INFERENCE)
    (op,) = after.consumers("x")  # BN's scale and shift are in the weights: one kernel reads x, writes the output
    assert op.attrs["producer"][0] == "DirectConv" and after.op_outputs(op) == after.outputs
    _check(g, n, rtol=1e-4)


def test_nan_windows_pool_as_the_unfused_maxpool():
    g, _ = _graph(2, 1, (6, 6), 4, (1, 1), strides=(2, 2), act=None, pool=(1, 1), bias=False)
    g.value("w").data = np.ones((4, 1, 1, 1), np.float32)
    x = np.full((2, 1, 6, 6), np.nan, np.float32)
    x[0, 0, 0, 0] = 1.0
    fused = graphc.compile(g).run([x])[0]
    plain = graphc.compile(g, fuse=False).run([x])[0]
    np.testing.assert_array_equal(fused, plain)


def test_benchmark_cnn_shapes_with_fusion_on_and_off(monkeypatch):
    """The issue-6 CNN's three convolutions (28x28x1 -> 32 -> pool -> 64 -> pool -> 64), batch 7."""
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 1, 28, 28))
    h = x
    for i, (c, m, pool) in enumerate([(1, 32, True), (32, 64, True), (64, 64, False)]):
        w, bias = b.param(f"w{i}", "float32", (m, c, 3, 3)), b.param(f"b{i}", "float32", (m,))
        for v in (w, bias):
            b.g.value(v).data = (RNG.standard_normal(b.g.value(v).type.shape) * 0.3).astype(np.float32)
        h = b.op("Relu", [b.op("Conv", [h, w, bias], kernel_shape=[3, 3])])
        if pool:
            h = b.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    b.output(h)
    xs, got = _check(b.g, 7, rtol=1e-4, threads=(1, 2), monkeypatch=monkeypatch)
    plain = graphc.compile(b.g, fuse=False).run([xs])[0]
    assert_close(got[0], plain, rtol=1e-5)


def _conv_then(body, pool=None, m=20, dtype="float32"):
    """x -> Conv -> body(b, y, per_channel, full) -> MaxPool?; per_channel (1, m, 1, 1) and full-size params."""
    b = GraphBuilder()
    x = b.input("x", dtype, (2, 3, 9, 8))
    w, bias = b.param("w", dtype, (m, 3, 3, 3)), b.param("bias", dtype, (m,))
    pc, full = b.param("pc", dtype, (1, m, 1, 1)), b.param("full", dtype, (2, m, 7, 6))
    y = body(b, b.op("Conv", [x, w, bias], kernel_shape=[3, 3]), pc, full)
    b.output(b.op("MaxPool", [y], kernel_shape=list(pool), strides=list(pool)) if pool else y)
    for v in (w, bias, pc, full):
        b.g.value(v).data = RNG.standard_normal(b.g.value(v).type.shape).astype(dtype)
    return b.g


@pytest.mark.parametrize("pool", [None, (2, 2)])
def test_register_epilogue_with_per_channel_inputs(pool, monkeypatch):
    """LeakyRelu then a per-channel scale and shift (BN after the activation): the epilogue runs on the
    tile's registers; with a pool the scale may be negative, so pooling after the epilogue matters."""
    def body(b, y, pc, full):
        return b.op("Add", [b.op("Mul", [b.op("LeakyRelu", [y], alpha=0.2), pc]), pc])
    g = _conv_then(body, pool)
    after = run(g, INFERENCE)
    assert [o.op_type for o in after.ops() if o.op_type not in ("Reshape", "Transpose")] == ["WithEpilogue"]
    _check(g, 2, threads=(1, 2), monkeypatch=monkeypatch)


def test_full_size_epilogue_input_and_kept_product(monkeypatch):
    """A residual-style full-size input runs the epilogue from the tile in memory; the pool then stays
    separate (no pooled counterpart of the full-size input), and so does a product read elsewhere."""
    def body(b, y, pc, full):
        return b.op("Relu", [b.op("Add", [y, full])])
    g = _conv_then(body, (2, 2))
    after = run(g, INFERENCE)
    assert [o.op_type for o in after.ops() if o.op_type not in ("Reshape", "Transpose")] == ["WithEpilogue",
                                                                                              "MaxPool"]
    _check(g, 2, threads=(1, 2), monkeypatch=monkeypatch)
    g2, _ = _graph(3, 3, (9, 9), 13, (3, 3), act="Relu", keep_conv=False)
    conv = next(o for o in g2.ops() if o.op_type == "Conv")
    g2.outputs.append(g2.op_outputs(conv)[0])
    _check(g2, 3)


def _grad_input_graph(xs, ws, **attrs):
    b = GraphBuilder()
    dy_shape = (xs[0], ws[0]) + tuple((i + sum(attrs.get("pads", [0, 0, 0, 0])[d::2]) - k) // s + 1
                                      for d, (i, k, s) in enumerate(zip(xs[2:], ws[2:], attrs.get("strides", [1, 1]))))
    dy, w, like = b.input("dy", "float64", dy_shape), b.param("w", "float64", ws), b.input("x", "float64", xs)
    b.g.value(w).data = RNG.standard_normal(ws)
    b.output(b.op("ConvGradInput", [dy, w, like], domain="graphc", name="gi", kernel_shape=list(ws[2:]), **attrs))
    return b.g, dy_shape


@pytest.mark.parametrize("xs,ws,attrs,direct", [
    ((2, 5, 13, 13), (7, 5, 3, 3), {}, True),
    ((3, 4, 9, 8), (6, 4, 3, 3), dict(pads=[1, 1, 1, 1]), True),
    ((1, 3, 10, 9), (4, 3, 5, 3), dict(pads=[2, 0, 1, 1]), True),
    ((2, 5, 13, 13), (7, 5, 3, 3), dict(strides=[2, 2]), False),
    ((2, 5, 5, 5), (7, 5, 3, 3), {}, False),  # a 3x3 output: the padded correlation would cost 2.8x
])
def test_unit_stride_input_gradient_runs_as_a_direct_conv(xs, ws, attrs, direct):
    from graphc.ops.conv import conv_grad_input_reference
    from graphc.ops.conv import window_geometry
    from graphc.ir import TensorType
    g, dy_shape = _grad_input_graph(xs, ws, **attrs)
    after = run(g, INFERENCE)
    assert (("graphc", "DirectConv") in _kinds(after)) == direct
    assert (("graphc", "ConvGradInput") in _kinds(after)) != direct
    dy, x = RNG.standard_normal(dy_shape), np.zeros(xs)
    op = next(iter(g.ops()))
    geo = window_geometry(op, TensorType("float64", xs), ws[2:])
    want = conv_grad_input_reference(dy, g.value("w").data, xs, geo, 1)
    assert_close(graphc.compile(g).run([dy, x])[0], want, rtol=1e-10)
