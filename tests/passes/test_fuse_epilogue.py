"""GEMM epilogue fusion: Before/Expected graphs, kernels against numpy and onnx.reference on odd and
benchmark shapes, 1 and 2 threads, and a model's outputs and gradients with fusion on and off."""
import numpy as np
import pytest
from onnx.reference import ReferenceEvaluator

import graphc
from graphc import keras
from graphc.ir import GraphBuilder
from graphc.onnx.export import to_model_proto
from graphc.passes import fuse_elementwise
from graphc.passes.fuse_epilogue import fuse_epilogue
from graphc.passes.pipeline import INFERENCE, UNFUSED, run
from tests.harness import assert_close

RNG = np.random.default_rng(7)


def _kinds(g):
    return [(op.domain, op.op_type) for op in g.ops()]


def _dense(m, k, n, act="Relu", batch_sym=True, keep_pre=False, dtype="float32", gemm=False):
    b = GraphBuilder()
    x = b.input("x", dtype, ("N" if batch_sym else m, k))
    w = b.param("w", dtype, (n, k) if gemm else (k, n))
    bias = b.param("bias", dtype, (n,))
    if gemm:
        z = b.op("Gemm", [x, w], name="mm", transB=1, alpha=0.5)
    else:
        z = b.op("MatMul", [x, w], name="mm")
    z = b.op("Add", [z, bias], name="add")
    y = b.op(act, [z], name="act")
    b.output(*([y, z] if keep_pre else [y]))
    for v in (w, bias):
        b.g.value(v).data = RNG.standard_normal(b.g.value(v).type.shape).astype(dtype)
    return b.g


def test_matmul_bias_relu_becomes_one_op_with_an_epilogue():
    before = run(_dense(4, 3, 5), UNFUSED)
    assert _kinds(before) == [("", "MatMul"), ("", "Add"), ("", "Relu")]
    g = fuse_epilogue(fuse_elementwise(before))
    assert _kinds(g) == [("graphc", "WithEpilogue")]
    (op,) = g.ops()
    assert g.op_inputs(op) == ["x", "w", "bias"] and g.op_outputs(op) == ["act"]
    assert op.attrs["producer"][0] == "MatMul" and op.attrs["n_producer"] == 2
    assert [step[0] for step in op.attrs["body"]] == ["Add", "Relu"]
    assert "mm" not in g.nx and "add" not in g.nx


def test_values_read_elsewhere_stay_outputs():
    g = fuse_epilogue(fuse_elementwise(run(_dense(4, 3, 5, keep_pre=True), UNFUSED)))
    (op,) = g.ops()  # the pre-activation (a graph output) is an output of the fused op
    assert g.op_outputs(op) == ["add", "act"] and op.attrs["outputs"][0] != 0
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 3))
    w = b.param("w", "float32", (3, 5))
    mm = b.op("MatMul", [x, w], name="mm")
    b.output(b.op("Relu", [mm], name="r"), b.op("ReduceSum", [mm], name="s", keepdims=0))
    g = fuse_epilogue(fuse_elementwise(run(b.g, UNFUSED)))
    op = [op for op in g.ops() if op.op_type == "WithEpilogue"][0]
    # the product itself is read by the ReduceSum: it comes first and the epilogue keeps it
    assert g.op_outputs(op) == ["mm", "r"] and op.attrs["outputs"] == (0, 1)
    b.g.value(w).data = wv = RNG.standard_normal((3, 5)).astype(np.float32)
    xv = RNG.standard_normal((6, 3)).astype(np.float32)
    r, s_ = graphc.compile(b.g).run([xv])
    assert_close(r, np.maximum(xv @ wv, 0), rtol=1e-5, atol=1e-6)
    assert_close(s_, (xv @ wv).sum(), rtol=1e-4, atol=1e-5)


def test_relu_gradient_mask_fuses_into_the_backward_gemm():
    b = GraphBuilder()
    dy = b.input("dy", "float32", ("N", 6))
    y = b.input("y", "float32", ("N", 5))
    w = b.param("w", "float32", (5, 6))
    da = b.op("Gemm", [dy, w], name="gemm", transB=1)
    b.output(b.op("ReluGrad", [da, y], name="mask", domain="graphc"))
    g = fuse_epilogue(fuse_elementwise(run(b.g, UNFUSED)))
    assert _kinds(g) == [("graphc", "WithEpilogue")]
    assert g.op(g.ops()[0].name).attrs["body"][0][:2] == ("ReluGrad", "graphc")
    wv = RNG.standard_normal((5, 6)).astype(np.float32)
    b.g.value(w).data = wv
    dyv, yv = RNG.standard_normal((9, 6)).astype(np.float32), RNG.standard_normal((9, 5)).astype(np.float32)
    got = graphc.compile(b.g).run([dyv, yv])[0]
    assert_close(got, np.where(yv > 0, dyv @ wv.T, 0), rtol=1e-5, atol=1e-6)


def test_no_fusion_when_an_extra_input_depends_on_the_product():
    b = GraphBuilder()
    x = b.input("x", "float32", (4, 4))
    mm = b.op("MatMul", [x, x], name="mm")
    e = b.op("Exp", [b.op("ReduceSum", [mm, b.const(np.array([1], np.int64))], name="rs")], name="e")
    b.output(b.op("Mul", [mm, e], name="mul"))
    g = fuse_epilogue(fuse_elementwise(run(b.g, UNFUSED)))
    assert ("graphc", "WithEpilogue") not in _kinds(g)
    g.verify()


def test_no_fusion_of_an_in_place_update_or_an_input_that_does_not_broadcast_as_row_or_column():
    b = GraphBuilder()
    x = b.input("x", "float32", (3, 4, 5))
    w = b.param("w", "float32", (5, 5))
    odd = b.input("odd", "float32", (4, 1))  # varies along the middle axis: neither a row nor a column
    b.output(b.op("Add", [b.op("MatMul", [x, w], name="mm"), odd], name="add"))
    g = fuse_epilogue(fuse_elementwise(run(b.g, UNFUSED)))
    assert _kinds(g) == [("", "MatMul"), ("", "Add")]

    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, use_bias=False)])
    m.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    from graphc.keras.models.training import step_program
    prog, _ = step_program(m, [np.zeros((2, 4), np.float32)], True)
    for op in prog.exe.graph.ops():  # the kernel gradient feeds the in-place update: not an epilogue
        if op.op_type == "WithEpilogue":
            assert not set(prog.exe.graph.op_outputs(op)) & set(prog.exe.graph.aliases)


def _onnx_ref(g, feeds):
    model = to_model_proto(g)
    return ReferenceEvaluator(model).run(None, feeds)


SHAPES = [(1, 3, 7), (3, 7, 13), (7, 13, 31), (13, 31, 257), (257, 13, 3), (31, 257, 1), (257, 31, 13),
          (256, 784, 512), (256, 576, 64)]  # the last two: mlp1's first layer, the CNN's dense layer


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("threads", [1, 2])
def test_epilogue_kernels_match_numpy_and_onnx_reference(m, k, n, threads, monkeypatch):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", str(threads))
    act = "Sigmoid" if n % 2 else "Relu"
    g = _dense(m, k, n, act=act, keep_pre=(m == 257), gemm=(k % 2 == 1))
    exe = graphc.compile(g)
    assert any(op.op_type == "WithEpilogue" for op in exe.graph.ops())
    x = RNG.standard_normal((m, k)).astype(np.float32)
    got = exe.run([x])
    w, bias = (g.value(v).data.astype(np.float64) for v in ("w", "bias"))
    z = (0.5 * x @ w.T if k % 2 == 1 else x @ w) + bias  # in float64
    y = np.maximum(z, 0) if act == "Relu" else 1 / (1 + np.exp(-z))
    tol = 2e-6 * np.sqrt(k) * max(1.0, np.abs(z).max())  # float32 sums of k terms
    assert_close(got[0], y, rtol=1e-4, atol=tol)
    ref = _onnx_ref(g, {"x": x})
    for a, r in zip(got, ref):
        assert_close(a, r, rtol=1e-4, atol=tol)
    if m == 257:
        assert_close(got[1], z, rtol=1e-4, atol=tol)
    assert_close(got[0], graphc.compile(g, fuse=False).run([x])[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lay", ["full", "row", "scalar"])
def test_epilogue_reads_full_row_and_scalar_inputs_float64(lay):
    b = GraphBuilder()
    x = b.input("x", "float64", (2, 7, 13))  # a Dense on a sequence: rows are the leading dims
    w = b.param("w", "float64", (13, 31))
    shape = {"full": (2, 7, 31), "row": (2, 7, 1), "scalar": ()}[lay]
    e = b.input("e", "float64", shape)
    b.output(b.op("Tanh", [b.op("Mul", [b.op("MatMul", [x, w], name="mm"), e], name="mul")], name="t"))
    wv = RNG.standard_normal((13, 31))
    b.g.value(w).data = wv
    exe = graphc.compile(b.g)
    from graphc.codegen.program import hoisted_ops
    hoisted = hoisted_ops(exe.graph)
    assert [op.op_type for op in exe.graph.ops() if op.name in hoisted] == ["PackGemmB"]  # the prepacked weight
    assert [op.op_type for op in exe.graph.ops() if op.name not in hoisted] == ["WithEpilogue"]
    xv, ev = RNG.standard_normal((2, 7, 13)), RNG.standard_normal(shape)
    assert_close(exe.run([xv, ev])[0], np.tanh((xv @ wv) * ev), rtol=1e-12, atol=1e-12)


def _fit(fuse, threads, monkeypatch):
    monkeypatch.setenv("GRAPHC_FUSE", "1" if fuse else "0")
    monkeypatch.setenv("GRAPHC_NUM_THREADS", str(threads))
    keras.backend.clear_session()
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(33, activation="relu"),
                              keras.layers.Dense(7, activation="sigmoid"), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="categorical_crossentropy")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((257, 64)).astype(np.float32), np.eye(3, dtype=np.float32)[rng.integers(0, 3, 257)]
    w0 = model.get_weights()
    model.train_on_batch(x, y)  # SGD(1): the weight change is minus the gradient
    grads = [a - b for a, b in zip(w0, model.get_weights())]
    return grads, model.predict(x, batch_size=257, verbose=0)


def test_outputs_and_gradients_identical_with_fusion_on_and_off_and_1_or_2_threads(monkeypatch):
    base_grads, base_out = _fit(False, 1, monkeypatch)
    for fuse, threads in [(True, 1), (True, 2), (False, 2)]:
        grads, out = _fit(fuse, threads, monkeypatch)
        assert_close(out, base_out, rtol=1e-5, atol=1e-7)
        for g, bg in zip(grads, base_grads):
            assert_close(g, bg, rtol=1e-5, atol=1e-7)


def test_the_dense_relu_dense_train_graph_has_no_elementwise_loop_between_gemms():
    """Forward: MatMul + bias + relu is one op; backward: dA = dY W^T and relu's mask are one op."""
    keras.backend.clear_session()
    m = keras.Sequential([keras.Input((12,)), keras.layers.Dense(9, activation="relu"),
                          keras.layers.Dense(4, activation="softmax")])
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    from graphc.keras.models.training import step_program
    g = step_program(m, [np.zeros((2, 4), np.float32)], True)[0].exe.graph
    eps = [op for op in g.ops() if op.op_type == "WithEpilogue"]
    bodies = [[s[0] for s in op.attrs["body"]] for op in eps]
    assert ["Add", "Relu"] in bodies and ["ReluGrad"] in bodies
    assert not any(op.op_type in ("Relu", "ReluGrad") for op in g.ops())
    for op in g.ops():
        if op.op_type == "Fused":
            assert "Relu" not in [s[0] for s in op.attrs["body"]]


CONV_CASES = [  # (batch, channels in, size, channels out, kernel, group, stride)
    (1, 3, 7, 13, 3, 1, 1), (3, 7, 13, 1, 1, 1, 1), (7, 4, 5, 6, 1, 2, 1), (2, 6, 31, 4, 3, 2, 2),
    (13, 1, 3, 7, 3, 1, 1),
    (256, 1, 28, 32, 3, 1, 1), (256, 32, 13, 64, 3, 1, 1), (256, 64, 5, 64, 3, 1, 1),  # the CNN's convs
]


def _conv_graph(n, c, h, m, kk, group, stride, keep_pre, act):
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", c, h, h))
    w = b.param("w", "float32", (m, c // group, kk, kk))
    bias = b.param("bias", "float32", (m, 1, 1))
    z = b.op("Conv", [x, w], name="conv", kernel_shape=[kk, kk], group=group, strides=[stride, stride])
    z = b.op("Add", [z, bias], name="add")
    y = b.op(act, [z], name="act")
    b.output(*([y, z] if keep_pre else [y]))
    fan_in = c // group * kk * kk
    for v, scale in ((w, fan_in ** -0.5), (bias, 1.0)):
        b.g.value(v).data = (scale * RNG.standard_normal(b.g.value(v).type.shape)).astype(np.float32)
    return b.g


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("threads", [1, 2])
def test_conv_epilogue_matches_onnx_reference(case, threads, monkeypatch):
    monkeypatch.setenv("GRAPHC_NUM_THREADS", str(threads))
    n, c, h, m, kk, group, stride = case
    act = "Relu" if n % 2 else "Sigmoid"
    g = _conv_graph(n, c, h, m, kk, group, stride, keep_pre=(n == 7), act=act)
    exe = graphc.compile(g)
    from graphc.codegen.program import hoisted_ops
    per_call = [op.op_type for op in exe.graph.ops() if op.name not in hoisted_ops(exe.graph)]
    assert per_call == ["WithEpilogue"]  # (the bias folds into the Conv: its reshape is weight-only)
    x = RNG.standard_normal((n, c, h, h)).astype(np.float32)
    got = exe.run([x])
    ref = _onnx_ref(g, {"x": x})
    tol = 2e-6 * np.sqrt(c * kk * kk) * max(1.0, float(np.abs(ref[-1]).max()))
    for a, r in zip(got, ref):
        assert_close(a, r, rtol=1e-4, atol=tol)
    for a, r in zip(got, graphc.compile(g, fuse=False).run([x])):
        assert_close(a, r, rtol=1e-5, atol=1e-6)
