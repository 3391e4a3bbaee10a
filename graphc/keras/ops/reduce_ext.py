"""Reductions, cumulative ops and sorting of ``keras.ops`` beyond core.py's sum/mean/max/min/var/std.

- ``cumsum``/``cumprod`` are Hillis-Steele scans: ceil(log2 n) steps of ``y = y (+|*) shift(y, d)`` with
  d = 1, 2, 4, ... (Pad + Slice along the axis), so the graph has O(log n) ops and differentiates through
  Pad/Slice/Add/Mul. The axis length must be known when tracing.
- ``sort``/``argsort``/``top_k``/``median`` rank the elements along the (static) axis by pairwise
  comparison: rank_i = #{j: x_j < x_i} + #{j < i: x_j == x_i} (stable, lower index first among ties),
  and place x_i at its rank with Where + ReduceSum. That takes O(n^2) memory per row, fine for the
  hundreds of classes/features Keras models sort, and gradients reach the sorted values. NaNs do not
  sort last as in numpy (they compare false with everything).
"""
from __future__ import annotations

import numpy as np

from .core import _reduce, _tracer, cast, emit, expand_dims, mean, ravel, reshape, squeeze, transpose, var
from .dispatch import keras_op
from .math_ext import _float, _like, _static_len, isnan

__all__ = ["prod", "amax", "amin", "any", "all", "argmax", "argmin", "cumsum", "cumprod", "median", "norm", "moments",
           "count_nonzero", "average", "ptp", "nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanvar", "nanstd",
           "sort", "argsort", "top_k", "in_top_k"]


def _axes(axis):
    return None if axis is None else [int(a) for a in np.atleast_1d(axis)]


@keras_op("x")
def prod(x, axis=None, keepdims=False, dtype=None):
    y = _reduce("ReduceProd", _float(x), _axes(axis), keepdims)
    return y if dtype is None else cast.traced(y, dtype)


@keras_op("x")
def amax(x, axis=None, keepdims=False): return _reduce("ReduceMax", _float(x), _axes(axis), keepdims)
@keras_op("x")
def amin(x, axis=None, keepdims=False): return _reduce("ReduceMin", _float(x), _axes(axis), keepdims)
@keras_op("x")
def ptp(x, axis=None, keepdims=False):
    x = _float(x)
    return emit("Sub", [_reduce("ReduceMax", x, _axes(axis), keepdims), _reduce("ReduceMin", x, _axes(axis), keepdims)])


def _nonzero_float(x):
    from ..engine.trace import SymbolicValue
    if isinstance(x, SymbolicValue) and x.dtype == "bool":
        return cast.traced(x, "float32")
    x = _float(x)
    return cast.traced(emit("Not", [emit("Equal", [x, _like(x, 0.0)])]), x.dtype)


@keras_op("x")
def any(x, axis=None, keepdims=False):  # noqa: A001  (Keras's name)
    return cast.traced(_reduce("ReduceMax", _nonzero_float(x), _axes(axis), keepdims), "bool")


@keras_op("x")
def all(x, axis=None, keepdims=False):  # noqa: A001
    return cast.traced(_reduce("ReduceMin", _nonzero_float(x), _axes(axis), keepdims), "bool")


@keras_op("x")
def count_nonzero(x, axis=None):
    return cast.traced(_reduce("ReduceSum", _nonzero_float(x), _axes(axis), False), "int32")


def _arg(op_type, x, axis, keepdims):
    x = _float(x)
    if axis is None:
        y = emit(op_type, [ravel.traced(x)], axis=0, keepdims=0)
        if keepdims:
            y = reshape.traced(y, (1,) * x.ndim)
    else:
        y = emit(op_type, [x], axis=int(axis), keepdims=int(bool(keepdims)))
    return cast.traced(y, "int32")


@keras_op("x")
def argmax(x, axis=None, keepdims=False):
    """Index of the first maximum (int32, as Keras)."""
    return _arg("ArgMax", x, axis, keepdims)


@keras_op("x")
def argmin(x, axis=None, keepdims=False):
    return _arg("ArgMin", x, axis, keepdims)


# --- cumulative -------------------------------------------------------------------------------------
def _shift(y, axis, d, fill):
    """y shifted by d along axis, the first d entries being ``fill``."""
    t = _tracer([y])
    r = y.ndim
    pads = [0] * (2 * r)
    pads[axis] = d
    padded = emit("Pad", [y, t.const(np.asarray(pads, np.int64)), _like(y, fill)], mode="constant")
    n = y.ir_shape[axis]
    return emit("Slice", [padded, t.const(np.asarray([0], np.int64)), t.const(np.asarray([n], np.int64)),
                          t.const(np.asarray([axis], np.int64))])


def _scan(x, axis, op_type, fill, what):
    x = _float(x)
    if axis is None:
        x, axis = ravel.traced(x), 0
    axis = int(axis) % x.ndim
    n = _static_len(x, axis, what)
    y, d = x, 1
    while d < n:
        y = emit(op_type, [y, _shift(y, axis, d, fill)])
        d *= 2
    return emit("Identity", [y]) if y is x else y


@keras_op("x")
def cumsum(x, axis=None, dtype=None):
    y = _scan(x, axis, "Add", 0.0, "cumsum")
    return y if dtype is None else cast.traced(y, dtype)


@keras_op("x")
def cumprod(x, axis=None, dtype=None):
    y = _scan(x, axis, "Mul", 1.0, "cumprod")
    return y if dtype is None else cast.traced(y, dtype)


# --- statistics ---------------------------------------------------------------------------------------
@keras_op("x")
def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) over ``axes`` (population variance, as Keras)."""
    if synchronized:
        raise NotImplementedError("keras.ops.moments(synchronized=True) averages over devices; graphc runs on "
                                  "one device: use synchronized=False")
    x = _float(x)
    return mean.traced(x, _axes(axes), keepdims), var.traced(x, _axes(axes), keepdims)


@keras_op("x", "weights")
def average(x, axis=None, weights=None):
    """Weighted mean; 1-D ``weights`` apply along ``axis`` (numpy's rule)."""
    x = _float(x)
    if weights is None:
        return mean.traced(x, axis)
    from .math_ext import _pair
    x, w = _pair(x, weights)
    if w.ndim == 1 and x.ndim > 1:
        if axis is None:
            raise ValueError("average: 1-D weights need an axis when x has more than one dimension")
        a = int(axis) % x.ndim
        w = reshape.traced(w, [-1 if i == a else 1 for i in range(x.ndim)])
    num = _reduce("ReduceSum", emit("Mul", [x, w]), _axes(axis), False)
    den = _reduce("ReduceSum", emit("ExpandAs", [w, x], domain="graphc"), _axes(axis), False)
    return emit("Div", [num, den])


@keras_op("x")
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002  (Keras's name)
    """Vector norms (ord None/2, 1, inf, -inf, 0, any p) and matrix norms (ord None/'fro', 1, -1, inf,
    -inf) as numpy.linalg.norm; the spectral and nuclear norms need an SVD graphc does not have."""
    x = _float(x)
    axes = _axes(axis)
    if axes is None:
        axes = list(range(x.ndim))
        if ord is None:  # the 2-norm of the flattened x
            return emit("Sqrt", [_reduce("ReduceSum", emit("Mul", [x, x]), axes, keepdims)])
        if x.ndim == 2:
            return _matrix_norm(x, ord, axes, keepdims)
        if x.ndim != 1:
            raise ValueError(f"norm: improper number of dimensions ({x.ndim}) to take a norm with ord={ord!r} "
                             f"and axis=None")
    if len(axes) == 2:
        return _matrix_norm(x, "fro" if ord is None else ord, axes, keepdims)
    if len(axes) != 1 and ord not in (None, 2):
        raise ValueError(f"norm: ord={ord!r} needs one axis or two, received axis={axis}")
    a = emit("Abs", [x])
    if ord is None or ord == 2:
        return emit("Sqrt", [_reduce("ReduceSum", emit("Mul", [x, x]), axes, keepdims)])
    if ord == np.inf:
        return _reduce("ReduceMax", a, axes, keepdims)
    if ord == -np.inf:
        return _reduce("ReduceMin", a, axes, keepdims)
    if ord == 0:
        return _reduce("ReduceSum", _nonzero_float(x), axes, keepdims)
    if ord == 1:
        return _reduce("ReduceSum", a, axes, keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid ord {ord!r} for a vector norm")
    p = float(ord)
    return emit("Pow", [_reduce("ReduceSum", emit("Pow", [a, p]), axes, keepdims), 1.0 / p])


def _matrix_norm(x, ord, axes, keepdims):
    r0, r1 = (a % x.ndim for a in axes)
    a = emit("Abs", [x])
    if ord in ("fro", None):
        return emit("Sqrt", [_reduce("ReduceSum", emit("Mul", [x, x]), [r0, r1], keepdims)])
    if ord in (1, -1, np.inf, -np.inf):
        inner, outer = (r0, r1) if ord in (1, -1) else (r1, r0)  # 1: max column sum; inf: max row sum
        s = _reduce("ReduceSum", a, [inner], True)
        y = _reduce("ReduceMax" if ord > 0 else "ReduceMin", s, [outer], True)
        return y if keepdims else squeeze.traced(y, [r0, r1])
    raise NotImplementedError(f"keras.ops.norm(ord={ord!r}) of a matrix needs singular values (an SVD), which "
                              "graphc does not compute; use ord='fro', 1, -1, inf or -inf")


def _nan_fill(x, v):
    return emit("Where", [isnan.traced(x), _like(x, v), x])


def _nan_count(x, axes, keepdims):
    return _reduce("ReduceSum", cast.traced(emit("Not", [isnan.traced(x)]), x.dtype), axes, keepdims)


@keras_op("x")
def nansum(x, axis=None, keepdims=False):
    x = _float(x)
    return _reduce("ReduceSum", _nan_fill(x, 0.0), _axes(axis), keepdims)


@keras_op("x")
def nanprod(x, axis=None, keepdims=False):
    x = _float(x)
    return _reduce("ReduceProd", _nan_fill(x, 1.0), _axes(axis), keepdims)


@keras_op("x")
def nanmean(x, axis=None, keepdims=False):
    x = _float(x)
    return emit("Div", [nansum.traced(x, axis, keepdims), _nan_count(x, _axes(axis), keepdims)])


def _nan_extreme(x, axis, keepdims, op_type, fill):
    x = _float(x)
    y = _reduce(op_type, _nan_fill(x, fill), _axes(axis), keepdims)
    all_nan = emit("Equal", [_nan_count(x, _axes(axis), keepdims), _like(x, 0.0)])
    return emit("Where", [all_nan, _like(x, np.nan), y])


@keras_op("x")
def nanmax(x, axis=None, keepdims=False): return _nan_extreme(x, axis, keepdims, "ReduceMax", -np.inf)
@keras_op("x")
def nanmin(x, axis=None, keepdims=False): return _nan_extreme(x, axis, keepdims, "ReduceMin", np.inf)


@keras_op("x")
def nanvar(x, axis=None, keepdims=False):
    x = _float(x)
    m = nanmean.traced(x, axis, True)
    d = _nan_fill(emit("Sub", [x, m]), 0.0)
    return emit("Div", [_reduce("ReduceSum", emit("Mul", [d, d]), _axes(axis), keepdims),
                        _nan_count(x, _axes(axis), keepdims)])


@keras_op("x")
def nanstd(x, axis=None, keepdims=False):
    return emit("Sqrt", [nanvar.traced(x, axis, keepdims)])


# --- sorting by pairwise ranks ------------------------------------------------------------------------
def _last(x, axis):
    """x with ``axis`` moved last, and the permutation that moves it back."""
    r = x.ndim
    a = int(axis) % r
    if a == r - 1:
        return x, None
    perm = [i for i in range(r) if i != a] + [a]
    return transpose.traced(x, perm), [int(i) for i in np.argsort(perm)]


def _back(y, inv):
    return y if inv is None else transpose.traced(y, inv)


def _ranks(x, descending):
    """rank of each element along the last axis (float, 0-based, stable)."""
    t = _tracer([x])
    n = _static_len(x, x.ndim - 1, "sort")
    xi = expand_dims.traced(x, -1)   # (..., n_i, 1)
    xj = expand_dims.traced(x, -2)   # (..., 1, n_j)
    before = emit("Greater" if descending else "Less", [xj, xi])
    earlier = t.const(np.tril(np.ones((n, n), bool), -1))  # [i, j]: j < i
    tie = emit("And", [emit("Equal", [xj, xi]), earlier])
    return _reduce("ReduceSum", cast.traced(emit("Or", [before, tie]), x.dtype), [-1], False), n


def _place(x, ranks, n, k, values):
    """out[..., r] = values[..., i] where ranks[..., i] == r, for r < k."""
    t = _tracer([x])
    hit = emit("Equal", [expand_dims.traced(ranks, -1), t.const(np.arange(k, dtype=x.dtype))])  # (..., n_i, k)
    v = expand_dims.traced(values, -1)
    return _reduce("ReduceSum", emit("Where", [hit, v, _like(x, 0.0)]), [-2], False)


def _sorted(x, axis, descending, k=None, want="values"):
    x = _float(x)
    x, inv = _last(x, axis)
    ranks, n = _ranks(x, descending)
    k = n if k is None else k
    if want == "values":
        return _back(_place(x, ranks, n, k, x), inv)
    idx = _place(x, ranks, n, k, _tracer([x]).const(np.arange(n, dtype=x.dtype)))
    return _back(cast.traced(idx, "int32"), inv)


@keras_op("x")
def sort(x, axis=-1):
    """Ascending sort along ``axis`` (its length must be known)."""
    if axis is None:
        x, axis = ravel.traced(_float(x)), 0
    return _sorted(x, axis, False)


@keras_op("x")
def argsort(x, axis=-1):
    """Indices (int32) that sort ``x`` ascending along ``axis``; ties keep their order."""
    if axis is None:
        x, axis = ravel.traced(_float(x)), 0
    return _sorted(x, axis, False, want="indices")


@keras_op("x")
def top_k(x, k, sorted=True):  # noqa: A002  (Keras's name)
    """(values, int32 indices) of the k largest entries along the last axis, largest first (also with
    sorted=False); ties: lower index first."""
    x = _float(x)
    n = _static_len(x, x.ndim - 1, "top_k")
    if not 0 <= int(k) <= n:
        raise ValueError(f"top_k: k={k} must be in [0, {n}] for an input of shape {x.shape}")
    return _sorted(x, -1, True, int(k)), _sorted(x, -1, True, int(k), want="indices")


@keras_op("targets", "predictions")
def in_top_k(targets, predictions, k):
    """Whether each target's prediction is among the k largest of its row: fewer than k predictions
    of the row are strictly greater (ties count in, as TensorFlow's in_top_k)."""
    from .nn import one_hot
    p = _float(predictions)
    t = _tracer([p])
    n = p.ir_shape[-1]
    hot = one_hot(cast.traced(targets, "int64") if targets.dtype != "int64" else targets, n, dtype=p.dtype)
    target_pred = _reduce("ReduceSum", emit("Mul", [hot, p]), [-1], True)
    greater = _reduce("ReduceSum", cast.traced(emit("Greater", [p, target_pred]), p.dtype), [-1], False)
    return emit("Less", [greater, t.const(np.asarray(k, dtype=p.dtype))])


@keras_op("x")
def median(x, axis=None, keepdims=False):
    """Middle value along ``axis`` (mean of the two middle ones for even lengths), via sort."""
    x = _float(x)
    r = x.ndim
    axes = list(range(r)) if axis is None else [a % r for a in _axes(axis)]
    keep = [a for a in range(r) if a not in axes]
    y = transpose.traced(x, keep + axes) if keep + axes != list(range(r)) else x
    lead = [0 if isinstance(x.ir_shape[a], str) else x.ir_shape[a] for a in keep]
    n = int(np.prod([_static_len(x, a, "median") for a in axes]))
    y = reshape.traced(y, lead + [n]) if len(axes) != 1 or keep + axes != list(range(r)) else y
    s = _sorted(y, -1, False)
    t = _tracer([s])
    lo, hi = (n - 1) // 2, n // 2
    mid = [emit("Slice", [s, t.const(np.asarray([i], np.int64)), t.const(np.asarray([i + 1], np.int64)),
                          t.const(np.asarray([-1], np.int64))]) for i in sorted({lo, hi})]
    m = mid[0] if len(mid) == 1 else emit("Mul", [emit("Add", mid), 0.5])
    m = squeeze.traced(m, -1)
    if keepdims:
        for a in sorted(axes):
            m = expand_dims.traced(m, a)
    return m
