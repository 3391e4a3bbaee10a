"""The rest of ``keras.ops`` graphc composes from registry ops: quantiles, NaN-skipping arg/cumulative
reductions, searching (searchsorted, digitize, isin), segment reductions and scatters (one-hot
compositions; the number of segments and the output shape are static), vector helpers (cross,
trapezoid, vander, diagflat, cdist, corrcoef), space/depth rearrangements, depthwise and separable
convolutions, dot-product attention, PSNR, signal windows and the real-tensor views of complex
functions (angle, imag, isreal)."""
from __future__ import annotations

import builtins
import math

import numpy as np

from ...errors import ShapeError
from .array_ext import _out, _slice, _tensor, diag
from .core import (_reduce, _tracer, cast, concatenate, emit, expand_dims, mean, ravel, reshape, squeeze,
                   transpose)
from .dispatch import keras_op
from .math_ext import _float, _like, _static_len, isnan
from .reduce_ext import _arg, _last, _back, _scan, _sorted

__all__ = ["quantile", "percentile", "nanargmax", "nanargmin", "nancumsum", "nancumprod", "searchsorted",
           "digitize", "isin", "segment_sum", "segment_max", "segment_min", "segment_prod", "scatter", "scatter_update", "cross", "trapezoid",
           "vander", "diagflat", "cdist", "corrcoef", "space_to_depth", "depth_to_space", "depthwise_conv",
           "separable_conv", "dot_product_attention", "psnr", "hamming", "hanning", "blackman", "bartlett",
           "kaiser", "array", "angle", "imag", "isreal", "saturate_cast"]


# --- quantiles ---------------------------------------------------------------------------------------
def quantile_qs(q, scale, what):
    """The quantiles ``q`` (percentiles when ``scale`` is 100) as fractions, checked to lie in [0, 1]."""
    qs = np.asarray(q, dtype=np.float64) / scale
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"{what}: q must be in [0, {scale:g}], received {q!r}")
    return qs


def quantile_rows(x, axis, what):
    """(axes, y, n): ``x`` as float with the reduced ``axes`` moved last and flattened into one axis of
    static length ``n`` (the kept axes first, in order)."""
    x = _float(x)
    r = x.ndim
    axes = list(range(r)) if axis is None else [a % r for a in np.atleast_1d(axis)]
    keep = [a for a in range(r) if a not in axes]
    y = transpose.traced(x, keep + axes) if keep + axes != list(range(r)) else x
    n = int(np.prod([_static_len(x, a, what) for a in axes]))
    return axes, reshape.traced(y, [0 if isinstance(x.ir_shape[a], str) else x.ir_shape[a] for a in keep] + [n]), n


def _quantile(x, q, axis, method, keepdims, scale, what):
    qs = quantile_qs(q, scale, what)
    if method not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ValueError(f"{what}: method must be linear, lower, higher, midpoint or nearest, received {method!r}")
    axes, y, n = quantile_rows(x, axis, what)
    s = _sorted(y, -1, False)
    t = _tracer([s])
    outs = []
    for qv in np.atleast_1d(qs):
        pos = qv * (n - 1)
        lo, hi = int(math.floor(pos)), int(math.ceil(pos))
        frac = pos - lo
        if method == "lower" or (method == "nearest" and (frac < 0.5 or (frac == 0.5 and lo % 2 == 0))):
            hi, frac = lo, 0.0
        elif method in ("higher", "nearest"):
            lo, frac = hi, 0.0
        elif method == "midpoint":
            frac = 0.5 if hi != lo else 0.0
        a = _slice(s, s.ndim - 1, lo, lo + 1)
        if hi != lo and frac:
            b = _slice(s, s.ndim - 1, hi, hi + 1)
            a = emit("Add", [a, emit("Mul", [emit("Sub", [b, a]), t.const(np.asarray(frac, x.dtype))])])
        outs.append(a)
    return stack_quantiles(outs, q, axes, keepdims)


def stack_quantiles(outs, q, axes, keepdims):
    """Per-quantile results (reduced axis kept last, size 1) -> Keras's layout: the reduced axes
    restored with ``keepdims``, a 1-D ``q`` on a new leading axis."""
    vals = []
    for v in outs:
        v = squeeze.traced(v, -1)
        if keepdims:
            for ax in sorted(axes):
                v = expand_dims.traced(v, ax)
        vals.append(v)
    if np.ndim(q) == 0:
        return vals[0]
    return concatenate.traced([expand_dims.traced(o, 0) for o in vals], axis=0)


@keras_op("x")
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """numpy's quantile (methods linear, lower, higher, midpoint, nearest) for static ``q``; a 1-D q puts
    the quantiles on a new leading axis."""
    return _quantile(x, q, axis, method, keepdims, 1.0, "quantile")


@keras_op("x")
def percentile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(x, q, axis, method, keepdims, 100.0, "percentile")


# --- NaN-skipping ---------------------------------------------------------------------------------------
def _fill_nan(x, v):
    x = _float(x)
    return emit("Where", [isnan.traced(x), _like(x, v), x])


@keras_op("x")
def nanargmax(x, axis=None, keepdims=False): return _arg("ArgMax", _fill_nan(x, -np.inf), axis, keepdims)
@keras_op("x")
def nanargmin(x, axis=None, keepdims=False): return _arg("ArgMin", _fill_nan(x, np.inf), axis, keepdims)


@keras_op("x")
def nancumsum(x, axis=None, dtype=None):
    y = _scan(_fill_nan(x, 0.0), axis, "Add", 0.0, "nancumsum")
    return y if dtype is None else cast.traced(y, dtype)


@keras_op("x")
def nancumprod(x, axis=None, dtype=None):
    y = _scan(_fill_nan(x, 1.0), axis, "Mul", 1.0, "nancumprod")
    return y if dtype is None else cast.traced(y, dtype)


# --- searching ------------------------------------------------------------------------------------------
def _count(pred, seq, values):
    """For each value, how many entries of the 1-D ``seq`` satisfy pred(entry, value) (int32)."""
    v = expand_dims.traced(values, -1)
    hit = emit(pred, [seq, v])
    return cast.traced(_reduce("ReduceSum", cast.traced(hit, values.dtype), [-1], False), "int32")


@keras_op("sorted_sequence", "values")
def searchsorted(sorted_sequence, values, side="left"):
    """Insertion indices into a sorted 1-D sequence (int32): #entries < v ('left') or <= v ('right')."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', received {side!r}")
    from .math_ext import _pair
    s, v = _pair(sorted_sequence, values)
    if s.ndim != 1:
        raise ValueError(f"searchsorted: sorted_sequence must be 1-D, received shape {s.shape}")
    return _count("Less" if side == "left" else "LessOrEqual", s, v)


@keras_op("x", "bins")
def digitize(x, bins):
    """numpy's digitize for increasing bins: the number of bins <= x (int32)."""
    from .math_ext import _pair
    x, b = _pair(x, bins)
    return _count("LessOrEqual", b, x)


@keras_op("x1", "x2")
def isin(x1, x2, assume_unique=False, invert=False):
    from .math_ext import _pair
    a, b = _pair(x1, x2)
    hit = emit("Equal", [expand_dims.traced(a, -1), ravel.traced(b)])
    found = cast.traced(_reduce("ReduceMax", cast.traced(hit, a.dtype), [-1], False), "bool")
    return emit("Not", [found]) if invert else found


# --- segments and scatters (one-hot) ----------------------------------------------------------------
def _segment(data, segment_ids, num_segments, what):
    if num_segments is None:
        raise ValueError(f"keras.ops.{what}: graphc needs num_segments (the output's length is static)")
    data = _float(data)
    ids = cast.traced(segment_ids, data.dtype) if segment_ids.dtype != data.dtype else segment_ids
    hit = emit("Equal", [expand_dims.traced(ids, -1), _tracer([data]).const(np.arange(int(num_segments),
                                                                                          dtype=data.dtype))])
    shape = [hit.ndim + i for i in range(data.ndim - 1)]
    hit = expand_dims.traced(hit, shape) if shape else hit           # (n, S, 1...)
    return hit, expand_dims.traced(data, 1)                            # (n, 1, ...)


@keras_op("data", "segment_ids")
def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """out[s] = sum of data[i] with segment_ids[i] == s, for s < num_segments."""
    hit, d = _segment(data, segment_ids, num_segments, "segment_sum")
    return _reduce("ReduceSum", emit("Where", [hit, d, _like(d, 0.0)]), [0], False)


@keras_op("data", "segment_ids")
def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """out[s] = max of data[i] with segment_ids[i] == s (-inf for an empty segment, as JAX)."""
    hit, d = _segment(data, segment_ids, num_segments, "segment_max")
    return _reduce("ReduceMax", emit("Where", [hit, d, _like(d, -np.inf)]), [0], False)


@keras_op("data", "segment_ids")
def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """out[s] = min of data[i] with segment_ids[i] == s (+inf for an empty segment, as JAX)."""
    hit, d = _segment(data, segment_ids, num_segments, "segment_min")
    return _reduce("ReduceMin", emit("Where", [hit, d, _like(d, np.inf)]), [0], False)


@keras_op("data", "segment_ids")
def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """out[s] = product of data[i] with segment_ids[i] == s (1 for an empty segment)."""
    hit, d = _segment(data, segment_ids, num_segments, "segment_prod")
    return _reduce("ReduceProd", emit("Where", [hit, d, _like(d, 1.0)]), [0], False)


def _flat_hits(indices, shape, dtype):
    """(k, prod(shape)) bool: which flat position each full index row names."""
    idx = _tensor(indices)
    if idx.ir_shape[-1] != len(shape):
        raise NotImplementedError(f"scatter: indices of shape {idx.shape} must index every axis of shape {shape} "
                                  "(slice updates are not supported by graphc)")
    strides = np.asarray([int(np.prod(shape[i + 1:])) for i in range(len(shape))], dtype=dtype)
    t = _tracer([idx])
    flat = _reduce("ReduceSum", emit("Mul", [cast.traced(idx, dtype), t.const(strides)]), [-1], False)
    return emit("Equal", [expand_dims.traced(reshape.traced(flat, (-1,)), -1),
                          t.const(np.arange(int(np.prod(shape)), dtype=dtype))])


@keras_op("indices", "values")
def scatter(indices, values, shape):
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (duplicates add up, as Keras)."""
    shape = tuple(int(d) for d in shape)
    v = reshape.traced(_float(_tensor(values)), (-1,))
    hit = _flat_hits(indices, shape, v.dtype)
    out = _reduce("ReduceSum", emit("Where", [hit, expand_dims.traced(v, -1), _like(v, 0.0)]), [0], False)
    return reshape.traced(out, shape)


@keras_op("inputs", "indices", "updates")
def scatter_update(inputs, indices, updates, reduction=None):
    """``inputs`` with ``updates`` written at ``indices`` (reduction None: set; 'add': add)."""
    x = _float(_tensor(inputs))
    shape = tuple(_static_len(x, a, "scatter_update") for a in range(x.ndim))
    u = reshape.traced(cast.traced(updates, x.dtype) if updates.dtype != x.dtype else updates, (-1,))
    hit = _flat_hits(indices, shape, x.dtype)
    placed = reshape.traced(_reduce("ReduceSum", emit("Where", [hit, expand_dims.traced(u, -1), _like(x, 0.0)]),
                                    [0], False), shape)
    if reduction == "add":
        return emit("Add", [x, placed])
    if reduction is not None:
        raise NotImplementedError(f"scatter_update(reduction={reduction!r}) is not supported by graphc; use None "
                                  "or 'add'")
    touched = reshape.traced(cast.traced(_reduce("ReduceMax", cast.traced(hit, x.dtype), [0], False), "bool"), shape)
    return emit("Where", [touched, placed, x])


# --- vectors and matrices -----------------------------------------------------------------------------
@keras_op("x1", "x2")
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or the z component for 2-vectors) along the vector axes."""
    from .math_ext import _pair
    a, b = _pair(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, _ = _last(a, axisa)
    b, _ = _last(b, axisb)
    na, nb = _static_len(a, -1, "cross"), _static_len(b, -1, "cross")
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: vectors must have 2 or 3 components, received {na} and {nb}")

    def comp(v, i, n):
        return squeeze.traced(_slice(v, v.ndim - 1, i, i + 1), -1) if i < n else None

    a0, a1, a2 = (comp(a, i, na) for i in range(3))
    b0, b1, b2 = (comp(b, i, nb) for i in range(3))

    def mul(p, q):
        return None if p is None or q is None else emit("Mul", [p, q])

    def sub(p, q):
        if p is None and q is None:
            return None
        return emit("Neg", [q]) if p is None else p if q is None else emit("Sub", [p, q])

    z = sub(mul(a0, b1), mul(a1, b0))
    if na == 2 and nb == 2:
        return z
    cs = [sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2)), z]
    y = concatenate.traced([expand_dims.traced(c, -1) for c in cs], axis=-1)
    r = y.ndim
    ac = axisc % r
    return y if ac == r - 1 else transpose.traced(y, list(range(ac)) + [r - 1] + list(range(ac, r - 1)))


@keras_op("y", "x")
def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = _float(_tensor(y))
    axis = axis % y.ndim
    n = _static_len(y, axis, "trapezoid")
    mid = emit("Mul", [emit("Add", [_slice(y, axis, 1, n), _slice(y, axis, 0, n - 1)]), _like(y, 0.5)])
    if x is None:
        return emit("Mul", [_reduce("ReduceSum", mid, [axis], False), _like(y, dx)])
    x = _tensor(x)
    x = cast.traced(x, y.dtype) if x.dtype != y.dtype else x
    xa = axis if x.ndim == y.ndim else 0
    d = emit("Sub", [_slice(x, xa, 1, n), _slice(x, xa, 0, n - 1)])
    if x.ndim == 1 and y.ndim > 1:
        d = reshape.traced(d, [-1 if i == axis else 1 for i in range(y.ndim)])
    return _reduce("ReduceSum", emit("Mul", [mid, d]), [axis], False)


@keras_op("x")
def vander(x, N=None, increasing=False):  # noqa: N803  (Keras's name)
    x = _float(_tensor(x))
    n = _static_len(x, 0, "vander") if N is None else int(N)
    powers = np.arange(n, dtype=x.dtype) if increasing else np.arange(n - 1, -1, -1).astype(x.dtype)
    cols = [emit("Pow", [x, _like(x, p)]) if p else emit("ExpandAs", [_like(x, 1.0), x], domain="graphc")
            for p in powers]
    return concatenate.traced([expand_dims.traced(c, -1) for c in cols], axis=1) if n else \
        reshape.traced(emit("Mul", [expand_dims.traced(x, -1), _like(x, 0.0)]), (-1, 0))


@keras_op("x")
def diagflat(x, k=0):
    return diag.traced(ravel.traced(_tensor(x)), k)


@keras_op("x", "y")
def cdist(x, y):
    """Euclidean distances between the rows of x (..., m, d) and y (..., n, d): (..., m, n)."""
    from .math_ext import _pair
    a, b = _pair(x, y)
    d = emit("Sub", [expand_dims.traced(a, -2), expand_dims.traced(b, -3)])
    return emit("Sqrt", [_reduce("ReduceSum", emit("Mul", [d, d]), [-1], False)])


@keras_op("x")
def corrcoef(x):
    """Pearson correlation of the rows of a 2-D x (numpy's corrcoef, rowvar=True)."""
    x = _float(_tensor(x))
    if x.ndim == 1:
        x = expand_dims.traced(x, 0)
    c = emit("Sub", [x, mean.traced(x, 1, True)])
    cov = emit("MatMul", [c, transpose.traced(c, [1, 0])])
    sd = emit("Sqrt", [_reduce("ReduceSum", emit("Mul", [c, c]), [1], False)])
    out = emit("Div", [cov, emit("Mul", [expand_dims.traced(sd, 1), expand_dims.traced(sd, 0)])])
    return emit("Clip", [out, _like(out, -1.0), _like(out, 1.0)])


# --- space/depth, convolutions, attention -------------------------------------------------------------------
def _nhwc(x, data_format):
    from .nn import to_channels_first, to_channels_last
    if data_format == "channels_first":
        return to_channels_last(x), to_channels_first
    if data_format != "channels_last":
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', received {data_format!r}")
    return x, None


@keras_op("x")
def space_to_depth(x, block_size, data_format="channels_last"):
    """(N, H, W, C) -> (N, H/b, W/b, b*b*C), channel index (by*b + bx)*C + c (TensorFlow's DCR order)."""
    x, back = _nhwc(_tensor(x), data_format)
    b = int(block_size)
    _, h, w, c = (_static_len(x, a, "space_to_depth") if a else 0 for a in range(4))
    if h % b or w % b:
        raise ShapeError(f"space_to_depth: height {h} and width {w} must be multiples of block_size {b}")
    y = reshape.traced(x, (0, h // b, b, w // b, b, c))
    y = reshape.traced(transpose.traced(y, [0, 1, 3, 2, 4, 5]), (0, h // b, w // b, b * b * c))
    return back(y) if back else y


@keras_op("x")
def depth_to_space(x, block_size, data_format="channels_last"):
    """(N, H, W, b*b*C) -> (N, H*b, W*b, C), the inverse of space_to_depth."""
    x, back = _nhwc(_tensor(x), data_format)
    b = int(block_size)
    _, h, w, c = (_static_len(x, a, "depth_to_space") if a else 0 for a in range(4))
    if c % (b * b):
        raise ShapeError(f"depth_to_space: channels {c} must be a multiple of block_size^2 = {b * b}")
    y = reshape.traced(x, (0, h, w, b, b, c // (b * b)))
    y = reshape.traced(transpose.traced(y, [0, 1, 3, 2, 4, 5]), (0, h * b, w * b, c // (b * b)))
    return back(y) if back else y


@keras_op("inputs", "kernel")
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution with a Keras kernel (*kernel_size, in_channels, depth_multiplier): a grouped
    Conv whose output channel c*m + j is input channel c's j-th filter."""
    from .nn import conv
    k = _tensor(kernel)
    r = k.ndim - 2
    kshape = list(k.ir_shape)
    kk = reshape.traced(k, kshape[:r] + [1, kshape[r] * kshape[r + 1]])
    return conv.traced(inputs, kk, strides, padding, data_format, dilation_rate)


@keras_op("inputs", "depthwise_kernel", "pointwise_kernel")
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    from .nn import conv
    y = depthwise_conv.traced(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv.traced(y, pointwise_kernel, 1, "valid", data_format, 1)


@keras_op("query", "key", "value", "bias", "mask")
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """softmax(Q K^T * scale + bias, masked) V for (batch, time, heads, depth) tensors (jax.nn's rule, which
    Keras on JAX runs on CPU: scale defaults to 1/sqrt(depth), masked logits become -0.7 * dtype max;
    key/value heads are repeated for grouped-query attention)."""
    from .array_ext import _einsum, repeat
    if flash_attention:
        raise NotImplementedError("dot_product_attention(flash_attention=True) needs a GPU/TPU kernel; graphc "
                                  "computes attention directly (flash_attention=None or False)")
    q, k, v = (_float(_tensor(t)) for t in (query, key, value))
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"`dot_product_attention` only supports 4D inputs. Received: query.shape={q.shape}, "
                         f"key.shape={k.shape}, value.shape={v.shape}.")
    n, kh = q.ir_shape[2], k.ir_shape[2]
    if n != kh:
        if n % kh:
            raise ValueError(f"dot_product_attention: {n} query heads are not a multiple of {kh} key heads")
        k, v = repeat.traced(k, n // kh, axis=2), repeat.traced(v, n // kh, axis=2)
    depth = _static_len(q, 3, "dot_product_attention")
    s = 1.0 / math.sqrt(depth) if scale is None else float(scale)
    logits = emit("Mul", [_einsum.traced([q, k], "BTNH,BSNH->BNTS"), _like(q, s)])
    if bias is not None:
        logits = emit("Add", [logits, _tensor(bias)])
    keep = None
    if mask is not None:
        m = _tensor(mask)
        keep = m if m.dtype == "bool" else cast.traced(m, "bool")
    if is_causal:
        t, sl = _static_len(q, 1, "dot_product_attention"), _static_len(k, 1, "dot_product_attention")
        causal = _tracer([q]).const(np.tril(np.ones((t, sl), bool)))
        keep = causal if keep is None else emit("And", [keep, causal])
    if keep is not None:
        logits = emit("Where", [keep, logits, _like(logits, -0.7 * float(np.finfo(q.dtype).max))])
    probs = emit("Softmax", [logits], axis=-1)
    return _einsum.traced([probs, v], "BNTS,BSNH->BTNH")


@keras_op("x1", "x2")
def psnr(x1, x2, max_val):
    """20 log10(max_val) - 10 log10(mean((x1 - x2)^2)) over all elements."""
    from .math_ext import _pair
    a, b = _pair(x1, x2)
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"Input shapes {a.shape} and {b.shape} must match for PSNR calculation. ")
    d = emit("Sub", [a, b])
    mse = _reduce("ReduceMean", emit("Mul", [d, d]), None, False)
    return emit("Sub", [_like(a, 20 * math.log10(max_val)), emit("Mul", [emit("Log", [mse]),
                                                                            _like(a, 10 / math.log(10))])])


# --- windows, complex views, casts ----------------------------------------------------------------------------
def _window(fn, x, *args):
    return _out(np.asarray(fn(int(x), *args), dtype="float32"))


def hamming(x): return _window(np.hamming, x)
def hanning(x): return _window(np.hanning, x)
def blackman(x): return _window(np.blackman, x)
def bartlett(x): return _window(np.bartlett, x)
def kaiser(x, beta): return _window(np.kaiser, x, float(beta))


def array(x, dtype=None):
    from .core import convert_to_tensor
    return convert_to_tensor(x, dtype=dtype)


@keras_op("x")
def angle(x):
    """The argument of a real number: pi where x < 0 (or -0.0), else 0."""
    from .math_ext import signbit
    x = _float(x)
    return emit("Where", [signbit.traced(x), _like(x, math.pi), _like(x, 0.0)])


@keras_op("x")
def imag(x):
    from .array_ext import zeros_like
    return zeros_like.traced(_float(x))


@keras_op("x")
def isreal(x):
    from .array_ext import ones_like
    return cast.traced(ones_like.traced(_float(x)), "bool")


@keras_op("x")
def saturate_cast(x, dtype):
    """Cast with values clipped to the target dtype's range first (no integer wrap-around)."""
    from ...ir import dtype_name
    name = dtype_name(dtype)
    info = np.iinfo(name) if np.dtype(name).kind in "iu" else np.finfo(name) if np.dtype(name).kind == "f" else None
    x = _tensor(x)
    if info is not None and x.dtype.startswith("float"):
        lo = builtins.max(float(info.min), float(np.finfo(x.dtype).min))
        hi = builtins.min(float(info.max), float(np.finfo(x.dtype).max))
        if np.dtype(name).kind in "iu":  # the largest float below the integer bound (float32 rounds 2**31-1 up)
            hi = float(np.nextafter(np.asarray(hi, x.dtype), np.asarray(0, x.dtype))) if \
                float(np.asarray(hi, x.dtype)) > info.max else hi
        x = emit("Clip", [x, _like(x, lo), _like(x, hi)])
    return cast.traced(x, name)
