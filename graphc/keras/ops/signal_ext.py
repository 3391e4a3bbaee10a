"""Sliding-window, order-statistic and rearranging functions of ``keras.ops``: extract_sequences,
correlate, unfold (im2col), adaptive average/max pooling (PyTorch's bins, which Keras 3 uses),
argpartition, the NaN-skipping median/quantiles and einops-style rearrange. Windows are Slices (static strides) concatenated along a new axis;
everything differentiates through Slice/Concat/Reduce ops."""
from __future__ import annotations

import numpy as np

from .array_ext import _slice, _tensor
from .core import _reduce, _tracer, cast, concatenate, emit, expand_dims, reshape, transpose
from .dispatch import keras_op
from .math_ext import _float, _like, _static_len, isnan
from .reduce_ext import _sorted

__all__ = ["extract_sequences", "correlate", "unfold", "adaptive_average_pool", "adaptive_max_pool", "argpartition",
           "nanmedian", "nanquantile", "nanpercentile"]


def _strided(x, axis, start, count, step):
    """``count`` entries of ``x`` along ``axis`` from ``start`` every ``step``."""
    t = _tracer([x])
    i64 = lambda v: t.const(np.asarray([v], np.int64))  # noqa: E731
    return emit("Slice", [x, i64(start), i64(start + (count - 1) * step + 1), i64(axis), i64(step)])


@keras_op("x")
def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of the last axis: (..., n) -> (..., num_frames, sequence_length), num_frames =
    1 + (n - sequence_length) // sequence_stride."""
    x = _float(x)
    n = _static_len(x, x.ndim - 1, "extract_sequences")
    length, stride = int(sequence_length), int(sequence_stride)
    if length > n:
        raise ValueError(f"extract_sequences: sequence_length {length} exceeds the axis length {n}")
    frames = 1 + (n - length) // stride
    cols = [expand_dims.traced(_strided(x, x.ndim - 1, j, frames, stride), -1) for j in range(length)]
    return concatenate.traced(cols, axis=-1)


@keras_op("x1", "x2")
def correlate(x1, x2, mode="valid"):
    """numpy's 1-D cross-correlation: out[k] = sum_n x1[n + k] * x2[n] (modes valid, same, full)."""
    from .math_ext import _pair
    a, v = _pair(x1, x2)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"correlate: inputs must be 1-D, received {a.shape} and {v.shape}")
    n, m = _static_len(a, 0, "correlate"), _static_len(v, 0, "correlate")
    if n < m:  # numpy swaps the operands and reverses the result
        from .array_ext import flip
        return flip.traced(correlate.traced(v, a, mode), 0)
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full', received {mode!r}")
    left = {"valid": 0, "same": m // 2, "full": m - 1}[mode]
    right = {"valid": 0, "same": m - 1 - m // 2, "full": m - 1}[mode]
    t = _tracer([a])
    if left or right:
        a = emit("Pad", [a, t.const(np.asarray([left, right], np.int64)), _like(a, 0.0)], mode="constant")
    frames = extract_sequences.traced(a, m, 1)  # (k, m)
    return _reduce("ReduceSum", emit("Mul", [frames, v]), [1], False)


def _pair_int(v, what):
    t = tuple(v) if isinstance(v, (list, tuple)) else (v, v)
    if len(t) != 2:
        raise ValueError(f"unfold: {what} must be an int or two ints, received {v!r}")
    return tuple(int(a) for a in t)


@keras_op("x")
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """PyTorch's unfold (im2col) of a channels-first (N, C, H, W) tensor: (N, C*kh*kw, L), channel-major
    then kernel row, kernel column; L patches in row-major order."""
    x = _float(x)
    if x.ndim != 4:
        raise ValueError(f"Input must be a 4D tensor. Received: input.shape={x.shape}")
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (_pair_int(v, w) for v, w in
                                               ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                                (padding, "padding"), (stride, "stride")))
    c, h, w = (_static_len(x, a, "unfold") for a in (1, 2, 3))
    if ph or pw:
        t = _tracer([x])
        x = emit("Pad", [x, t.const(np.asarray([0, 0, ph, pw, 0, 0, ph, pw], np.int64)), _like(x, 0.0)],
                 mode="constant")
    oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"unfold: the kernel does not fit the input of shape {(h, w)} (padding {(ph, pw)})")
    cols = []
    for i in range(kh):
        for j in range(kw):
            patch = _strided(_strided(x, 2, i * dh, oh, sh), 3, j * dw, ow, sw)       # (N, C, oh, ow)
            cols.append(reshape.traced(patch, (0, c, 1, oh * ow)))
    return reshape.traced(concatenate.traced(cols, axis=2), (0, c * kh * kw, oh * ow))


def _adaptive(inputs, output_size, data_format, op_type, what):
    from .nn import _channels_first, to_channels_first, to_channels_last
    x = _float(inputs)
    r = x.ndim - 2
    if r not in (1, 2, 3):
        raise ValueError(f"{what} supports only 1D/2D/3D inputs")
    sizes = (output_size,) * r if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != r:
        raise ValueError(f"{what}: output_size {output_size!r} must have {r} values")
    cf = _channels_first(data_format)
    y = x if cf else to_channels_first(x)
    for k, out in enumerate(sizes):
        axis = 2 + k
        n = _static_len(y, axis, what)
        parts = []
        for i in range(int(out)):
            start, end = (i * n) // out, -((-(i + 1) * n) // out)
            parts.append(_reduce(op_type, _slice(y, axis, start, end), [axis], True))
        y = concatenate.traced(parts, axis=axis) if len(parts) > 1 else parts[0]
    return y if cf else to_channels_last(y)


@keras_op("inputs")
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average over PyTorch's adaptive bins: window i spans [floor(i n / out), ceil((i + 1) n / out))."""
    return _adaptive(inputs, output_size, data_format, "ReduceMean", "adaptive_average_pool")


@keras_op("inputs")
def adaptive_max_pool(inputs, output_size, data_format=None):
    return _adaptive(inputs, output_size, data_format, "ReduceMax", "adaptive_max_pool")


@keras_op("x")
def argpartition(x, kth, axis=-1):
    """Indices that partition x around its kth element (int32). graphc returns the stable argsort, which
    is a valid partition for every kth (numpy's order within the parts is unspecified)."""
    from .reduce_ext import argsort
    from .core import ravel
    x = _float(x)
    if axis is None:
        x, axis = ravel.traced(x), 0
    n = _static_len(x, axis % x.ndim, "argpartition")
    for k in np.atleast_1d(kth):
        if not -n <= int(k) < n:
            raise ValueError(f"argpartition: kth={int(k)} is out of bounds for an axis of length {n}")
    return argsort.traced(x, axis)


def _nan_quantile(x, q, axis, method, keepdims, scale, what):
    """Quantiles of the non-NaN entries: NaNs sort last (as +inf), the per-row count of the others sets
    the (run-time) positions, and one-hot Equal against arange picks the order statistics."""
    from .misc_ext import quantile_qs, quantile_rows
    qs = quantile_qs(q, scale, what)
    if method != "linear":
        raise NotImplementedError(f"keras.ops.{what}(method={method!r}): graphc supports method='linear' here")
    axes, y, n = quantile_rows(x, axis, what)
    nan = isnan.traced(y)
    s = _sorted(emit("Where", [nan, _like(y, np.inf), y]), -1, False)
    count = _reduce("ReduceSum", cast.traced(emit("Not", [nan]), y.dtype), [-1], True)
    t = _tracer([s])
    ar = t.const(np.arange(n, dtype=y.dtype))
    outs = []
    for qv in np.atleast_1d(qs):
        pos = emit("Mul", [emit("Sub", [count, _like(y, 1.0)]), _like(y, qv)])
        lo = emit("Floor", [pos])
        frac = emit("Sub", [pos, lo])
        hi = emit("Min", [emit("Add", [lo, _like(y, 1.0)]), emit("Max", [emit("Sub", [count, _like(y, 1.0)]),
                                                                           _like(y, 0.0)])])

        def pick(i):
            return _reduce("ReduceSum", emit("Where", [emit("Equal", [ar, i]), s, _like(y, 0.0)]), [-1], True)
        a, b = pick(lo), pick(hi)
        v = emit("Add", [a, emit("Mul", [emit("Sub", [b, a]), frac])])
        outs.append(emit("Where", [emit("Equal", [count, _like(y, 0.0)]), _like(y, np.nan), v]))
    from .misc_ext import stack_quantiles
    return stack_quantiles(outs, q, axes, keepdims)


@keras_op("x")
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    return _nan_quantile(x, q, axis, method, keepdims, 1.0, "nanquantile")


@keras_op("x")
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return _nan_quantile(x, q, axis, method, keepdims, 100.0, "nanpercentile")


@keras_op("x")
def nanmedian(x, axis=None, keepdims=False):
    return _nan_quantile(x, 0.5, axis, "linear", keepdims, 1.0, "nanmedian")



# --- einops-style rearrange -------------------------------------------------------------------------------
def _groups(side):
    import re
    out = []
    for tok in re.findall(r"\(.*?\)|\S+", side.strip()):
        out.append(tok[1:-1].split() if tok.startswith("(") else [tok])
    return out


@keras_op("tensor")
def _rearrange(tensor, pattern, axes_lengths=None):
    x = _tensor(tensor)
    lengths = dict(axes_lengths or {})
    if "->" not in pattern:
        raise ValueError(f"rearrange: pattern {pattern!r} needs '->'")
    left, right = (_groups(p) for p in pattern.split("->"))
    if len(left) != x.ndim:
        raise ValueError(f"rearrange: {pattern!r} names {len(left)} input axes, the tensor has {x.ndim}")
    sizes = {}
    for group, d in zip(left, x.ir_shape):
        unknown = [a for a in group if a not in lengths]
        if len(group) == 1 and not unknown:
            if not isinstance(d, str) and d != lengths[group[0]]:
                raise ValueError(f"rearrange: axis {group[0]} has length {d}, not {lengths[group[0]]}")
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the lengths of {unknown} in {pattern!r}; pass them")
        known = int(np.prod([lengths[a] for a in group if a in lengths]))
        for a in group:
            sizes[a] = lengths[a] if a in lengths else (d if isinstance(d, str) else d // known)
    flat_left = [a for g in left for a in g]
    flat_right = [a for g in right for a in g]
    if sorted(flat_left) != sorted(flat_right):
        raise ValueError(f"rearrange: {pattern!r} must use the same axes on both sides")
    dyn = [a for a in flat_left if isinstance(sizes[a], str)]
    if len(dyn) > 1 or (dyn and (flat_left.index(dyn[0]) != 0 or flat_right.index(dyn[0]) != 0 or
                                 len(left[0]) != 1 or len(right[0]) != 1)):
        raise ValueError(f"rearrange: an axis of unknown length ({dyn}) must stay the first axis on its own")
    dim = lambda a: 0 if isinstance(sizes[a], str) else sizes[a]  # noqa: E731  (0: copy the batch)
    y = x
    if any(len(g) > 1 for g in left):
        y = reshape.traced(y, [dim(a) for a in flat_left])
    perm = [flat_left.index(a) for a in flat_right]
    if perm != list(range(len(perm))):
        y = transpose.traced(y, perm)
    if any(len(g) != 1 for g in right):
        y = reshape.traced(y, [0 if any(isinstance(sizes[a], str) for a in g) else int(np.prod([sizes[a] for a in g]))
                               for g in right])
    return y if y is not x else emit("Identity", [x])


def rearrange(tensor, pattern, **axes_lengths):
    """einops-style axis rearrangement ('b (h w) c -> b h w c', h=2): reshape, transpose, reshape."""
    return _rearrange(tensor, pattern=pattern, axes_lengths=axes_lengths)


_rearrange.traced.__name__ = _rearrange.traced.__qualname__ = "rearrange"
rearrange.traced = _rearrange.traced
__all__ += ["rearrange"]
