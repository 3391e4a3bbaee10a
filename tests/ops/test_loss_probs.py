"""graphc.SoftmaxProbCrossEntropy (Keras's from_logits=False cross-entropy of a softmax, fused): the kernel
vs the Keras formula written here in float64, its gradient vs float64 finite differences, and the
Keras losses that emit it against the same formula traced op by op."""
import numpy as np
import pytest

import graphc
from graphc import keras
from graphc.ir import GraphBuilder, dtype_name
from harness import assert_close, check_grad

RNG = np.random.default_rng(11)
EPS = 1e-7


def keras_formula(z, t, eps=EPS):
    """Keras 3: p = softmax(z); q = p / sum(p); -sum(t * log(clip(q, eps, 1 - eps)))."""
    z = z.astype(np.float64)
    e = np.exp(z - z.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    q = p / p.sum(-1, keepdims=True)
    return -(t * np.log(np.clip(q, eps, 1 - eps))).sum(-1)


def run(z, t):
    b = GraphBuilder(name="pce")
    zs = b.input("z", dtype_name(z.dtype), z.shape)
    ts = b.input("t", dtype_name(t.dtype), t.shape)
    b.output(b.op("SoftmaxProbCrossEntropy", [zs, ts], domain="graphc"))
    return graphc.compile(b.g).run([z, t])[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 5), (7,), (2, 3, 4), (3, 1), (257, 10)])
def test_forward_matches_the_keras_formula(dtype, shape):
    z = (RNG.standard_normal(shape) * 3).astype(dtype)
    t = RNG.random(shape).astype(dtype)
    t /= t.sum(-1, keepdims=True)
    got = run(z, t)
    assert got.shape == shape[:-1] and got.dtype == dtype
    assert_close(got, keras_formula(z, t), rtol=2e-5 if dtype == np.float32 else 1e-12)


def test_saturated_rows_are_clipped_like_keras():
    """A confident wrong prediction costs -log(eps), never inf; a confident right one ~ -log(1 - eps)."""
    z = np.array([[200.0, 0.0, 0.0], [0.0, 200.0, 0.0], [-1e30, 0.0, 1e30]], np.float32)
    t = np.array([[0, 1, 0], [0, 1, 0], [1, 0, 0]], np.float32)
    got = run(z, t)
    assert np.all(np.isfinite(got))
    assert_close(got, keras_formula(z, t), rtol=1e-5)
    assert abs(got[0] + np.log(np.float32(EPS))) < 1e-4


@pytest.mark.parametrize("shape", [(4, 5), (3, 1), (2, 3, 4)])
def test_gradient_matches_finite_differences(shape):
    z = RNG.standard_normal(shape) * 2
    t = RNG.random(shape)
    check_grad("SoftmaxProbCrossEntropy", [z, t], domain="graphc", rtol=1e-5, atol=1e-7)


def test_gradient_is_zero_through_clipped_probabilities():
    z = np.array([[40.0, 0.0, 0.5, -1.0], [0.1, 0.2, 0.3, 0.4]])  # row 0: three probabilities below eps
    t = np.array([[0.2, 0.5, 0.3, 0.0], [0.25, 0.25, 0.25, 0.25]])
    (dz, dt) = check_grad("SoftmaxProbCrossEntropy", [z, t], domain="graphc", rtol=1e-5, atol=1e-7)


def _ce_model(loss):
    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(4, activation="softmax")])
    m.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss)
    return m


def _by_hand(y_true, y_pred):
    """The same cross-entropy traced op by op (no Softmax producer is visible to the loss here)."""
    ops = keras.ops
    q = ops.divide(y_pred, ops.sum(y_pred, axis=-1, keepdims=True))
    return ops.negative(ops.sum(ops.multiply(y_true, ops.log(ops.clip(q, EPS, 1.0 - EPS))), axis=-1))


@pytest.mark.parametrize("sparse", [False, True])
def test_keras_losses_on_softmax_outputs_use_the_fused_op_with_the_same_numbers(sparse):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((33, 6)).astype(np.float32)
    labels = rng.integers(0, 4, 33)
    y = labels if sparse else np.eye(4, dtype=np.float32)[labels]
    fused = _ce_model("sparse_categorical_crossentropy" if sparse else "categorical_crossentropy")
    plain = _ce_model(_by_hand)
    onehot = np.eye(4, dtype=np.float32)[labels]
    for _ in range(3):
        lf = fused.train_on_batch(x, y)
        lp = plain.train_on_batch(x, onehot)
        assert_close(np.float32(lf), np.float32(lp), rtol=1e-5)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        assert_close(a, b, rtol=1e-5, atol=1e-6)
    from graphc.keras.models.training import step_program
    prog, _ = step_program(fused, [y], True)
    kinds = {op.op_type for op in prog.exe.graph.ops()}
    assert "SoftmaxProbCrossEntropyGrad" in kinds and "Log" not in kinds and "Clip" not in kinds
