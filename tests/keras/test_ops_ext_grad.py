"""Gradients through the added keras.ops in training: one SGD step through Dense -> Lambda(op) with the
loss sum(y * p) (y a fixed random weight per output) moves the kernel by exactly lr * x^T dL/dz, with
dL/dz from float64 central differences of the numpy oracle; and a Lambda model built from several of
the ops learns a regression task with fit."""
import numpy as np
import pytest

from graphc import keras
from harness import assert_close

ops = keras.ops
RNG = np.random.default_rng(11)
X = RNG.standard_normal((4, 5)).astype(np.float32)
M = RNG.standard_normal((3, 2)).astype(np.float32)
IDX = np.array([[2, 0, 2]])  # broadcast along the (symbolic) batch


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _ln(z):
    return (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-3)


# (name, keras.ops function of z (4, 3), numpy oracle of z)
CASES = [
    ("sin", ops.sin, np.sin), ("arctan", ops.arctan, np.arctan), ("sinh", ops.sinh, np.sinh),
    ("arcsinh", ops.arcsinh, np.arcsinh), ("expm1", ops.expm1, np.expm1),
    ("log1p", lambda z: ops.log1p(ops.square(z)), lambda z: np.log1p(z * z)),
    ("arctan2", lambda z: ops.arctan2(z, ops.flip(z, 1) + 3.0), lambda z: np.arctan2(z, z[:, ::-1] + 3)),
    ("hypot", lambda z: ops.hypot(z, 1.0 - z), lambda z: np.hypot(z, 1 - z)),
    ("logaddexp", lambda z: ops.logaddexp(z, z[:, ::-1]), lambda z: np.logaddexp(z, z[:, ::-1])),
    ("cbrt", lambda z: ops.cbrt(z + 5.0), lambda z: np.cbrt(z + 5)),
    ("sort", ops.sort, np.sort), ("top_k", lambda z: ops.top_k(z, 2)[0], lambda z: -np.sort(-z)[:, :2]),
    ("median", lambda z: ops.expand_dims(ops.median(z, axis=1), -1), lambda z: np.median(z, 1)[:, None]),
    ("cumsum", lambda z: ops.cumsum(z, axis=1), lambda z: np.cumsum(z, 1)),
    ("cumprod", lambda z: ops.cumprod(z, axis=1), lambda z: np.cumprod(z, 1)),
    ("take_along_axis", lambda z: ops.take_along_axis(z, IDX, axis=1), lambda z: np.take_along_axis(z, IDX, 1)),
    ("take", lambda z: ops.take(z, np.array([2, 2, 0]), axis=1), lambda z: z[:, [2, 2, 0]]),
    ("einsum", lambda z: ops.einsum("bi,ij->bj", z, M), lambda z: z @ M),
    ("tensordot", lambda z: ops.tensordot(z, M, axes=1), lambda z: z @ M),
    ("tile_roll_pad", lambda z: ops.pad(ops.roll(ops.tile(z, (1, 2)), 1, axis=1), ((0, 0), (1, 0))),
     lambda z: np.pad(np.roll(np.tile(z, (1, 2)), 1, axis=1), ((0, 0), (1, 0)))),
    ("repeat_diff", lambda z: ops.diff(ops.repeat(z, [1, 2, 1], axis=1)), lambda z: np.diff(np.repeat(z, [1, 2, 1], 1))),
    ("slice_update", lambda z: ops.slice_update(z, (0, 1), ops.square(z[:, :1])),
     lambda z: np.concatenate([z[:, :1], z[:, :1] ** 2, z[:, 2:]], 1)),
    ("norm", lambda z: ops.expand_dims(ops.norm(z, axis=1), -1), lambda z: np.linalg.norm(z, axis=1)[:, None]),
    ("normalize", ops.normalize, lambda z: z / np.linalg.norm(z, axis=-1, keepdims=True)),
    ("layer_normalization", lambda z: ops.layer_normalization(z, epsilon=1e-3), _ln),
    ("rms_normalization", ops.rms_normalization, lambda z: z / np.sqrt((z * z).mean(-1, keepdims=True) + 1e-7)),
    ("glu", lambda z: ops.glu(ops.concatenate([z, ops.flip(z, 1)], axis=1)), lambda z: z * _sig(z[:, ::-1])),
    ("squareplus", ops.squareplus, lambda z: (z + np.sqrt(z * z + 4)) / 2),
    ("soft_shrink", lambda z: ops.soft_shrink(z, 0.1), lambda z: np.sign(z) * np.maximum(np.abs(z) - 0.1, 0)),
    ("sparse_plus", ops.sparse_plus, lambda z: np.where(z <= -1, 0, np.where(z >= 1, z, (z + 1) ** 2 / 4))),
    ("stop_gradient", lambda z: ops.add(ops.stop_gradient(ops.square(z)), z), None),
]


def _fd(g, z, r, h=1e-6):
    """d sum(r * g(z)) / dz by central differences (float64)."""
    out = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        out[idx] = ((r * g(zp)).sum() - (r * g(zm)).sum()) / (2 * h)
    return out


@pytest.mark.parametrize("name,fn,oracle", CASES, ids=[c[0] for c in CASES])
def test_one_sgd_step_matches_finite_differences(name, fn, oracle):
    inp = keras.Input((5,))
    dense = keras.layers.Dense(3)
    model = keras.Model(inp, keras.layers.Lambda(fn)(dense(inp)))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                  loss=lambda y, p: ops.sum(ops.multiply(y, p), axis=-1))
    w, b = [v.astype(np.float64) for v in model.get_weights()]
    x = X.astype(np.float64)
    z = x @ w + b
    out_shape = model.predict(X, verbose=0, batch_size=4).shape
    r = np.random.default_rng(3).standard_normal(out_shape)
    dz = _fd(oracle, z, r) if oracle is not None else r  # stop_gradient: only the "+ z" term
    model.fit(X, r.astype(np.float32), batch_size=4, epochs=1, shuffle=False, verbose=0)
    want = w - 0.1 * x.T @ dz / len(x)  # the loss is the batch mean
    assert_close(model.get_weights()[0], want.astype(np.float32), rtol=2e-4, atol=2e-5, what=name)


def test_lambda_model_over_several_ops_learns_with_fit():
    """The issue's tutorial: Lambda(lambda t: keras.ops.sin(t)) and friends inside a trained model."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-2, 2, (256, 3)).astype(np.float32)
    y = (np.sin(2 * x[:, :1]) + np.cumsum(x, axis=1)[:, 2:] * 0.3 + np.sort(x, axis=1)[:, 2:] ** 2 * 0.2)
    y = y.astype(np.float32)

    def features(t):
        return ops.concatenate([ops.sin(t), ops.cos(t), ops.cumsum(t, axis=1), ops.sort(t, axis=-1),
                                ops.squareplus(t), ops.arctan(t), ops.layer_normalization(t)], axis=-1)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8), keras.layers.Lambda(features),
                              keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    hist = model.fit(x[:192], y[:192], epochs=40, batch_size=32, verbose=0).history["loss"]
    mse = float(np.mean((model.predict(x[192:], verbose=0) - y[192:]) ** 2))
    assert hist[-1] < 0.1 * hist[0], hist
    assert mse < 0.1 * float(np.var(y[192:])), mse
    lam = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: keras.ops.sin(t))])
    assert_close(lam.predict(x[:5], verbose=0), np.sin(x[:5]))
