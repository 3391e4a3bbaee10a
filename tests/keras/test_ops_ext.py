"""The keras.ops families added after the basics -- trigonometric/hyperbolic and other numpy ufuncs,
reductions, cumulative ops and sorting, creation/indexing/splitting/contractions, more activations and
normalizations -- in Keras 3's three modes: eager on numpy arrays (compiled graphc code), functional
nodes on KerasTensors, and traced inside a Lambda. numpy is the oracle (float64, cast to the input
dtype); Keras's argument names and defaults are used throughout."""
import warnings

import numpy as np
import pytest

from graphc import keras
from harness import assert_close

ops = keras.ops
RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((3, 4)).astype(np.float32)
U = RNG.uniform(-0.9, 0.9, (3, 4)).astype(np.float32)   # inside (-1, 1)
P = RNG.uniform(1.1, 3.0, (3, 4)).astype(np.float32)    # above 1
C = RNG.standard_normal((2, 3, 5)).astype(np.float32)
W = RNG.standard_normal((5, 4)).astype(np.float32)
IDX = np.array([[2, 0, 1, 3], [1, 1, 0, -1], [3, 2, 2, 0]])
SPECIAL = np.array([[np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5, -2.0, 3.0]], np.float32)
ROUNDED = np.round(A * 2)  # has zeros and ties


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _set(x, idx, v):
    x = x.copy()
    x[idx] = v
    return x


# (name, keras.ops expression of the tensor inputs, inputs, numpy oracle of the float64 inputs)
CASES = [
    # --- elementwise math
    ("sin", lambda x: ops.sin(x * 10), [A], lambda x: np.sin(x * 10)),
    ("cos", lambda x: ops.cos(x * 10), [A], lambda x: np.cos(x * 10)),
    ("tan", ops.tan, [U], np.tan),
    ("arcsin", ops.arcsin, [U], np.arcsin), ("arccos", ops.arccos, [U], np.arccos),
    ("arctan", lambda x: ops.arctan(x * 5), [A], lambda x: np.arctan(x * 5)),
    ("arctan2", ops.arctan2, [A, ROUNDED], np.arctan2),
    ("sinh", lambda x: ops.sinh(x * 3), [A], lambda x: np.sinh(x * 3)),
    ("cosh", lambda x: ops.cosh(x * 3), [A], lambda x: np.cosh(x * 3)),
    ("arcsinh", lambda x: ops.arcsinh(x * 100), [A], lambda x: np.arcsinh(x * 100)),
    ("arccosh", ops.arccosh, [P], np.arccosh), ("arctanh", ops.arctanh, [U], np.arctanh),
    ("expm1", lambda x: ops.expm1(x * 1e-4), [A], lambda x: np.expm1(x * 1e-4)),
    ("log1p", lambda x: ops.log1p(x * 1e-4), [U], lambda x: np.log1p(x * 1e-4)),
    ("log2", ops.log2, [P], np.log2), ("log10", ops.log10, [P], np.log10), ("exp2", ops.exp2, [A], np.exp2),
    ("cbrt", lambda x: ops.cbrt(x * 5), [A], lambda x: np.cbrt(x * 5)),
    ("trunc", lambda x: ops.trunc(x * 3), [A], lambda x: np.trunc(x * 3)), ("fabs", ops.fabs, [A], np.fabs),
    ("floor_divide", lambda x, y: ops.floor_divide(x * 5, y), [A, P], lambda x, y: np.floor_divide(x * 5, y)),
    ("mod", lambda x, y: ops.mod(x * 5, y), [A, B], lambda x, y: np.mod(x * 5, y)),
    ("fmod", lambda x, y: ops.fmod(x * 5, y), [A, B], lambda x, y: np.fmod(x * 5, y)),
    ("hypot", ops.hypot, [A, B], np.hypot), ("logaddexp", ops.logaddexp, [A, B], np.logaddexp),
    ("logaddexp2", ops.logaddexp2, [A, B], np.logaddexp2),
    ("heaviside", lambda x: ops.heaviside(x, 0.5), [ROUNDED], lambda x: np.heaviside(x, 0.5)),
    ("divide_no_nan", ops.divide_no_nan, [A, ROUNDED],
     lambda x, y: np.where(y == 0, 0, x / np.where(y == 0, 1, y))),
    ("nan_to_num", lambda x: ops.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-7.0), [SPECIAL],
     lambda x: np.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-7.0)),
    ("isnan", ops.isnan, [SPECIAL], np.isnan), ("isinf", ops.isinf, [SPECIAL], np.isinf),
    ("isfinite", ops.isfinite, [SPECIAL], np.isfinite), ("isneginf", ops.isneginf, [SPECIAL], np.isneginf),
    ("isposinf", ops.isposinf, [SPECIAL], np.isposinf), ("signbit", ops.signbit, [SPECIAL[:, 1:]], np.signbit),
    ("deg2rad", ops.deg2rad, [A], np.deg2rad), ("rad2deg", ops.rad2deg, [A], np.rad2deg),
    ("sinc", ops.sinc, [ROUNDED * 0.5], np.sinc),
    ("fmax", ops.fmax, [SPECIAL, SPECIAL[:, ::-1].copy()], np.fmax),
    ("fmin", ops.fmin, [SPECIAL, SPECIAL[:, ::-1].copy()], np.fmin),
    ("ldexp", lambda x: ops.ldexp(x, np.array([1.0, 2.0, -3.0, 0.0], np.float32)), [A],
     lambda x: np.ldexp(x, np.array([1, 2, -3, 0]))),
    ("logical_xor", lambda x, y: ops.logical_xor(ops.greater(x, 0.0), y), [A, ROUNDED],
     lambda x, y: np.logical_xor(x > 0, y)),
    ("isclose", lambda x: ops.isclose(x, x * 1.000001 + 1e-7), [A], lambda x: np.isclose(x, x * 1.000001 + 1e-7)),
    ("allclose", lambda x, y: ops.allclose(x, y), [A, A], np.allclose),
    ("select", lambda x: ops.select([ops.greater(x, 0.5), ops.less(x, -0.5)], [x, ops.negative(x)], 7.0), [A],
     lambda x: np.select([x > 0.5, x < -0.5], [x, -x], 7.0)),
    # --- reductions, cumulative ops, sorting
    ("prod", lambda x: ops.prod(x, axis=1), [A], lambda x: np.prod(x, axis=1)),
    ("amax", lambda x: ops.amax(x, axis=0, keepdims=True), [A], lambda x: np.amax(x, 0, keepdims=True)),
    ("amin", lambda x: ops.amin(x, axis=(0, 2)), [C], lambda x: np.amin(x, (0, 2))),
    ("any", lambda x: ops.any(ops.greater(x, 1.0), axis=1), [A], lambda x: np.any(x > 1, 1)),
    ("all", lambda x: ops.all(x, axis=0), [ROUNDED], lambda x: np.all(x, 0)),
    ("argmax", lambda x: ops.argmax(x, axis=1), [A], lambda x: np.argmax(x, 1)),
    ("argmin", lambda x: ops.argmin(x), [A], np.argmin),
    ("cumsum", lambda x: ops.cumsum(x, axis=2), [C], lambda x: np.cumsum(x, 2)),
    ("cumsum_flat", ops.cumsum, [A], np.cumsum),
    ("cumprod", lambda x: ops.cumprod(x, axis=1), [A], lambda x: np.cumprod(x, 1)),
    ("median", lambda x: ops.median(x, axis=1), [A], lambda x: np.median(x, 1)),
    ("median_axes", lambda x: ops.median(x, axis=(0, 2), keepdims=True), [C],
     lambda x: np.median(x, (0, 2), keepdims=True)),
    ("norm", ops.norm, [A], np.linalg.norm),
    ("norm_1", lambda x: ops.norm(x, 1, axis=1), [A], lambda x: np.linalg.norm(x, 1, axis=1)),
    ("norm_3", lambda x: ops.norm(x, 3, axis=0, keepdims=True), [A],
     lambda x: np.linalg.norm(x, 3, axis=0, keepdims=True)),
    ("norm_inf_matrix", lambda x: ops.norm(x, np.inf), [A], lambda x: np.linalg.norm(x, np.inf)),
    ("norm_fro", lambda x: ops.norm(x, "fro", axis=(1, 2)), [C], lambda x: np.linalg.norm(x, "fro", axis=(1, 2))),
    ("moments_mean", lambda x: ops.moments(x, [1])[0], [A], lambda x: x.mean(1)),
    ("moments_var", lambda x: ops.moments(x, [0, 1], keepdims=True)[1], [A], lambda x: x.var((0, 1), keepdims=True)),
    ("count_nonzero", lambda x: ops.count_nonzero(x, axis=0), [ROUNDED], lambda x: np.count_nonzero(x, 0)),
    ("average", lambda x: ops.average(x, axis=1, weights=np.array([1.0, 2.0, 3.0, 4.0], np.float32)), [A],
     lambda x: np.average(x, 1, weights=[1, 2, 3, 4])),
    ("average_full", lambda x, w: ops.average(x, axis=0, weights=w), [A, P], lambda x, w: np.average(x, 0, w)),
    ("ptp", lambda x: ops.ptp(x, axis=1), [A], lambda x: np.ptp(x, 1)),
    ("nansum", lambda x: ops.nansum(x, axis=1), [_set(A, (0, 1), np.nan)], lambda x: np.nansum(x, 1)),
    ("nanmean", lambda x: ops.nanmean(x, axis=1), [_set(A, (0, 1), np.nan)], lambda x: np.nanmean(x, 1)),
    ("nanmax", lambda x: ops.nanmax(x, axis=0), [_set(A, (slice(None), 0), np.nan)], lambda x: np.nanmax(x, 0)),
    ("nanmin", lambda x: ops.nanmin(x, axis=1), [_set(A, (0, 1), np.nan)], lambda x: np.nanmin(x, 1)),
    ("nanprod", lambda x: ops.nanprod(x), [_set(A, (0, 1), np.nan)], np.nanprod),
    ("nanvar", lambda x: ops.nanvar(x, axis=1), [_set(A, (0, 1), np.nan)], lambda x: np.nanvar(x, 1)),
    ("nanstd", lambda x: ops.nanstd(x, axis=1), [_set(A, (0, 1), np.nan)], lambda x: np.nanstd(x, 1)),
    ("sort", ops.sort, [A], np.sort), ("sort_axis0_ties", lambda x: ops.sort(x, axis=0), [ROUNDED],
                                       lambda x: np.sort(x, 0)),
    ("argsort_ties", ops.argsort, [ROUNDED], lambda x: np.argsort(x, kind="stable")),
    ("top_k_values", lambda x: ops.top_k(x, 2)[0], [A], lambda x: -np.sort(-x)[:, :2]),
    ("top_k_indices", lambda x: ops.top_k(x, 3)[1], [ROUNDED], lambda x: np.argsort(-x, kind="stable")[:, :3]),
    ("in_top_k", lambda x: ops.in_top_k(np.array([0, 3, 2]), x, 2), [A],
     lambda x: np.array([(x[i] > x[i, t]).sum() < 2 for i, t in enumerate([0, 3, 2])])),
    # --- shapes, creation, indexing, contractions
    ("broadcast_to", lambda x: ops.broadcast_to(x, (2, 3, 4)), [A], lambda x: np.broadcast_to(x, (2, 3, 4))),
    ("tile", lambda x: ops.tile(x, (2, 1, 3)), [A], lambda x: np.tile(x, (2, 1, 3))),
    ("repeat", lambda x: ops.repeat(x, 2, axis=1), [A], lambda x: np.repeat(x, 2, 1)),
    ("repeat_counts", lambda x: ops.repeat(x, [1, 0, 2], axis=0), [A], lambda x: np.repeat(x, [1, 0, 2], 0)),
    ("flip", ops.flip, [C], np.flip), ("fliplr", ops.fliplr, [A], np.fliplr), ("flipud", ops.flipud, [A], np.flipud),
    ("roll", lambda x: ops.roll(x, 2), [A], lambda x: np.roll(x, 2)),
    ("roll_axes", lambda x: ops.roll(x, (-1, 2), axis=(0, 2)), [C], lambda x: np.roll(x, (-1, 2), (0, 2))),
    ("pad", lambda x: ops.pad(x, ((1, 0), (2, 1)), constant_values=3.0), [A],
     lambda x: np.pad(x, ((1, 0), (2, 1)), constant_values=3.0)),
    ("pad_reflect", lambda x: ops.pad(x, 1, mode="reflect"), [A], lambda x: np.pad(x, 1, mode="reflect")),
    ("pad_edge", lambda x: ops.pad(x, ((0, 2), (1, 1)), mode="edge"), [A], lambda x: np.pad(x, ((0, 2), (1, 1)), "edge")),
    ("split", lambda x: ops.split(x, 2, axis=1)[1], [A], lambda x: np.split(x, 2, 1)[1]),
    ("split_indices", lambda x: ops.split(x, [1, 3], axis=1)[1], [A], lambda x: np.split(x, [1, 3], 1)[1]),
    ("array_split", lambda x: ops.array_split(x, 3, axis=2)[0], [C], lambda x: np.array_split(x, 3, 2)[0]),
    ("hsplit", lambda x: ops.hsplit(x, 2)[0], [A], lambda x: np.hsplit(x, 2)[0]),
    ("vsplit", lambda x: ops.vsplit(x, 3)[2], [A], lambda x: np.vsplit(x, 3)[2]),
    ("hstack", lambda x, y: ops.hstack([x, y]), [A, B], lambda x, y: np.hstack([x, y])),
    ("vstack", lambda x, y: ops.vstack([x, y]), [A, B], lambda x, y: np.vstack([x, y])),
    ("dstack", lambda x, y: ops.dstack([x, y]), [A, B], lambda x, y: np.dstack([x, y])),
    ("unstack", lambda x: ops.unstack(x, axis=1)[2], [C], lambda x: x[:, 2]),
    ("take", lambda x: ops.take(x, np.array([2, 0, -1]), axis=1), [A], lambda x: np.take(x, [2, 0, -1], 1)),
    ("take_flat", lambda x: ops.take(x, np.array([[5, 0], [11, 3]])), [A], lambda x: np.take(x, [[5, 0], [11, 3]])),
    ("take_along_axis", lambda x: ops.take_along_axis(x, IDX, axis=1), [A], lambda x: np.take_along_axis(x, IDX, 1)),
    ("tril", ops.tril, [A], np.tril), ("triu", lambda x: ops.triu(x, 1), [C], lambda x: np.triu(x, 1)),
    ("diagonal", lambda x: ops.diagonal(x, 1, 1, 2), [C], lambda x: np.diagonal(x, 1, 1, 2)),
    ("diag_vector", lambda x: ops.diag(x[0], -1), [A], lambda x: np.diag(x[0], -1)),
    ("diag_matrix", lambda x: ops.diag(x, 1), [A], lambda x: np.diag(x, 1)),
    ("trace", lambda x: ops.trace(x, 0, 0, 2), [C], lambda x: np.trace(x, 0, 0, 2)),
    ("ones_like", lambda x: ops.add(ops.ones_like(x), x), [A], lambda x: 1 + x),
    ("full_like", lambda x: ops.full_like(x, 2.5), [A], lambda x: np.full_like(x, 2.5)),
    ("zeros_like", ops.zeros_like, [A], np.zeros_like),
    ("creation_in_expression", lambda x: ops.add(x, ops.add(ops.eye(3, 4, 1), ops.arange(4.0))), [A],
     lambda x: x + np.eye(3, 4, 1) + np.arange(4.0)),
    ("copy", ops.copy, [A], np.copy), ("stop_gradient", ops.stop_gradient, [A], np.copy),
    ("get_item", lambda x: ops.get_item(x, (1, slice(None, None, -1), None, 2)), [C], lambda x: x[1, ::-1, None, 2]),
    ("get_item_ellipsis", lambda x: ops.get_item(x, (Ellipsis, slice(1, 4))), [C], lambda x: x[..., 1:4]),
    ("get_item_list", lambda x: ops.get_item(x, [2, 0]), [A], lambda x: x[[2, 0]]),
    ("slice", lambda x: ops.slice(x, (1, 1), (2, 2)), [A], lambda x: x[1:3, 1:3]),
    ("slice_update", lambda x, u: ops.slice_update(x, (1, 1), u), [A, B[:2, :2]],
     lambda x, u: _set(x, (slice(1, 3), slice(1, 3)), u)),
    ("einsum_matmul", lambda x, w: ops.einsum("bij,jk->bik", x, w), [C, W], lambda x, w: np.einsum("bij,jk->bik", x, w)),
    ("einsum_transposed", lambda x, w: ops.einsum("bij,kj->kbi", x, w.T), [C, W],
     lambda x, w: np.einsum("bij,kj->kbi", x, w.T)),
    ("einsum_implicit", lambda x, y: ops.einsum("ij,ij", x, y), [A, B], lambda x, y: np.einsum("ij,ij", x, y)),
    ("einsum_ellipsis", lambda x, w: ops.einsum("...j,jk->...k", x, w), [C, W],
     lambda x, w: np.einsum("...j,jk->...k", x, w)),
    ("einsum_three", lambda x, y: ops.einsum("i,j,k->ijk", x[0], y[0], x[1]), [A, B],
     lambda x, y: np.einsum("i,j,k->ijk", x[0], y[0], x[1])),
    ("tensordot", lambda x, w: ops.tensordot(x, w, axes=1), [C, W], lambda x, w: np.tensordot(x, w, 1)),
    ("tensordot_axes", lambda x, y: ops.tensordot(x, y, axes=([0], [0])), [A, B],
     lambda x, y: np.tensordot(x, y, ([0], [0]))),
    ("outer", lambda x, y: ops.outer(x, y), [A, B[:2]], np.outer), ("inner", ops.inner, [A, B], np.inner),
    ("vdot", ops.vdot, [A, B], np.vdot), ("kron", ops.kron, [A[:2, :3], B[:2, :2]], np.kron),
    ("diff", lambda x: ops.diff(x, 2), [A], lambda x: np.diff(x, 2)),
    ("append", ops.append, [A, B], np.append), ("rot90", ops.rot90, [A], np.rot90),
    ("rot90_k", lambda x: ops.rot90(x, 3, (1, 2)), [C], lambda x: np.rot90(x, 3, (1, 2))),
    ("meshgrid", lambda x, y: ops.meshgrid(x[0], y[1, :3])[1], [A, B], lambda x, y: np.meshgrid(x[0], y[1, :3])[1]),
    ("meshgrid_ij", lambda x, y: ops.meshgrid(x[0], y[1, :3], indexing="ij")[0], [A, B],
     lambda x, y: np.meshgrid(x[0], y[1, :3], indexing="ij")[0]),
    # --- activations and normalization
    ("hard_tanh", lambda x: ops.hard_tanh(x * 2), [A], lambda x: np.clip(x * 2, -1, 1)),
    ("hard_shrink", ops.hard_shrink, [A], lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    ("soft_shrink", lambda x: ops.soft_shrink(x, 0.3), [A],
     lambda x: np.where(x > 0.3, x - 0.3, np.where(x < -0.3, x + 0.3, 0))),
    ("tanh_shrink", ops.tanh_shrink, [A], lambda x: x - np.tanh(x)),
    ("glu", ops.glu, [A], lambda x: x[:, :2] * _sig(x[:, 2:])),
    ("glu_axis", lambda x: ops.glu(x, axis=0), [A[:2]], lambda x: x[:1] * _sig(x[1:])),
    ("sparse_plus", lambda x: ops.sparse_plus(x * 2), [A],
     lambda x: np.where(2 * x <= -1, 0, np.where(2 * x >= 1, 2 * x, (2 * x + 1) ** 2 / 4))),
    ("sparse_sigmoid", lambda x: ops.sparse_sigmoid(x * 2), [A], lambda x: np.clip((2 * x + 1) / 2, 0, 1)),
    ("squareplus", lambda x: ops.squareplus(x, b=2), [A], lambda x: (x + np.sqrt(x * x + 2)) / 2),
    ("threshold", lambda x: ops.threshold(x, 0.1, -2.0), [A], lambda x: np.where(x > 0.1, x, -2.0)),
    ("normalize", ops.normalize, [A], lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)),
    ("normalize_l1", lambda x: ops.normalize(x, axis=0, order=1), [A], lambda x: x / np.abs(x).sum(0, keepdims=True)),
    ("layer_normalization", lambda x, g: ops.layer_normalization(x, g[0], g[1], epsilon=1e-3), [A, B],
     lambda x, g: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3) * g[0] + g[1]),
    ("layer_normalization_axes", lambda x: ops.layer_normalization(x, axis=(1, 2)), [C],
     lambda x: (x - x.mean((1, 2), keepdims=True)) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-7)),
    ("rms_normalization", lambda x, s: ops.rms_normalization(x, s[0]), [A, B],
     lambda x, s: x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-7) * s[0]),
    ("multi_hot", lambda x: ops.multi_hot(ops.cast(ops.abs(x), "int32"), 4), [ROUNDED],
     lambda x: (np.abs(x).astype(int)[..., None] == np.arange(4)).any(-2).astype(np.float64)),
    ("sparsemax", ops.sparsemax, [A * 2], None),
]
IDS = [c[0] for c in CASES]
BOOL = {"isnan", "isinf", "isfinite", "isneginf", "isposinf", "signbit", "logical_xor", "isclose", "allclose", "any",
        "all", "in_top_k"}
INT = {"argmax", "argmin", "count_nonzero", "argsort_ties", "top_k_indices"}


def _sparsemax(x):
    """Martins & Astudillo's algorithm 1, row by row."""
    out = np.zeros_like(x)
    for i, row in enumerate(x):
        z = np.sort(row)[::-1]
        k = np.arange(1, len(z) + 1)
        support = 1 + k * z > np.cumsum(z)
        kz = k[support][-1]
        tau = (z[:kz].sum() - 1) / kz
        out[i] = np.maximum(row - tau, 0)
    return out


def _want(name, oracle, arrays):
    if name == "sparsemax":
        return _sparsemax(arrays[0].astype(np.float64))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's all-NaN slice warning (nanmax: NaN there)
        return np.asarray(oracle(*[a.astype(np.float64) for a in arrays]))


def _check(name, got, want, dtype):
    got = np.asarray(got)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    if name in BOOL:
        assert got.dtype == np.bool_, got.dtype
        np.testing.assert_array_equal(got, want)
    elif name == "multi_hot":  # Keras: dtype=None is floatx
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
    elif name in INT:
        assert got.dtype == np.int32, got.dtype
        np.testing.assert_array_equal(got, want)
    else:
        assert got.dtype == dtype, f"{name}: dtype {got.dtype}"
        rtol = 2e-5 if dtype == np.float32 else 1e-10
        assert_close(got, want.astype(dtype), rtol=rtol, atol=1e-6 if dtype == np.float32 else 1e-12, what=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,fn,arrays,oracle", CASES, ids=IDS)
def test_eager_matches_numpy(name, fn, arrays, oracle, dtype):
    arrays = [a.astype(dtype) for a in arrays]
    _check(name, fn(*arrays), _want(name, oracle, arrays), dtype)


def _model_outputs(model, arrays):
    out = model.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0, batch_size=len(arrays[0]))
    return out


@pytest.mark.parametrize("name,fn,arrays,oracle", CASES, ids=IDS)
def test_functional_nodes_and_lambda(name, fn, arrays, oracle):
    """The same expression on KerasTensors (op nodes) and inside a Lambda layer; inputs have a fixed
    batch_shape so ops that need static lengths along axis 0 trace."""
    want = _want(name, oracle, arrays)
    inputs = [keras.Input(batch_shape=a.shape) for a in arrays]
    node = keras.Model(inputs, fn(*inputs))
    lam_in = [keras.Input(batch_shape=a.shape) for a in arrays]
    lam = keras.Model(lam_in, keras.layers.Lambda(lambda ts: fn(*ts) if isinstance(ts, list) else fn(ts))(
        lam_in if len(lam_in) > 1 else lam_in[0]))
    for model in (node, lam):
        got = model(arrays if len(arrays) > 1 else arrays[0])
        got = np.asarray(got.numpy() if hasattr(got, "numpy") else got)
        if got.shape != want.shape and got.dtype != np.bool_:
            got = np.asarray(_model_outputs(model, arrays))
        _check(name, got, want, np.float32)
