"""The packed GEMM helper against numpy (float64 products): odd shapes, transposed operands via
strides, alpha/beta, f32 and f64, the benchmark's shapes, AVX2/SSE tiles, and 1 vs 2 threads."""
import itertools

import numpy as np
import pytest

from graphc.codegen import threads
from graphc.codegen.kernels.gemm import vector_bits
from graphc.codegen.llvm import host_cpu
from graphc.codegen.standalone import call_gemm, jit_gemm

ODD = (1, 3, 7, 13, 31, 257)
TOL = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-12, atol=1e-12)}
_JITS = {}


def gemm(dtype, bits=None, cpu=None, features=None, nthreads=1):
    key = (dtype, bits, cpu, features, nthreads)
    if key not in _JITS:
        _JITS[key] = jit_gemm(dtype, bits, cpu, features, nthreads)
    return _JITS[key][1]


def operands(rng, dtype, M, N, K, ta, tb):
    A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    return A, B


def expected(A, B, C, alpha, beta, ta, tb):
    a = A.astype(np.float64).T if ta else A.astype(np.float64)
    b = B.astype(np.float64).T if tb else B.astype(np.float64)
    out = alpha * (a @ b)
    return out + beta * C.astype(np.float64) if beta else out


def check(f, dtype, M, N, K, ta=False, tb=False, alpha=1.0, beta=0.0, seed=0):
    rng = np.random.default_rng(seed)
    A, B = operands(rng, dtype, M, N, K, ta, tb)
    C = rng.standard_normal((M, N)).astype(dtype)
    want = expected(A, B, C, alpha, beta, ta, tb)
    scale = np.sqrt(K) * abs(alpha) + abs(beta)
    call_gemm(f, A, B, C, alpha, beta, ta, tb)
    np.testing.assert_allclose(C, want, rtol=TOL[dtype]["rtol"] * scale, atol=TOL[dtype]["atol"] * scale)
    return C


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", [(m, n, k) for m, n, k in itertools.product(ODD, ODD, ODD)
                                   if (m * 7 + n * 3 + k) % 5 == 0 or 257 in (m, n, k) and m * n * k < 2e6])
def test_odd_shapes(dtype, M, N, K):
    f = gemm(dtype)
    check(f, dtype, M, N, K)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ta,tb", [(False, True), (True, False), (True, True)])
@pytest.mark.parametrize("M,N,K", [(31, 257, 13), (257, 7, 31), (13, 13, 257), (1, 31, 7), (3, 3, 3)])
def test_transposed_operands_via_strides(dtype, ta, tb, M, N, K):
    check(gemm(dtype), dtype, M, N, K, ta, tb)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha,beta", [(2.5, 0.0), (1.0, 1.0), (-0.5, 0.75), (0.0, 2.0)])
@pytest.mark.parametrize("M,N,K", [(257, 31, 300), (3, 257, 7), (64, 64, 64)])
def test_alpha_beta(dtype, alpha, beta, M, N, K):
    check(gemm(dtype), dtype, M, N, K, alpha=alpha, beta=beta)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_beta_zero_never_reads_c_and_k_zero_scales_c(dtype):
    f = gemm(dtype)
    A, B = np.ones((40, 300), dtype), np.ones((300, 50), dtype)
    C = np.full((40, 50), np.nan, dtype)
    call_gemm(f, A, B, C)
    assert np.all(C == 300)
    C2 = np.full((5, 6), 3.0, dtype)
    call_gemm(f, np.ones((5, 0), dtype), np.ones((0, 6), dtype), C2, beta=0.5)
    assert np.all(C2 == 1.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_output_with_a_leading_dimension(dtype):
    """C as a column block of a wider matrix (ldc > N): columns outside stay untouched."""
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((37, 70)).astype(dtype), rng.standard_normal((70, 45)).astype(dtype)
    big = np.full((37, 100), 7.0, dtype)
    call_gemm(gemm(dtype), A, B, big[:, 20:65])
    np.testing.assert_allclose(big[:, 20:65], A.astype(np.float64) @ B, **{k: v * 10 for k, v in TOL[dtype].items()})
    assert np.all(big[:, :20] == 7.0) and np.all(big[:, 65:] == 7.0)


# few rows (batch-1 inference, an RNN step): the unpacked register-blocked paths of gemm_small
FEW = [1, 2, 3]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)])
@pytest.mark.parametrize("M", FEW)
@pytest.mark.parametrize("N,K", [(1, 1), (7, 13), (13, 257), (31, 3), (257, 31), (517, 784), (40, 16)])
def test_few_rows_all_operand_forms(dtype, ta, tb, M, N, K):
    check(gemm(dtype), dtype, M, N, K, ta, tb, alpha=1.25, beta=0.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("tb", [False, True])
def test_few_rows_beta_zero_never_reads_c_and_k_zero(dtype, tb):
    f = gemm(dtype)
    A, B = np.ones((2, 300), dtype), np.ones((70, 300) if tb else (300, 70), dtype)
    C = np.full((2, 70), np.nan, dtype)
    call_gemm(f, A, B, C, tb=tb)
    assert np.all(C == 300)
    C2 = np.full((1, 70), 3.0, dtype)
    call_gemm(f, np.ones((1, 0), dtype), np.ones((70, 0) if tb else (0, 70), dtype), C2, beta=0.5, tb=tb)
    assert np.all(C2 == 1.5)


@pytest.mark.parametrize("tb", [False, True])
def test_few_rows_with_a_leading_dimension(tb):
    rng = np.random.default_rng(5)
    A = rng.standard_normal((3, 70)).astype(np.float32)
    B = rng.standard_normal((45, 70) if tb else (70, 45)).astype(np.float32)
    big = np.full((3, 100), 7.0, np.float32)
    call_gemm(gemm("float32"), A, B, big[:, 20:65], tb=tb)
    np.testing.assert_allclose(big[:, 20:65], A.astype(np.float64) @ (B.T if tb else B), rtol=1e-4, atol=1e-4)
    assert np.all(big[:, :20] == 7.0) and np.all(big[:, 65:] == 7.0)


def test_a_row_does_not_depend_on_the_other_rows():
    """Each element is one fixed sum over the depth, whatever row group or column block holds it."""
    rng = np.random.default_rng(6)
    A, B = rng.standard_normal((3, 300)).astype(np.float32), rng.standard_normal((300, 517)).astype(np.float32)
    C3, C1 = np.zeros((3, 517), np.float32), np.zeros((1, 517), np.float32)
    call_gemm(gemm("float32"), A, B, C3)
    call_gemm(gemm("float32"), A[2:], B, C1)
    np.testing.assert_array_equal(C3[2], C1[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K", [(257, 10, 31), (64, 45, 300), (13, 517, 1100), (256, 64, 784)])
def test_a_read_in_place_or_packed_gives_the_same_bits(dtype, M, N, K):
    """A with contiguous depth is read in place, a transposed A is packed first: every element is the
    same FMA chain over the depth either way (also narrow products, edge tiles and several depth blocks)."""
    rng = np.random.default_rng(M + N + K)
    A, B = rng.standard_normal((M, K)).astype(dtype), rng.standard_normal((K, N)).astype(dtype)
    in_place, packed = np.zeros((M, N), dtype), np.zeros((M, N), dtype)
    call_gemm(gemm(dtype), A, B, in_place)
    call_gemm(gemm(dtype), np.ascontiguousarray(A.T), B, packed, ta=True)
    np.testing.assert_array_equal(in_place, packed)
    np.testing.assert_allclose(in_place, A.astype(np.float64) @ B, **{k: v * np.sqrt(K) for k, v in TOL[dtype].items()})


# the MNIST MLP benchmark (784-512-10, batch 256): forward, dW = X^T dY, dX = dY W^T, and the head
BENCH = [(256, 512, 784, False, False), (784, 512, 256, True, False), (256, 784, 512, False, True),
         (256, 10, 512, False, False), (512, 10, 256, True, False), (256, 512, 10, False, True)]


@pytest.mark.parametrize("M,N,K,ta,tb", BENCH)
def test_benchmark_shapes(M, N, K, ta, tb):
    check(gemm("float32"), "float32", M, N, K, ta, tb)


@pytest.mark.skipif(threads.gomp_parallel_address() is None, reason="libgomp is not installed")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M,N,K,ta,tb", BENCH[:3] + [(257, 31, 257, False, False), (31, 257, 257, True, True),
                                                      (97, 1000, 33, False, False), (1, 4099, 784, False, False),
                                                      (3, 2000, 300, False, True)])
def test_one_and_two_threads_give_identical_results(dtype, M, N, K, ta, tb):
    rng = np.random.default_rng(1)
    A, B = operands(rng, dtype, M, N, K, ta, tb)
    C0 = rng.standard_normal((M, N)).astype(dtype)
    outs = []
    for n in (1, 2):
        C = C0.copy()
        call_gemm(gemm(dtype, nthreads=n), A, B, C, 1.5, 0.5, ta, tb)
        outs.append(C)
    np.testing.assert_array_equal(outs[0], outs[1])
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(outs[0], expected(A, B, C0, 1.5, 0.5, ta, tb), rtol=tol, atol=10 * tol)


def test_install_reports_the_thread_count():
    engine, _ = jit_gemm("float32", nthreads=1)
    assert threads.install(engine, 1) == 1
    want = 2 if threads.gomp_parallel_address() else 1
    assert threads.install(engine, 2) == want


@pytest.mark.parametrize("bits,cpu,flag", [(256, "haswell", "+avx2"), (128, "x86-64", "+sse2")])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_narrower_vector_tiles_on_an_older_cpu(bits, cpu, flag, dtype):
    """The AVX2 (6 x 2W ymm tiles) and SSE2 kernels, compiled for a CPU without AVX-512."""
    if flag not in host_cpu()[1].split(","):
        pytest.skip(f"host lacks {flag}")
    f = gemm(dtype, bits=bits, cpu=cpu, features="")
    for M, N, K, ta, tb in [(257, 31, 13, False, False), (13, 257, 31, True, False), (64, 100, 300, False, True),
                            (256, 512, 784, False, False), (1, 517, 31, False, False), (3, 37, 300, False, True),
                            (2, 13, 7, True, True)]:
        check(f, dtype, M, N, K, ta, tb, alpha=1.25, beta=0.5)


def test_host_vector_width_follows_cpu_features():
    assert vector_bits("+avx512f,+avx2,+avx") == 512
    assert vector_bits("-avx512f,+avx2,+avx") == 256
    assert vector_bits("+sse2,-avx") == 128


@pytest.mark.skipif(threads.gomp_parallel_address() is None, reason="libgomp is not installed")
def test_a_forked_child_runs_on_one_thread():
    """libgomp's pool does not survive fork(): the child must not enter GOMP_parallel (it would hang)."""
    import os
    engine, f = jit_gemm("float32", nthreads=2)
    A, B = np.ones((300, 300), np.float32), np.ones((300, 300), np.float32)
    C = np.zeros((300, 300), np.float32)
    call_gemm(f, A, B, C)  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # child: compute and exit with the verdict, never return into pytest
        ok = False
        try:
            C2 = np.zeros((300, 300), np.float32)
            call_gemm(f, A, B, C2)
            ok = bool(np.all(C2 == 300))
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert np.all(C == 300)
