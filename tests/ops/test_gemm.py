import numpy as np
import pytest

from harness import check_op

SIZES = [1, 3, 7, 13, 31]


@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("k", [1, 7, 31])
@pytest.mark.parametrize("n", [1, 13])
@pytest.mark.parametrize("trans", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_gemm_shapes_and_transposes(m, k, n, trans):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a = rng.standard_normal((k, m) if trans[0] else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans[1] else (k, n)).astype(np.float32)
    c = rng.standard_normal((n,)).astype(np.float32)
    check_op("Gemm", [a, b, c], {"transA": trans[0], "transB": trans[1], "alpha": 0.5, "beta": 2.0})


@pytest.mark.parametrize("cshape", [None, (1,), (13,), (7, 1), (7, 13)])
def test_gemm_bias_broadcast(cshape):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 5)), rng.standard_normal((5, 13))
    c = None if cshape is None else rng.standard_normal(cshape)
    check_op("Gemm", [a, b, c], {}, param_slots=(1, 2))


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
                                    ((2, 1, 3, 4), (5, 4, 7)), ((4,), (4, 5)), ((3, 4), (4,)), ((7, 31), (31, 13))])
def test_matmul_numpy_semantics(shapes):
    rng = np.random.default_rng(1)
    check_op("MatMul", [rng.standard_normal(s).astype(np.float32) for s in shapes], {})


def test_gemm_symbolic_batch():
    rng = np.random.default_rng(2)
    x, w, bias = rng.standard_normal((4, 9)), rng.standard_normal((9, 6)), rng.standard_normal(6)
    check_op("Gemm", [x.astype(np.float32), w.astype(np.float32), bias.astype(np.float32)], {},
             param_slots=(1, 2), symbolic_batch=True, extra_batches=(1, 7, 256))
