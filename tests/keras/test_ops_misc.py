"""keras.ops quantiles, NaN-skipping reductions, searching, segments/scatters, vector helpers,
space/depth, depthwise/separable convolutions, dot-product attention, PSNR, windows and casts in the
three modes (eager, functional nodes, Lambda) against numpy oracles."""
import warnings

import numpy as np
import pytest

from graphc import keras
from harness import assert_close

ops = keras.ops
RNG = np.random.default_rng(3)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((3, 4)).astype(np.float32)
C = RNG.standard_normal((2, 3, 5)).astype(np.float32)
NAN = A.copy()
NAN[0, 1] = np.nan
S = np.sort(RNG.standard_normal(6)).astype(np.float32)
X = RNG.standard_normal((2, 4, 6, 3)).astype(np.float32)
Q = RNG.standard_normal((2, 5, 4, 8)).astype(np.float32)
K = RNG.standard_normal((2, 6, 2, 8)).astype(np.float32)
V = RNG.standard_normal((2, 6, 2, 3)).astype(np.float32)
MASK = RNG.random((2, 1, 5, 6)) > 0.3
DK = RNG.standard_normal((2, 3, 3, 2)).astype(np.float32)
PK = RNG.standard_normal((1, 1, 6, 4)).astype(np.float32)
METHODS = ["linear", "lower", "higher", "midpoint", "nearest"]


def _nan_rows(x):
    """x with one NaN in row 0 and row 2 all NaN (nan-quantiles: NaN there)."""
    x = x.copy()
    x[0, 1] = np.nan
    x[2] = np.nan
    return x


def _attention(q, k, v, mask=None, causal=False):
    k, v = np.repeat(k, q.shape[2] // k.shape[2], 2), np.repeat(v, q.shape[2] // v.shape[2], 2)
    logits = np.einsum("BTNH,BSNH->BNTS", q, k) / np.sqrt(q.shape[-1])
    keep = np.ones(logits.shape, bool)
    if mask is not None:
        keep &= mask
    if causal:
        keep &= np.tril(np.ones(logits.shape[-2:], bool))
    logits = np.where(keep, logits, -0.7 * np.finfo(np.float32).max)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    return np.einsum("BNTS,BSNH->BTNH", p / p.sum(-1, keepdims=True), v)


def _s2d(x, b):
    n, h, w, c = x.shape
    return x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h // b, w // b, b * b * c)


def _depthwise(x, k):
    """Valid, stride-1 depthwise convolution; output channel c*m + j."""
    kh, kw, c, m = k.shape
    n, h, w, _ = x.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, c * m))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            out[:, i, j] = np.einsum("nhwc,hwcm->ncm", x[:, i:i + kh, j:j + kw], k).reshape(n, c * m)
    return out


def _put(x, idx, vals, add=False):
    x = x.copy()
    for i, v in zip(idx, vals):
        x[tuple(i)] = x[tuple(i)] + v if add else v
    return x


CASES = [
    ("quantile", lambda x: ops.quantile(x, 0.3, axis=1), [A], lambda x: np.quantile(x, 0.3, axis=1)),
    ("quantile_list", lambda x: ops.quantile(x, [0.1, 0.5, 1.0], axis=(0, 2), keepdims=True), [C],
     lambda x: np.quantile(x, [0.1, 0.5, 1.0], axis=(0, 2), keepdims=True)),
    *[(f"percentile_{m}", (lambda m: lambda x: ops.percentile(x, 40, method=m))(m), [A],
       (lambda m: lambda x: np.percentile(x, 40, method=m))(m)) for m in METHODS],
    ("nanargmax", lambda x: ops.nanargmax(x, axis=1), [NAN], lambda x: np.nanargmax(x, 1)),
    ("nanargmin", ops.nanargmin, [NAN], np.nanargmin),
    ("nancumsum", lambda x: ops.nancumsum(x, axis=1), [NAN], lambda x: np.nancumsum(x, 1)),
    ("nancumprod", ops.nancumprod, [NAN], np.nancumprod),
    ("searchsorted", ops.searchsorted, [S, A], np.searchsorted),
    ("searchsorted_right", lambda s: ops.searchsorted(s, s, side="right"), [S], lambda s: np.searchsorted(s, s, "right")),
    ("digitize", ops.digitize, [A, S], np.digitize),
    ("isin", lambda x: ops.isin(ops.round(x), np.array([0.0, 1.0], np.float32)), [A],
     lambda x: np.isin(np.round(x), [0, 1])),
    ("isin_invert", lambda x: ops.isin(ops.round(x), np.array([0.0, 1.0], np.float32), invert=True), [A],
     lambda x: np.isin(np.round(x), [0, 1], invert=True)),
    ("segment_sum", lambda x: ops.segment_sum(x, np.array([1, 0]), 3), [C],
     lambda x: np.stack([x[1], x[0], np.zeros_like(x[0])])),
    ("segment_max", lambda x: ops.segment_max(x, np.array([0, 0, 2]), 3), [A],
     lambda x: np.stack([x[:2].max(0), np.full(4, -np.inf), x[2]])),
    ("segment_min", lambda x: ops.segment_min(x, np.array([0, 0, 2]), 3), [A],
     lambda x: np.stack([x[:2].min(0), np.full(4, np.inf), x[2]])),
    ("segment_prod", lambda x: ops.segment_prod(x, np.array([1, 0, 1]), 3), [A],
     lambda x: np.stack([x[1], x[0] * x[2], np.ones(4)])),
    ("scatter", lambda v: ops.scatter(np.array([[0, 1], [2, 3], [0, 1]]), v, (3, 4)), [A[0, :3]],
     lambda v: _put(np.zeros((3, 4)), [(0, 1), (2, 3), (0, 1)], v, add=True)),
    ("scatter_update", lambda x, u: ops.scatter_update(x, np.array([[0, 1], [2, 3]]), u), [A, B[0, :2]],
     lambda x, u: _put(x, [(0, 1), (2, 3)], u)),
    ("scatter_update_add", lambda x, u: ops.scatter_update(x, np.array([[0, 1], [0, 1]]), u, reduction="add"),
     [A, B[0, :2]], lambda x, u: _put(x, [(0, 1), (0, 1)], u, add=True)),
    ("cross", lambda x, y: ops.cross(x[:, :, :3], y[:, :3]), [C, B], lambda x, y: np.cross(x[:, :, :3], y[:, :3])),
    ("cross_axis", lambda x, y: ops.cross(x[:, :3], y[:, :3], axis=0), [A, B],
     lambda x, y: np.cross(x[:, :3], y[:, :3], axis=0)),
    ("cross_2d", lambda x, y: ops.cross(x[:, :2], y[:, :2]), [A, B],
     lambda x, y: x[:, 0] * y[:, 1] - x[:, 1] * y[:, 0]),
    ("trapezoid", ops.trapezoid, [A], np.trapezoid),
    ("trapezoid_x", lambda y, x: ops.trapezoid(y, x=x, axis=1), [A, S[:4]], lambda y, x: np.trapezoid(y, x=x, axis=1)),
    ("trapezoid_dx", lambda y: ops.trapezoid(y, dx=0.5, axis=0), [A], lambda y: np.trapezoid(y, dx=0.5, axis=0)),
    ("vander", ops.vander, [A[0]], np.vander),
    ("vander_increasing", lambda x: ops.vander(x, 3, True), [A[0]], lambda x: np.vander(x, 3, True)),
    ("diagflat", lambda x: ops.diagflat(x, 1), [A[:2, :2]], lambda x: np.diagflat(x, 1)),
    ("cdist", ops.cdist, [A, B[:2]], lambda x, y: np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1))),
    ("corrcoef", ops.corrcoef, [A], np.corrcoef),
    ("space_to_depth", lambda x: ops.space_to_depth(x, 2), [X], lambda x: _s2d(x, 2)),
    ("depth_to_space", lambda x: ops.depth_to_space(ops.space_to_depth(x, 2), 2), [X], lambda x: x),
    ("space_to_depth_channels_first", lambda x: ops.space_to_depth(x, 2, "channels_first"), [X.transpose(0, 3, 1, 2)],
     lambda x: _s2d(x.transpose(0, 2, 3, 1), 2).transpose(0, 3, 1, 2)),
    ("depthwise_conv", lambda x: ops.depthwise_conv(x, DK), [X], lambda x: _depthwise(x, DK)),
    ("separable_conv", lambda x: ops.separable_conv(x, DK, PK), [X], lambda x: _depthwise(x, DK) @ PK[0, 0]),
    ("dot_product_attention", ops.dot_product_attention, [Q, K, V], _attention),
    ("dot_product_attention_masked_causal", lambda q, k, v: ops.dot_product_attention(q, k, v, mask=MASK,
                                                                                      is_causal=True),
     [Q, K, V], lambda q, k, v: _attention(q, k, v, MASK, True)),
    ("psnr", lambda x, y: ops.psnr(x, y, 2.0), [A, B],
     lambda x, y: 20 * np.log10(2.0) - 10 * np.log10(np.mean((x - y) ** 2))),
    ("extract_sequences", lambda x: ops.extract_sequences(x, 2, 1), [A],
     lambda x: np.stack([x[:, i:i + 2] for i in range(3)], 1)),
    ("correlate_valid", lambda x, y: ops.correlate(x[0, 0], y[1, :3]), [C, B],
     lambda x, y: np.correlate(x[0, 0], y[1, :3])),
    ("correlate_same", lambda x, y: ops.correlate(x[0, 0], y[1], mode="same"), [C, B],
     lambda x, y: np.correlate(x[0, 0], y[1], "same")),
    ("correlate_full_swapped", lambda x, y: ops.correlate(x[1, :3], y[0, 0], mode="full"), [B, C],
     lambda x, y: np.correlate(x[1, :3], y[0, 0], "full")),
    ("nanmedian", lambda x: ops.nanmedian(x, axis=1), [_nan_rows(A)], lambda x: np.nanmedian(x, 1)),
    ("nanquantile", lambda x: ops.nanquantile(x, [0.2, 0.9], axis=1, keepdims=True), [_nan_rows(A)],
     lambda x: np.nanquantile(x, [0.2, 0.9], axis=1, keepdims=True)),
    ("nanpercentile", lambda x: ops.nanpercentile(x, 30), [NAN], lambda x: np.nanpercentile(x, 30)),
    ("angle", ops.angle, [np.array([-1.0, 2.0, -0.0, 0.0], np.float32)], np.angle),
    ("imag", ops.imag, [A], np.zeros_like), ("isreal", ops.isreal, [A], lambda x: np.ones(x.shape, bool)),
    ("saturate_cast", lambda x: ops.saturate_cast(ops.multiply(x, 1e3), "int32"), [A],
     lambda x: np.trunc(x * 1e3).astype(np.int32)),
]
IDS = [c[0] for c in CASES]
EXACT = {"nanargmax", "nanargmin", "searchsorted", "searchsorted_right", "digitize", "isin", "isin_invert", "isreal",
         "saturate_cast"}


def _want(oracle, arrays):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(oracle(*[a.astype(np.float64) for a in arrays]))


def _check(name, got, want, dtype=np.float32):
    got = np.asarray(got)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    if name in EXACT:
        np.testing.assert_array_equal(got, want.astype(got.dtype))
        assert got.dtype in (np.bool_, np.int32), got.dtype
    else:
        assert got.dtype == dtype, (name, got.dtype)
        assert_close(got, want.astype(dtype), rtol=3e-5 if dtype == np.float32 else 1e-9,
                     atol=3e-5 if dtype == np.float32 else 1e-10, what=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,fn,arrays,oracle", CASES, ids=IDS)
def test_eager_matches_numpy(name, fn, arrays, oracle, dtype):
    arrays = [a.astype(dtype) for a in arrays]
    _check(name, fn(*arrays), _want(oracle, arrays), dtype)


@pytest.mark.parametrize("name,fn,arrays,oracle", CASES, ids=IDS)
def test_functional_nodes_and_lambda(name, fn, arrays, oracle):
    want = _want(oracle, arrays)
    inputs = [keras.Input(batch_shape=a.shape) for a in arrays]
    lam_in = [keras.Input(batch_shape=a.shape) for a in arrays]
    node = keras.Model(inputs, fn(*inputs))
    lam = keras.Model(lam_in, keras.layers.Lambda(lambda ts: fn(*ts) if isinstance(ts, list) else fn(ts))(
        lam_in if len(lam_in) > 1 else lam_in[0]))
    for model in (node, lam):
        got = model(arrays if len(arrays) > 1 else arrays[0])
        _check(name, np.asarray(got), want)


def test_creation_windows_and_array():
    for name in ("hamming", "hanning", "blackman", "bartlett"):
        got = getattr(ops, name)(7)
        assert got.dtype == np.float32
        assert_close(got, getattr(np, name)(7).astype(np.float32))
    assert_close(ops.kaiser(6, 2.5), np.kaiser(6, 2.5).astype(np.float32))
    np.testing.assert_array_equal(ops.array([1.0, 2.0], dtype="float32"), np.array([1.0, 2.0], np.float32))


def test_clear_errors():
    with pytest.raises(ValueError, match="num_segments"):
        ops.segment_sum(A, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="q must be in"):
        ops.quantile(A, 1.5)
    with pytest.raises(NotImplementedError, match="flash_attention"):
        ops.dot_product_attention(Q, Q, Q, flash_attention=True)
    with pytest.raises(NotImplementedError, match=r"keras.ops.svd is not supported by graphc .*numpy.linalg"):
        ops.svd(A)
    with pytest.raises(NotImplementedError, match="while_loop.*unroll"):
        ops.while_loop(lambda i: i < 3, lambda i: i + 1, 0)


@pytest.mark.parametrize("dtype, top", [(np.float32, 2147483520), (np.float64, 2147483647)])
def test_saturate_cast_clips_to_the_largest_representable_bound(dtype, top):
    got = ops.saturate_cast(np.array([-1e12, 3.7, -3.7, 1e12, np.inf], dtype), "int32")
    np.testing.assert_array_equal(got, np.array([-2 ** 31, 3, -3, top, top], np.int32))


def test_sub_namespaces_as_in_keras():
    """keras.ops.nn / .numpy / .linalg hold the same functions, as Keras 3's sub-namespaces."""
    assert ops.nn.glu is ops.glu and ops.nn.relu is ops.relu and ops.nn.dot_product_attention is \
        ops.dot_product_attention
    assert ops.numpy.sin is ops.sin and ops.numpy.einsum is ops.einsum and ops.numpy.cumsum is ops.cumsum
    assert_close(ops.linalg.norm(A, axis=1), np.linalg.norm(A, axis=1))
    with pytest.raises(NotImplementedError, match="keras.ops.qr"):
        ops.linalg.qr(A)


@pytest.mark.parametrize("name,fn,tfn", [
    ("unfold", lambda x: ops.unfold(x, 3), lambda F, x: F.unfold(x, 3)),
    ("unfold_dilated_padded_strided", lambda x: ops.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(2, 2)),
     lambda F, x: F.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=2)),
    ("adaptive_average_pool", lambda x: ops.adaptive_average_pool(x, (3, 4), data_format="channels_first"),
     lambda F, x: F.adaptive_avg_pool2d(x, (3, 4))),
    ("adaptive_max_pool_channels_last",
     lambda x: ops.transpose(ops.adaptive_max_pool(ops.transpose(x, (0, 2, 3, 1)), 4), (0, 3, 1, 2)),
     lambda F, x: F.adaptive_max_pool2d(x, 4)),
    ("adaptive_average_pool_1d", lambda x: ops.adaptive_average_pool(x[:, :, 0], 4, data_format="channels_first"),
     lambda F, x: F.adaptive_avg_pool1d(x[:, :, 0], 4)),
])
def test_windows_match_torch_in_three_modes(name, fn, tfn):
    """unfold and adaptive pooling follow PyTorch's definitions (Keras 3's JAX backend gives identical
    results); torch is the oracle."""
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 3, 7, 6)).astype(np.float32)
    want = tfn(torch.nn.functional, torch.tensor(x)).numpy()
    assert_close(fn(x), want, what=name)
    inp = keras.Input(batch_shape=x.shape)
    lam_in = keras.Input(batch_shape=x.shape)
    for model in (keras.Model(inp, fn(inp)), keras.Model(lam_in, keras.layers.Lambda(fn)(lam_in))):
        assert_close(np.asarray(model(x)), want, what=name)


def test_argpartition_partitions():
    x = RNG.standard_normal((3, 9)).astype(np.float32)
    for k in (0, 4, 8):
        p = ops.argpartition(x, k, axis=1)
        assert p.dtype == np.int32
        part = np.take_along_axis(x, p, 1)
        assert np.all(part[:, :k].max(1, initial=-np.inf) <= part[:, k])
        assert np.all(part[:, k + 1:].min(1, initial=np.inf) >= part[:, k])
        np.testing.assert_array_equal(np.sort(p, 1), np.tile(np.arange(9), (3, 1)))


def test_out_of_scope_names_raise_clearly():
    with pytest.raises(NotImplementedError, match="bitwise_and.*integer bit operations"):
        ops.bitwise_and(np.array([1]), np.array([3]))
    with pytest.raises(NotImplementedError, match="keras.ops.image.resize.*image ops"):
        ops.image.resize(X, (2, 2))


IMG = RNG.random((4, 6, 8, 3)).astype(np.float32)
REARRANGE = [
    ("b h w c -> b c h w", {}, lambda x: x.transpose(0, 3, 1, 2)),
    ("b h w c -> (b h) w c", {}, lambda x: x.reshape(24, 8, 3)),
    ("b h w c -> h (b w) c", {}, lambda x: x.transpose(1, 0, 2, 3).reshape(6, 32, 3)),
    ("b h w c -> b (c h w)", {}, lambda x: x.transpose(0, 3, 1, 2).reshape(4, -1)),
    ("b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 2},
     lambda x: x.reshape(4, 2, 3, 2, 4, 3).transpose(0, 1, 3, 2, 4, 5).reshape(16, 3, 4, 3)),
    ("b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 2},
     lambda x: x.reshape(4, 3, 2, 4, 2, 3).transpose(0, 1, 3, 5, 2, 4).reshape(4, 3, 4, 12)),
]


@pytest.mark.parametrize("pattern,lengths,oracle", REARRANGE, ids=[p for p, _, _ in REARRANGE])
def test_rearrange_einops_patterns(pattern, lengths, oracle):
    """Keras's docstring examples; the oracle spells each as numpy reshape/transpose."""
    want = oracle(IMG)
    np.testing.assert_array_equal(ops.rearrange(IMG, pattern, **lengths), want)
    if "(b" not in pattern:  # the batch stays first on its own: also with a symbolic batch
        inp = keras.Input((6, 8, 3))
        np.testing.assert_array_equal(keras.Model(inp, ops.rearrange(inp, pattern, **lengths)).predict(
            IMG, verbose=0), want)
        lam = keras.Sequential([keras.Input((6, 8, 3)),
                                keras.layers.Lambda(lambda t: ops.rearrange(t, pattern, **lengths))])
        np.testing.assert_array_equal(lam.predict(IMG, verbose=0), want)


def test_rearrange_errors_name_the_problem():
    with pytest.raises(ValueError, match="same axes"):
        ops.rearrange(IMG, "b h w c -> b h w")
    with pytest.raises(ValueError, match="cannot infer"):
        ops.rearrange(IMG, "b (h1 h) w c -> b h1 h w c")


def test_one_hot_batch_normalization_and_crossentropies_run_eagerly():
    """Functions that used to need a trace (they emit graphc ops directly) also run on arrays."""
    y = np.array([0, 2, 1, 5])
    np.testing.assert_array_equal(ops.one_hot(y, 3), np.eye(3, dtype=np.float32)[[0, 2, 1]].tolist() + [[0, 0, 0]])
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    m, v = x.mean(0), x.var(0)
    assert_close(ops.batch_normalization(x, m, v, -1, epsilon=1e-3), (x - m) / np.sqrt(v + 1e-3))
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    assert_close(ops.sparse_categorical_crossentropy(y[:3], x[:3], from_logits=True), -logp[np.arange(3), y[:3]])
    assert_close(ops.categorical_crossentropy(np.eye(3, dtype=np.float32)[y[:3]], x[:3], from_logits=True),
                 -logp[np.arange(3), y[:3]])
    t = (x > 0).astype(np.float32)
    assert_close(ops.binary_crossentropy(t, x, from_logits=True),
                 np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))))


def test_full_like_of_other_dtypes():
    np.testing.assert_array_equal(ops.full_like(A, 7, dtype="int32"), np.full(A.shape, 7, np.int32))
    assert ops.full_like(A, 7, dtype="int32").dtype == np.int32
    np.testing.assert_array_equal(ops.ones_like(A, dtype="bool"), np.ones(A.shape, bool))
    x = keras.Input((3,), dtype="int32")
    got = keras.Model(x, ops.ones_like(x)).predict(np.array([[1, 2, 3], [4, 5, 6]], np.int32), verbose=0)
    np.testing.assert_array_equal(got, np.ones((2, 3), np.int32))
    assert got.dtype == np.int32
