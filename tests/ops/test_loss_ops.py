"""graphc's fused loss ops: compiled kernels vs numpy formulas written here, and gradient rules
vs float64 finite differences (check_grad)."""
import numpy as np
import pytest

import graphc
from graphc.errors import DTypeError, ShapeError
from graphc.ir import GraphBuilder, dtype_name
from graphc.ops import registry
from graphc.passes.autodiff import autodiff
from harness import assert_close, check_grad

RNG = np.random.default_rng(7)


def run_op(op_type, inputs, symbolic_batch=False):
    """Compile one graphc-domain op over graph inputs; returns (compiled output, numpy reference)."""
    b = GraphBuilder(name=f"t_{op_type}")
    names = []
    for i, x in enumerate(inputs):
        shape = (("N",) + x.shape[1:]) if symbolic_batch and x.ndim else x.shape
        names.append(b.input(f"x{i}", dtype_name(x.dtype), shape))
    out = b.op(op_type, names, domain="graphc")
    b.output(out)
    got = graphc.compile(b.g).run(list(inputs))[0]
    ref = registry.run_reference(next(iter(b.g.ops())), list(inputs))[0]
    return got, ref


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def softmax(x):
    return np.exp(log_softmax(x))


def rtol(dtype):
    return 2e-6 if dtype == np.float32 else 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 5), (7,), (2, 3, 4), (3, 1)])
def test_softmax_cross_entropy_forward(dtype, shape):
    x = (RNG.standard_normal(shape) * 4).astype(dtype)
    t = RNG.random(shape).astype(dtype)
    t /= t.sum(-1, keepdims=True)
    got, ref = run_op("SoftmaxCrossEntropy", [x, t])
    want = -(t * log_softmax(x)).sum(-1)
    assert got.shape == shape[:-1] and got.dtype == dtype
    assert_close(got, want, rtol=rtol(dtype) * 5, what="kernel")
    assert_close(ref, want, rtol=rtol(dtype) * 5, what="reference")


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-3e38, 3e38, 0.0], [88.0, 89.0, 90.0]], np.float32)
    t = np.array([[0, 1, 0], [0, 1, 0], [1, 0, 0]], np.float32)
    got, _ = run_op("SoftmaxCrossEntropy", [x, t])
    want = -(t * log_softmax(x)).sum(-1)
    assert np.all(np.isfinite(got))
    assert_close(got, want, rtol=1e-6)


def test_softmax_cross_entropy_masked_logits_and_nan():
    # -inf logits of non-target classes contribute nothing; a NaN logit poisons its row only
    x = np.array([[-np.inf, 2.0, 1.0], [np.nan, 0.0, 1.0], [0.0, 0.0, 0.0]], np.float32)
    t = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    got, ref = run_op("SoftmaxCrossEntropy", [x, t])
    assert_close(got[0], np.log1p(np.exp(-1.0)), rtol=1e-6)
    assert np.isnan(got[1]) and np.isnan(ref[1])
    assert_close(got[2], np.log(3.0), rtol=1e-6)


def test_softmax_cross_entropy_symbolic_batch():
    x = RNG.standard_normal((9, 4)).astype(np.float32)
    t = np.eye(4, dtype=np.float32)[RNG.integers(0, 4, 9)]
    b = GraphBuilder()
    xs, ts = b.input("x", "float32", ("N", 4)), b.input("t", "float32", ("N", 4))
    b.output(b.op("SoftmaxCrossEntropy", [xs, ts], domain="graphc"))
    exe = graphc.compile(b.g)
    for n in (9, 1, 4):
        assert_close(exe.run([x[:n], t[:n]])[0], -(t[:n] * log_softmax(x[:n])).sum(-1), rtol=2e-6)


@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.float32, np.float64])
def test_sparse_softmax_cross_entropy_forward(label_dtype):
    x = (RNG.standard_normal((8, 6)) * 3).astype(np.float32)
    labels = RNG.integers(0, 6, 8).astype(label_dtype)
    got, ref = run_op("SparseSoftmaxCrossEntropy", [x, labels])
    want = -log_softmax(x)[np.arange(8), labels.astype(np.int64)]
    assert_close(got, want, rtol=2e-6, what="kernel")
    assert_close(ref, want, rtol=2e-6, what="reference")


def test_sparse_labels_out_of_range_give_nan_and_float_labels_truncate():
    x = RNG.standard_normal((6, 4)).astype(np.float64)
    ints = np.array([0, 3, 4, -1, 1_000_000_000_000, -(2 ** 62)], np.int64)
    got, ref = run_op("SparseSoftmaxCrossEntropy", [x, ints])
    ls = log_softmax(x)
    assert_close(got[:2], -ls[[0, 1], [0, 3]])
    assert np.all(np.isnan(got[2:])) and np.all(np.isnan(ref[2:]))
    floats = np.array([0.0, 2.9, -0.5, -1.0, 4.0, np.nan], np.float64)  # 2.9 -> 2, -0.5 -> 0 (Keras's int cast)
    got, ref = run_op("SparseSoftmaxCrossEntropy", [x, floats])
    assert_close(got[:3], -ls[[0, 1, 2], [0, 2, 0]])
    assert np.all(np.isnan(got[3:])) and np.all(np.isnan(ref[3:]))


def test_sparse_rank3_and_symbolic_batch():
    x = RNG.standard_normal((3, 5, 4)).astype(np.float32)
    labels = RNG.integers(0, 4, (3, 5))
    got, ref = run_op("SparseSoftmaxCrossEntropy", [x, labels], symbolic_batch=True)
    want = -np.take_along_axis(log_softmax(x), labels[..., None], -1)[..., 0]
    assert_close(got, want, rtol=2e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_binary_cross_entropy_forward(dtype):
    x = (RNG.standard_normal((5, 7)) * 6).astype(dtype)
    x[0, :4] = [100.0, -100.0, 0.0, 30.0]
    z = RNG.random((5, 7)).astype(dtype)
    got, ref = run_op("SigmoidBinaryCrossEntropy", [x, z])
    x64, z64 = x.astype(np.float64), z.astype(np.float64)
    want = -(z64 * -np.logaddexp(0, -x64) + (1 - z64) * -np.logaddexp(0, x64))
    assert got.dtype == dtype
    assert_close(got, want, rtol=rtol(dtype) * 5)
    assert_close(ref, want, rtol=rtol(dtype) * 5)


def test_sigmoid_binary_cross_entropy_broadcasts():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    z = np.array([0.0, 1.0, 0.5], np.float32)
    got, _ = run_op("SigmoidBinaryCrossEntropy", [x, z])
    assert_close(got, np.logaddexp(0, x) - x * z, rtol=2e-6)


def test_one_hot():
    like = np.zeros((3, 4), np.float32)
    labels = np.array([[0, 3, 4], [-1, 2, 1], [1, 1, 0]], np.int64)
    got, ref = run_op("OneHot", [labels, like])
    want = np.zeros((3, 3, 4), np.float32)
    for idx in np.ndindex(3, 3):
        if 0 <= labels[idx] < 4:
            want[idx + (labels[idx],)] = 1
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ref, want)
    got, _ = run_op("OneHot", [np.array([2.7, -0.2, 9.0], np.float32), like[:1]])
    np.testing.assert_array_equal(got, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]])


# --- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4), (6,)])
def test_softmax_cross_entropy_gradient(shape):
    x = RNG.standard_normal(shape) * 2
    t = RNG.random(shape)  # not normalized: the rule is softmax * sum(t) - t
    check_grad("SoftmaxCrossEntropy", [x, t], domain="graphc")


def test_softmax_cross_entropy_gradient_is_softmax_minus_onehot():
    x = RNG.standard_normal((5, 3))
    t = np.eye(3)[[0, 2, 1, 1, 0]]
    b = GraphBuilder()
    xi, ti = b.input("x", "float64", (5, 3)), b.input("t", "float64", (5, 3))
    loss = b.op("ReduceSum", [b.op("SoftmaxCrossEntropy", [xi, ti], domain="graphc")], keepdims=0)
    grads = autodiff(b.g, loss, [xi])
    b.output(grads[xi])
    got = graphc.compile(b.g).run([x, t])[0]
    assert_close(got, softmax(x) - t, rtol=1e-12)
    # one backward kernel for the loss (the rest is ReduceSum's broadcast of the seed)
    ce_ops = [op.op_type for op in b.g.ops() if op.name.startswith("grad_") and op.domain == "graphc"
              and op.op_type != "ExpandAs"]
    assert ce_ops == ["SoftmaxCrossEntropyGrad"]


@pytest.mark.parametrize("labels", [np.array([0, 4, 2, 1, 3, 3]), np.array([0.0, 4.0, 2.0, 1.0, 3.0, 3.0])])
def test_sparse_softmax_cross_entropy_gradient(labels):
    x = RNG.standard_normal((6, 5)) * 2
    check_grad("SparseSoftmaxCrossEntropy", [x, labels], domain="graphc", wrt=[0])


def test_sparse_gradient_rank3():
    x = RNG.standard_normal((2, 3, 4))
    check_grad("SparseSoftmaxCrossEntropy", [x, RNG.integers(0, 4, (2, 3))], domain="graphc", wrt=[0])


def test_sparse_gradient_out_of_range_is_nan():
    b = GraphBuilder()
    xi, li = b.input("x", "float64", (2, 3)), b.input("l", "int64", (2,))
    loss = b.op("ReduceSum", [b.op("SparseSoftmaxCrossEntropy", [xi, li], domain="graphc")], keepdims=0)
    b.output(autodiff(b.g, loss, [xi])[xi])
    x = RNG.standard_normal((2, 3))
    got = graphc.compile(b.g).run([x, np.array([1, 3])])[0]
    assert_close(got[0], softmax(x[:1])[0] - np.eye(3)[1], rtol=1e-12)
    assert np.all(np.isnan(got[1]))


@pytest.mark.parametrize("zshape", [(4, 3), (3,), (1, 3)])
def test_sigmoid_binary_cross_entropy_gradient(zshape):
    x = RNG.standard_normal((4, 3)) * 3
    z = RNG.random(zshape)
    check_grad("SigmoidBinaryCrossEntropy", [x, z], domain="graphc")


def test_shape_and_dtype_errors_name_the_op():
    b = GraphBuilder()
    x = b.input("x", "float32", (4, 3))
    with pytest.raises(ShapeError, match="labels must have the logits' type"):
        b.op("SoftmaxCrossEntropy", [x, b.input("t", "float32", (4, 2))], domain="graphc", name="ce")
    with pytest.raises(ShapeError, match="without the class axis"):
        b.op("SparseSoftmaxCrossEntropy", [x, b.input("l", "int64", (3,))], domain="graphc")
    with pytest.raises(DTypeError, match="logits must be float32 or float64"):
        b.op("SparseSoftmaxCrossEntropy", [b.input("i", "int64", (4, 3)), b.input("l2", "int64", (4,))],
             domain="graphc")
    with pytest.raises(ShapeError, match="at least rank 1"):
        b.op("SoftmaxCrossEntropy", [b.input("s", "float32", ()), b.input("s2", "float32", ())], domain="graphc")
