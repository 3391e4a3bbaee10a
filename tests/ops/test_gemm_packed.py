"""Prepacked inference weights (passes/pack_weights, graphc.PackGemmB / graphc.GemmPackedB) against
onnx.reference, the unpacked GEMM and numpy: odd shapes, both GEMM paths (few rows and blocked), every
operand form, bias broadcasts, weights changed after compiling, and the graphs the pass produces."""
import numpy as np
import pytest

import graphc
from graphc.codegen import threads
from graphc.codegen.kernels.gemm import packed_b_shape
from graphc.codegen.standalone import call_gemm, call_gemm_packed, jit_gemm
from graphc.ir import GraphBuilder
from graphc.ops.gemm_packed import pack_reference, unpack_reference
from graphc.passes import pipeline
from harness import check_op

ODD = (1, 3, 7, 13, 31, 257)


def _ops(exe):
    return sorted(op.op_type for op in exe.graph.ops())


def _packed_products(exe):
    """GemmPackedB ops, also those fused with an epilogue (graphc.WithEpilogue's producer)."""
    n = 0
    for op in exe.graph.ops():
        n += op.op_type == "GemmPackedB" or (op.op_type == "WithEpilogue" and op.attrs["producer"][0] == "GemmPackedB")
    return n


@pytest.mark.parametrize("K,N", [(1, 1), (5, 10), (13, 33), (784, 512), (31, 257), (4, 64)])
@pytest.mark.parametrize("trans", [0, 1])
def test_pack_layout_round_trips(K, N, trans):
    w = np.arange(K * N, dtype=np.float32).reshape((N, K) if trans else (K, N))
    P, KP, NR = packed_b_shape(K, N, "float32")
    bp = pack_reference(w, trans, NR, KP)
    assert bp.shape == (P, KP, NR) and P * NR >= N and KP >= K and KP % 4 == 0
    np.testing.assert_array_equal(unpack_reference(bp, K, N), w.T if trans else w)
    assert not bp.transpose(1, 0, 2).reshape(KP, -1)[K:].any() and not bp.transpose(1, 0, 2).reshape(KP, -1)[:, N:].any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M", ODD)
@pytest.mark.parametrize("N,K", [(1, 7), (10, 512), (13, 31), (33, 3), (257, 13), (517, 300)])
def test_prepacked_gemm_matches_numpy_on_odd_shapes(dtype, M, N, K):
    rng = np.random.default_rng(M * 7 + N * 3 + K)
    A, B = rng.standard_normal((M, K)).astype(dtype), rng.standard_normal((K, N)).astype(dtype)
    C0 = rng.standard_normal((M, N)).astype(dtype)
    P, KP, NR = packed_b_shape(K, N, dtype)
    engine, f = _jit(dtype)
    C = C0.copy()
    call_gemm_packed(f, A, pack_reference(B, 0, NR, KP), K, N, C, alpha=1.5, beta=0.5)
    want = 1.5 * (A.astype(np.float64) @ B) + 0.5 * C0
    tol = 2e-5 * np.sqrt(K) if dtype == "float32" else 1e-12 * np.sqrt(K)
    np.testing.assert_allclose(C, want, rtol=tol, atol=tol)


def test_prepacked_gemm_transposed_a_and_leading_dimension():
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((40, 3)).astype(np.float32), rng.standard_normal((40, 45)).astype(np.float32)
    P, KP, NR = packed_b_shape(40, 45, "float32")
    big = np.full((3, 100), 7.0, np.float32)
    _, f = _jit("float32")
    call_gemm_packed(f, A, pack_reference(B, 0, NR, KP), 40, 45, big[:, 20:65], ta=True)
    np.testing.assert_allclose(big[:, 20:65], A.T.astype(np.float64) @ B, rtol=1e-4, atol=1e-4)
    assert np.all(big[:, :20] == 7.0) and np.all(big[:, 65:] == 7.0)


@pytest.mark.skipif(threads.gomp_parallel_address() is None, reason="libgomp is not installed")
@pytest.mark.parametrize("M,N,K", [(1, 4099, 784), (3, 2000, 300), (256, 512, 784), (257, 10, 2000)])
def test_prepacked_one_and_two_threads_give_identical_results(M, N, K):
    rng = np.random.default_rng(4)
    A, B = rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32)
    P, KP, NR = packed_b_shape(K, N, "float32")
    bp = pack_reference(B, 0, NR, KP)
    outs = []
    for n in (1, 2):
        C = np.zeros((M, N), np.float32)
        call_gemm_packed(_jit("float32", n)[1], A, bp, K, N, C)
        outs.append(C)
    np.testing.assert_array_equal(outs[0], outs[1])


_JITS = {}


def _jit(dtype, nthreads=1, prepacked=True):
    key = (dtype, nthreads, prepacked)
    if key not in _JITS:  # the engine stays referenced while its function is called
        _JITS[key] = jit_gemm(dtype, nthreads=nthreads, prepacked=prepacked)
    return _JITS[key]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", [(64, 45, 300), (257, 10, 784), (13, 33, 1100), (9, 70, 2100)])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (0.5, 0.0), (1.5, 0.5)])
def test_prepacked_and_plain_products_are_bitwise_equal(dtype, M, N, K, alpha, beta):
    """The prepacked path blocks the depth more coarsely than the plain one (its B needs no buffer); with
    beta == 0 each depth block continues the multiply-add chain of the one before, so the blocking does
    not show in the result; with beta != 0 both paths use the plain path's blocks. Fusion on and off
    (prepacked and plain products) must give the same numbers."""
    rng = np.random.default_rng(M + N + K)
    A, B = rng.standard_normal((M, K)).astype(dtype), rng.standard_normal((K, N)).astype(dtype)
    C0 = rng.standard_normal((M, N)).astype(dtype)
    P, KP, NR = packed_b_shape(K, N, dtype)
    packed, plain = C0.copy(), C0.copy()
    call_gemm_packed(_jit(dtype)[1], A, pack_reference(B, 0, NR, KP), K, N, packed, alpha=alpha, beta=beta)
    call_gemm(_jit(dtype, prepacked=False)[1], A, B, plain, alpha=alpha, beta=beta)
    np.testing.assert_array_equal(packed, plain)
    want = alpha * (A.astype(np.float64) @ B) + beta * C0
    tol = 2e-5 * np.sqrt(K) if dtype == "float32" else 1e-12 * np.sqrt(K)
    np.testing.assert_allclose(packed, want, rtol=tol, atol=tol)


# --- the ops through the pass, against onnx.reference -----------------------------------------
@pytest.mark.parametrize("m", [1, 3, 7, 257])
@pytest.mark.parametrize("k,n", [(7, 1), (31, 13), (300, 10), (13, 517)])
@pytest.mark.parametrize("trans", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_gemm_with_a_weight_is_prepacked(m, k, n, trans):
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((k, m) if trans[0] else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans[1] else (k, n)).astype(np.float32)
    c = rng.standard_normal((n,)).astype(np.float32)
    _, exe = check_op("Gemm", [a, b, c], {"transA": trans[0], "transB": trans[1], "alpha": 0.5, "beta": 2.0},
                      param_slots=(1, 2))
    assert _packed_products(exe) == 1 and "PackGemmB" in _ops(exe)


@pytest.mark.parametrize("cshape", [None, (), (1,), (13,), (7, 1), (7, 13)])
def test_prepacked_gemm_bias_broadcast(cshape):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 5)), rng.standard_normal((5, 13))
    c = None if cshape is None else np.asarray(rng.standard_normal(cshape))
    _, exe = check_op("Gemm", [a, b, c], {"beta": 0.25}, param_slots=(1,), const_slots=(2,))
    assert _packed_products(exe) == 1


@pytest.mark.parametrize("ashape", [(1, 31), (5, 31), (2, 3, 31), (2, 1, 4, 31)])
def test_matmul_with_a_2d_weight_is_prepacked(ashape):
    rng = np.random.default_rng(1)
    a, w = rng.standard_normal(ashape).astype(np.float32), rng.standard_normal((31, 13)).astype(np.float32)
    _, exe = check_op("MatMul", [a, w], {}, const_slots=(1,), symbolic_batch=True, extra_batches=(1, 4, 33))
    assert _packed_products(exe) == 1


def test_products_of_two_activations_or_two_weights_are_not_packed():
    rng = np.random.default_rng(2)
    a, w = rng.standard_normal((5, 7)).astype(np.float32), rng.standard_normal((7, 3)).astype(np.float32)
    _, exe = check_op("MatMul", [a, w], {})
    assert _packed_products(exe) == 0
    b = GraphBuilder(name="weights_only")
    x = b.input("x", "float32", (5, 3))
    p = b.param("p", "float32", (5, 7))
    b.g.value(p).data = a
    q = b.const(w, name="q")
    b.output(b.op("Add", [x, b.op("MatMul", [p, q])]))
    exe = graphc.compile(b.g)
    assert _packed_products(exe) == 0
    ones = np.ones((5, 3), np.float32)
    np.testing.assert_allclose(exe.run([ones])[0], ones + a @ w, rtol=1e-5, atol=1e-5)


def test_training_graphs_and_unfused_pipelines_keep_the_plain_product():
    b = GraphBuilder(name="train_like")
    x = b.input("x", "float32", ("N", 4))
    w = b.param("w", "float32", (4, 3))
    b.g.value(w).data = np.ones((4, 3), np.float32)
    y = b.op("MatMul", [x, w])
    b.output(y)
    upd = b.op("Mul", [w, b.const(np.float32(0.5))])
    b.g.aliases[upd] = w
    b.output(upd)
    g = pipeline.run(b.g, pipeline.INFERENCE)
    assert "GemmPackedB" not in [op.op_type for op in g.ops()]
    g2 = pipeline.run(b.g, pipeline.UNFUSED)
    assert "PackGemmB" not in [op.op_type for op in g2.ops()]


def test_before_and_expected_graph():
    """Before: MatMul(x, W) -> Add(b) -> Relu. Expected: PackGemmB(W) feeding GemmPackedB, whose bias
    and Relu become its epilogue; the weight itself stays a param (training and saving see it)."""
    b = GraphBuilder(name="dense")
    x = b.input("x", "float32", ("N", 784))
    w = b.param("w", "float32", (784, 512))
    bias = b.param("b", "float32", (512,))
    b.output(b.op("Relu", [b.op("Add", [b.op("MatMul", [x, w]), bias])]))
    g = pipeline.run(b.g, pipeline.INFERENCE)
    ops = {op.op_type: op for op in g.ops()}
    assert sorted(ops) == ["PackGemmB", "WithEpilogue"]
    pack, prod = ops["PackGemmB"], ops["WithEpilogue"]
    assert g.op_inputs(pack) == [w] and pack.attrs["trans"] == 0
    P, KP, NR = packed_b_shape(784, 512, "float32")
    assert g.value(g.op_outputs(pack)[0]).type.shape == (P, KP, NR)
    assert prod.attrs["producer"][0] == "GemmPackedB" and g.op_inputs(prod)[:2] == [x, g.op_outputs(pack)[0]]
    assert [s[0] for s in prod.attrs["body"]] == ["Add", "Relu"]
    assert g.value(w).role == "param"


def test_set_weights_after_compiling_repacks():
    """The packed copy is hoisted into the prologue: new weights must reach the next predict."""
    from graphc import keras
    m = keras.Sequential([keras.Input((13,)), keras.layers.Dense(33, activation="relu"), keras.layers.Dense(5)])
    x = np.random.default_rng(5).standard_normal((3, 13)).astype(np.float32)

    def numpy_forward():
        w1, b1, w2, b2 = m.get_weights()
        return np.maximum(x @ w1 + b1, 0) @ w2 + b2
    np.testing.assert_allclose(m.predict(x, verbose=0), numpy_forward(), rtol=1e-5, atol=1e-5)
    m.set_weights([w * 2 - 0.1 for w in m.get_weights()])
    np.testing.assert_allclose(m.predict(x, verbose=0), numpy_forward(), rtol=1e-5, atol=1e-5)
    m.layers[0].kernel.assign(np.zeros((13, 33), np.float32))
    np.testing.assert_allclose(m.predict(x, verbose=0), numpy_forward(), rtol=1e-5, atol=1e-5)
    assert _packed_products(m._executable()) == 2


@pytest.mark.parametrize("batch", [1, 3, 257])
def test_keras_model_outputs_equal_with_packing_on_and_off(batch):
    from graphc import keras
    m = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
    x = np.random.default_rng(6).standard_normal((batch, 784)).astype(np.float32)
    packed = graphc.compile(m).run([x])[0]
    plain = graphc.compile(m, fuse=False).run([x])[0]
    np.testing.assert_allclose(packed, plain, rtol=1e-5, atol=1e-6)
