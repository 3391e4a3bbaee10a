"""Conv's gradient rule (finite differences on compiled float64 code) and the graphc-domain
ConvGradInput / ConvGradWeight kernels against their numpy references, which are checked in turn
against Conv's own reference (tested against onnx.reference) through the adjoint identity
<conv(x, w), dy> = <x, dX(dy, w)> = <w, dW(x, dy)>."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphc
from graphc.errors import ShapeError
from graphc.ir import GraphBuilder, TensorType
from graphc.ir.graph import Op
from graphc.ops import registry
from graphc.ops.conv import conv_geometry, conv_grad_attrs, conv_reference
from graphc.passes.autodiff import autodiff
from harness import assert_close, check_grad

RNG = np.random.default_rng(0)

GRAD_CASES = [  # (X shape, W shape, attrs); small: every input element costs two native calls
    ((2, 3, 7, 7), (4, 3, 3, 3), {}),
    ((2, 2, 7, 7), (3, 2, 3, 3), dict(strides=[2, 2])),
    ((2, 2, 6, 7), (3, 2, 3, 3), dict(pads=[1, 0, 2, 1], strides=[2, 1])),  # asymmetric pads
    ((2, 2, 7, 7), (2, 2, 3, 3), dict(dilations=[2, 2], pads=[1, 1, 1, 1])),
    ((2, 4, 5, 5), (6, 2, 3, 3), dict(group=2, auto_pad="SAME_UPPER")),
    ((2, 3, 6, 6), (3, 1, 3, 3), dict(group=3, strides=[2, 2], auto_pad="SAME_LOWER")),  # depthwise
    ((2, 2, 5, 5), (4, 1, 3, 3), dict(group=2, pads=[1, 1, 1, 1])),  # depthwise, multiplier 2
    ((2, 3, 5, 5), (5, 3, 1, 1), {}),  # pointwise: no im2col
    ((2, 2, 3, 3), (9, 2, 3, 3), {}),  # 1x1 output, many filters: the transposed forward/backward GEMMs
    ((2, 2, 9), (3, 2, 3), dict(strides=[2], pads=[2, 1], dilations=[2])),  # 1-D
    ((1, 2, 4, 4, 3), (2, 2, 2, 3, 2), dict(strides=[2, 1, 1], pads=[1, 0, 1, 0, 1, 0])),  # 3-D
]


@pytest.mark.parametrize("xs,ws,attrs", GRAD_CASES, ids=[f"{x}-{w}-{a}" for x, w, a in GRAD_CASES])
def test_conv_gradient_finite_differences(xs, ws, attrs):
    x, w, b = RNG.standard_normal(xs), RNG.standard_normal(ws), RNG.standard_normal(ws[0])
    check_grad("Conv", [x, w, b], attrs)


def test_conv_gradient_without_bias():
    check_grad("Conv", [RNG.standard_normal((2, 2, 5, 5)), RNG.standard_normal((3, 2, 3, 3))], dict(strides=[2, 1]))


def test_conv_gradient_emits_only_what_is_needed():
    """X a plain input (not differentiated): no ConvGradInput; the bias gradient is a ReduceSum."""
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 1, 8, 8))
    w = b.param("w", "float32", (4, 1, 3, 3))
    bias = b.param("b", "float32", (4,))
    loss = b.op("ReduceSum", [b.op("Conv", [x, w, bias])], keepdims=0)
    grads = autodiff(b.g, loss, [w, bias])
    types = [op.op_type for op in b.g.ops()]
    assert "ConvGradWeight" in types and "ConvGradInput" not in types
    assert b.g.producer(grads[bias]).op_type == "ReduceSum"
    assert b.type(grads[w]) == b.type(w) and b.type(grads[bias]) == b.type(bias)


# --- the graphc-domain kernels ----------------------------------------------------------------

def _conv_op(attrs):
    return Op("conv", "Conv", registry.get("Conv").full_attrs(attrs))


def _geo(xs, ws, attrs):
    return conv_geometry(_conv_op(attrs), TensorType("float64", xs), TensorType("float64", ws))


def _grad_op_graph(op_type, ins, attrs, dtype, symbolic):
    """One graphc-domain op; graph inputs with a symbolic batch N (W has none)."""
    b = GraphBuilder(name=op_type)
    names = []
    for name, a in ins:
        shape = (("N",) + a.shape[1:]) if symbolic and name != "w" else a.shape
        names.append(b.input(name, dtype, shape))
    b.output(b.op(op_type, names, domain="graphc", **attrs))
    return b.g


KERNEL_CASES = GRAD_CASES + [
    ((2, 3, 13, 7), (7, 3, 3, 3), dict(pads=[0, 2, 1, 0], strides=[2, 3])),
    ((2, 3, 13, 13), (7, 3, 3, 2), dict(dilations=[3, 2], strides=[2, 1], pads=[1, 2, 0, 1])),
    ((2, 3, 7, 7), (3, 3, 3, 3), dict(pads=[4, 3, 3, 4])),  # pads larger than the kernel
    ((2, 1, 13, 13), (16, 1, 3, 3), {}),  # few input channels: dW accumulated transposed
    ((1, 13, 7, 7), (13, 1, 5, 5), dict(group=13, auto_pad="SAME_UPPER")),
    ((2, 6, 13), (6, 1, 3), dict(group=6, auto_pad="SAME_LOWER", strides=[2])),
    ((1, 4, 5, 6, 7), (4, 2, 2, 3, 2), dict(group=2, dilations=[2, 1, 3], auto_pad="SAME_UPPER")),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("xs,ws,attrs", KERNEL_CASES, ids=[f"{x}-{w}-{a}" for x, w, a in KERNEL_CASES])
def test_grad_kernels_match_references(xs, ws, attrs, dtype):
    """Both kernels vs their numpy references (symbolic batch, re-run at other batch sizes); the
    references vs Conv's through the adjoint identity."""
    geo = _geo(xs, ws, attrs)
    group = registry.get("Conv").full_attrs(attrs)["group"]
    rng = np.random.default_rng(1)
    w = rng.standard_normal(ws).astype(dtype)
    gattrs = {**attrs, "kernel_shape": list(ws[2:])}
    g_i = _grad_op_graph("ConvGradInput", [("dy", np.zeros((2, ws[0]) + geo.out)), ("w", w), ("x", np.zeros(xs))],
                         gattrs, dtype, True)
    g_w = _grad_op_graph("ConvGradWeight", [("x", np.zeros(xs)), ("dy", np.zeros((2, ws[0]) + geo.out))], gattrs, dtype,
                         True)
    gi, gw = graphc.compile(g_i), graphc.compile(g_w)  # (a unit-stride input gradient compiles to a DirectConv)
    op_i, op_w = next(iter(g_i.ops())), next(iter(g_w.ops()))
    for n in (xs[0], 1, 3):
        x = rng.standard_normal((n,) + xs[1:]).astype(dtype)
        dy = rng.standard_normal((n, ws[0]) + geo.out).astype(dtype)
        dx_ref = registry.run_reference(op_i, [dy, w, x])[0]
        dw_ref = registry.run_reference(op_w, [x, dy])[0]
        rtol = 1e-4 if dtype == "float32" else 1e-10
        assert_close(gi.run([dy, w, x])[0], dx_ref, rtol=rtol, what="ConvGradInput kernel")
        assert_close(gw.run([x, dy])[0], dw_ref, rtol=rtol, what="ConvGradWeight kernel")
        if dtype == "float64":
            y = conv_reference(x, w, None, geo, group)
            lhs = float(np.sum(y * dy))
            np.testing.assert_allclose(float(np.sum(x * dx_ref)), lhs, rtol=1e-10)
            np.testing.assert_allclose(float(np.sum(w * dw_ref)), lhs, rtol=1e-10)


@settings(deadline=None, max_examples=12)
@given(data=st.data())
def test_random_conv_configs(data):
    """Random 1-D/2-D conv geometries: ConvGradInput/ConvGradWeight kernels vs references vs adjoint."""
    r = data.draw(st.sampled_from([1, 2]), label="rank")
    group = data.draw(st.sampled_from([1, 2]), label="group")
    cg, mg = data.draw(st.integers(1, 3), label="cg"), data.draw(st.integers(1, 3), label="mg")
    kernel = [data.draw(st.integers(1, 3)) for _ in range(r)]
    dil = [data.draw(st.integers(1, 2)) for _ in range(r)]
    strides = [data.draw(st.integers(1, 3)) for _ in range(r)]
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dil)]
    inp = [data.draw(st.integers(s, s + 5)) for s in span]
    attrs = dict(kernel_shape=kernel, dilations=dil, strides=strides, group=group)
    if data.draw(st.booleans(), label="auto"):
        attrs["auto_pad"] = data.draw(st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID"]))
    else:
        attrs["pads"] = [data.draw(st.integers(0, 2)) for _ in range(2 * r)]
    xs, ws = (2, cg * group) + tuple(inp), (mg * group, cg) + tuple(kernel)
    geo = _geo(xs, ws, attrs)
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    dy = rng.standard_normal((2, ws[0]) + geo.out)
    g_i = _grad_op_graph("ConvGradInput", [("dy", dy), ("w", w), ("x", x)], attrs, "float64", False)
    g_w = _grad_op_graph("ConvGradWeight", [("x", x), ("dy", dy)], attrs, "float64", False)
    gi, gw = graphc.compile(g_i), graphc.compile(g_w)
    dx, dw = gi.run([dy, w, x])[0], gw.run([x, dy])[0]
    # the references of the ops as built: the compiled graphs may have decomposed them (a DirectConv over a
    # padded dY, a DirectConvGradWeight between Transposes), so their first op is not the gradient op
    assert_close(dx, registry.run_reference(next(iter(g_i.ops())), [dy, w, x])[0], rtol=1e-10)
    assert_close(dw, registry.run_reference(next(iter(g_w.ops())), [x, dy])[0], rtol=1e-10)
    lhs = float(np.sum(conv_reference(x, w, None, geo, group) * dy))
    np.testing.assert_allclose([np.sum(x * dx), np.sum(w * dw)], [lhs, lhs], rtol=1e-9, atol=1e-12)


def test_conv_grad_attrs_make_kernel_shape_explicit():
    attrs = conv_grad_attrs(_conv_op(dict(strides=[2, 2])), TensorType("float32", (4, 3, 3, 2)))
    assert attrs["kernel_shape"] == [3, 2] and attrs["strides"] == [2, 2]


@pytest.mark.parametrize("op_type,ins,attrs,match", [
    ("ConvGradInput", [(2, 4, 5, 4), (4, 3, 3, 3), (2, 3, 7, 7)], {}, r"dY expected shape \(2, 4, 5, 5\)"),
    ("ConvGradInput", [(2, 4, 5, 5), (4, 3, 3, 3), (2, 4, 7, 7)], {}, "X channels expected"),
    ("ConvGradWeight", [(2, 3, 7, 7), (2, 4, 5, 5)], {}, "kernel_shape is required"),
    ("ConvGradWeight", [(2, 3, 7, 7), (2, 4, 4, 5)], dict(kernel_shape=[3, 3]), r"dY expected shape"),
    ("ConvGradWeight", [(2, 3, 7, 7), (2, 4, 5, 5)], dict(kernel_shape=[3, 3], group=2), "multiples of group 2"),
])
def test_grad_op_shape_errors(op_type, ins, attrs, match):
    b = GraphBuilder()
    names = [b.input(f"i{j}", "float32", s) for j, s in enumerate(ins)]
    with pytest.raises(ShapeError, match=match):
        b.op(op_type, names, domain="graphc", **attrs)


def test_cnn_stack_gradients_compose():
    """Conv -> BatchNorm (training) -> MaxPool -> depthwise Conv -> AveragePool -> GlobalMaxPool in one
    compiled float64 program: analytic gradients of X and every weight vs central differences on
    sampled elements."""
    rng = np.random.default_rng(11)
    b = GraphBuilder(name="cnn_grad")
    x = b.input("x", "float64", (2, 2, 9, 9))
    shapes = {"w1": (4, 2, 3, 3), "b1": (4,), "scale": (4,), "shift": (4,), "w2": (4, 1, 3, 3)}
    ws = {n: b.input(n, "float64", s) for n, s in shapes.items()}
    mean, var = b.const(np.zeros(4)), b.const(np.ones(4))
    h = b.op("Conv", [x, ws["w1"], ws["b1"]], pads=[1, 1, 1, 1])
    h = b.op("BatchNormalization", [h, ws["scale"], ws["shift"], mean, var], n_out=3, training_mode=1)[0]
    h = b.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = b.op("Conv", [h, ws["w2"]], group=4, auto_pad="SAME_UPPER", strides=[2, 1])
    h = b.op("AveragePool", [h], kernel_shape=[2, 2], pads=[0, 1, 1, 0], count_include_pad=1)
    h = b.op("GlobalMaxPool", [h])
    loss = b.op("ReduceSum", [b.op("Mul", [h, b.const(rng.standard_normal(b.type(h).shape))])], keepdims=0)
    names = [x] + list(ws.values())
    grads = autodiff(b.g, loss, names)
    b.output(loss, *[grads[n] for n in names])
    exe = graphc.compile(b.g)
    feeds = [rng.standard_normal(b.type(n).shape) for n in names]
    analytic = exe.run(feeds)[1:]
    for arr, ga in zip(feeds, analytic):
        flat = arr.reshape(-1)
        for j in rng.choice(flat.size, size=min(flat.size, 12), replace=False):
            orig = flat[j]
            flat[j] = orig + 1e-6
            up = exe.run(feeds)[0]
            flat[j] = orig - 1e-6
            down = exe.run(feeds)[0]
            flat[j] = orig
            np.testing.assert_allclose(ga.reshape(-1)[j], (up - down) / 2e-6, rtol=1e-5, atol=1e-7)
