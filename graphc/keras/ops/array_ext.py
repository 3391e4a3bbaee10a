"""Creation, indexing, splitting, tiling and tensor-contraction functions of ``keras.ops``.

Creation functions (ones, zeros, full, eye, arange, linspace, ...) return numpy arrays in eager mode
and consts inside a trace. Index-based functions (take, flip, roll, repeat, diagonal) are Gathers with
const indices; tile is Concats; take_along_axis compares indices with arange and sums (one-hot), so
everything differentiates through registry ops. einsum/tensordot/inner/outer/vdot broadcast the
operands into one index space, multiply, and ReduceSum the contracted letters (MatMul where it is a
plain 2-operand batched product). Axes these need to be known (flip/roll/take/tril lengths) must have a
static size when traced.
"""
from __future__ import annotations

import builtins

import numpy as np

from ...errors import ShapeError
from ..engine.trace import SymbolicValue, current
from .core import (_reduce, _tracer, cast, concatenate, emit, expand_dims, matmul, ravel, reshape, squeeze,
                   transpose)
from .dispatch import keras_op
from .math_ext import _float, _like, _static_len

__all__ = ["broadcast_to", "tile", "repeat", "flip", "fliplr", "flipud", "roll", "pad", "split", "array_split",
           "hsplit", "vsplit", "dsplit", "hstack", "vstack", "dstack", "unstack", "take", "take_along_axis", "tril",
           "triu", "tri", "diagonal", "diag", "trace", "eye", "identity", "ones", "zeros", "full", "empty",
           "ones_like", "zeros_like", "full_like", "empty_like", "arange", "linspace", "logspace", "geomspace",
           "copy", "shape", "size", "ndim", "convert_to_numpy", "stop_gradient", "get_item", "slice", "slice_update",
           "einsum", "tensordot", "outer", "inner", "vdot", "kron", "diff", "append", "rot90", "meshgrid",
           "is_tensor", "dtype"]


def _i64(x, values):
    return _tracer([x]).const(np.ascontiguousarray(values, dtype=np.int64))


def _gather(x, axis, index):
    return emit("Gather", [x, _i64(x, index)], axis=int(axis))


def _slice(x, axis, start, end, step=1):
    return emit("Slice", [x, _i64(x, [start]), _i64(x, [end]), _i64(x, [axis]), _i64(x, [step])])


def _tensor(x):
    from .core import convert_to_tensor
    return x if isinstance(x, SymbolicValue) else convert_to_tensor(x)


# --- creation ---------------------------------------------------------------------------------------
def _out(array):
    """A new array: numpy in eager mode, a const in a trace."""
    t = current()
    return t.const(array, dtype=array.dtype) if t is not None else array


def _dtype(dtype, default=None):
    from .. import config
    from ...ir import dtype_name
    return dtype_name(dtype) if dtype is not None else (default or config.floatx())


def _shape_tuple(shape):
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)


def ones(shape, dtype=None): return _out(np.ones(_shape_tuple(shape), _dtype(dtype)))
def zeros(shape, dtype=None): return _out(np.zeros(_shape_tuple(shape), _dtype(dtype)))
def empty(shape, dtype=None): return _out(np.zeros(_shape_tuple(shape), _dtype(dtype)))


def _infer_dtype(*values):
    return "float32" if builtins.any(isinstance(v, float) or np.asarray(v).dtype.kind == "f" for v in values
                                     if v is not None) else "int32"


def full(shape, fill_value, dtype=None):
    return _out(np.full(_shape_tuple(shape), fill_value, _dtype(dtype, _infer_dtype(fill_value))))


def eye(N, M=None, k=0, dtype=None):
    return _out(np.eye(int(N), None if M is None else int(M), int(k), dtype=_dtype(dtype)))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    return _out(np.tri(int(N), None if M is None else int(M), int(k), dtype=_dtype(dtype)))


def arange(start, stop=None, step=None, dtype=None):
    return _out(np.arange(start, stop, 1 if step is None else step, dtype=_dtype(dtype, _infer_dtype(start, stop,
                                                                                                       step))))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    y, st = np.linspace(start, stop, int(num), endpoint=endpoint, retstep=True, dtype=_dtype(dtype), axis=axis)
    return (_out(y), st) if retstep else _out(y)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    return _out(np.logspace(start, stop, int(num), endpoint=endpoint, base=base, dtype=_dtype(dtype), axis=axis))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    return _out(np.geomspace(start, stop, int(num), endpoint=endpoint, dtype=_dtype(dtype), axis=axis))


@keras_op("x")
def full_like(x, fill_value, dtype=None):
    """``fill_value`` in x's shape (also a symbolic batch: graphc.ExpandAs reads only x's shape)."""
    dt = _dtype(dtype, x.dtype)
    like = x if x.dtype in ("float32", "float64") else cast.traced(x, "float32")  # ExpandAs has float kernels
    if dt in ("float32", "float64"):
        return emit("ExpandAs", [_tracer([x]).const(np.asarray(fill_value, dtype=dt)), like], domain="graphc")
    filled = emit("ExpandAs", [_tracer([x]).const(np.asarray(fill_value, dtype=np.float64)), like], domain="graphc")
    return cast.traced(filled, dt)  # fill in float64, then cast


@keras_op("x")
def ones_like(x, dtype=None): return full_like.traced(x, 1, dtype)
@keras_op("x")
def zeros_like(x, dtype=None): return full_like.traced(x, 0, dtype)
@keras_op("x")
def empty_like(x, dtype=None): return full_like.traced(x, 0, dtype)
@keras_op("x")
def copy(x): return emit("Identity", [x])


@keras_op("variable")
def stop_gradient(variable):
    """The value, with no gradient flowing back through it (graphc.StopGradient)."""
    return emit("StopGradient", [variable], domain="graphc")


def shape(x):
    """The shape as a tuple (None for a dimension unknown while tracing)."""
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def ndim(x):
    return len(shape(x))


def size(x):
    s = shape(x)
    return None if builtins.any(d is None for d in s) else int(np.prod(s, dtype=np.int64))


def is_tensor(x):
    return isinstance(x, (np.ndarray, SymbolicValue)) or type(x).__name__ == "KerasTensor"


def dtype(x):
    from ...ir import dtype_name
    return dtype_name(x.dtype) if hasattr(x, "dtype") else np.asarray(x).dtype.name


def convert_to_numpy(x):
    """A numpy array of x's value; a symbolic tensor has none while tracing."""
    from ..engine.keras_tensor import KerasTensor
    from ..engine.variable import Variable
    if isinstance(x, (SymbolicValue, KerasTensor)):
        raise ValueError(f"keras.ops.convert_to_numpy: {x!r} is symbolic and has no value while a model is being "
                         "built or traced; call it on arrays (or on the outputs of model.predict)")
    return np.asarray(x.value if isinstance(x, Variable) else x)


# --- broadcasting, tiling, flipping --------------------------------------------------------------------
@keras_op("x")
def broadcast_to(x, shape):  # noqa: F811  (Keras's name)
    x = _tensor(x)
    return emit("Expand", [x, _i64(x, _shape_tuple(shape))])


@keras_op("x")
def tile(x, repeats):
    """numpy's tile: x repeated ``repeats[i]`` times along axis i (leading axes added as needed)."""
    reps = _shape_tuple(repeats)
    x = _tensor(x)
    if len(reps) > x.ndim:
        x = reshape.traced(x, (1,) * (len(reps) - x.ndim) + tuple(
            -1 if isinstance(d, str) else d for d in x.ir_shape)) if x.ndim else reshape.traced(x, (1,) * len(reps))
    reps = (1,) * (x.ndim - len(reps)) + reps
    for a, r in enumerate(reps):
        if r != 1:
            x = concatenate.traced([x] * r, axis=a) if r > 0 else _slice(x, a, 0, 0)
    return x


@keras_op("x")
def repeat(x, repeats, axis=None):
    x = _tensor(x)
    if axis is None:
        x, axis = ravel.traced(x), 0
    axis = int(axis) % x.ndim
    n = _static_len(x, axis, "repeat")
    idx = np.repeat(np.arange(n), np.broadcast_to(np.asarray(repeats), (n,)) if np.ndim(repeats) == 0 else repeats)
    return _gather(x, axis, idx)


@keras_op("x")
def flip(x, axis=None):
    x = _tensor(x)
    axes = range(x.ndim) if axis is None else [int(a) % x.ndim for a in np.atleast_1d(axis)]
    for a in axes:
        x = _gather(x, a, np.arange(_static_len(x, a, "flip"))[::-1])
    return x


@keras_op("x")
def fliplr(x): return flip.traced(x, 1)
@keras_op("x")
def flipud(x): return flip.traced(x, 0)


@keras_op("x")
def roll(x, shift, axis=None):
    x = _tensor(x)
    if axis is None:
        return reshape.traced(roll.traced(ravel.traced(x), shift, 0), [d for d in x.shape])
    for s, a in zip(np.broadcast_to(np.atleast_1d(shift), np.shape(np.atleast_1d(axis))), np.atleast_1d(axis)):
        a = int(a) % x.ndim
        n = _static_len(x, a, "roll")
        x = _gather(x, a, (np.arange(n) - int(s)) % n)
    return x


@keras_op("x", "constant_values")
def pad(x, pad_width, mode="constant", constant_values=None):
    """numpy's pad with modes constant, edge and reflect (ONNX Pad)."""
    x = _tensor(x)
    if mode not in ("constant", "edge", "reflect"):
        raise NotImplementedError(f"keras.ops.pad(mode={mode!r}) is not supported by graphc; modes: 'constant', "
                                  "'edge', 'reflect'")
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.size(pad_width) > 1
                         else np.asarray(pad_width, np.int64).reshape(1, 1), (x.ndim, 2))
    pads = list(pw[:, 0]) + list(pw[:, 1])
    args = [x, _i64(x, pads)]
    if mode == "constant":
        if constant_values is not None and mode != "constant":
            raise ValueError("pad: constant_values is only used with mode='constant'")
        cv = constant_values if constant_values is not None else 0
        args.append(cv if isinstance(cv, SymbolicValue) else _like(x, cv))
    return emit("Pad", args, mode=mode)


# --- splitting and stacking --------------------------------------------------------------------------
def _bounds(n, indices_or_sections, even):
    if np.ndim(indices_or_sections) == 0:
        k = int(indices_or_sections)
        if even and n % k:
            raise ValueError(f"split: an axis of length {n} does not split into {k} equal sections (use array_split)")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        cuts = np.cumsum([0] + sizes)
        return list(zip(cuts[:-1], cuts[1:]))
    cuts = [0] + [builtins.min(builtins.max(int(i) if i >= 0 else n + int(i), 0), n) for i in indices_or_sections] + [n]
    return [(a, builtins.max(a, b)) for a, b in zip(cuts[:-1], cuts[1:])]


def _split(x, indices_or_sections, axis, even):
    x = _tensor(x)
    axis = int(axis) % x.ndim
    n = _static_len(x, axis, "split")
    return [_slice(x, axis, int(a), int(b)) for a, b in _bounds(n, indices_or_sections, even)]


@keras_op("x")
def split(x, indices_or_sections, axis=0): return _split(x, indices_or_sections, axis, True)
@keras_op("x")
def array_split(x, indices_or_sections, axis=0): return _split(x, indices_or_sections, axis, False)
@keras_op("x")
def hsplit(x, indices_or_sections): return _split(x, indices_or_sections, 1 if x.ndim > 1 else 0, True)
@keras_op("x")
def vsplit(x, indices_or_sections): return _split(x, indices_or_sections, 0, True)
@keras_op("x")
def dsplit(x, indices_or_sections): return _split(x, indices_or_sections, 2, True)


def _at_least(x, r):
    x = _tensor(x)
    if x.ndim >= r:
        return x
    if r == 2:
        return reshape.traced(x, (1, -1)) if x.ndim == 1 else reshape.traced(x, (1, 1))
    if x.ndim == 2:
        return expand_dims.traced(x, -1)
    return reshape.traced(x, (1, -1, 1)) if x.ndim == 1 else reshape.traced(x, (1, 1, 1))


@keras_op("xs")
def hstack(xs):
    xs = [_tensor(x) for x in xs]
    return concatenate.traced(xs, axis=1 if xs[0].ndim > 1 else 0)


@keras_op("xs")
def vstack(xs): return concatenate.traced([_at_least(x, 2) for x in xs], axis=0)
@keras_op("xs")
def dstack(xs): return concatenate.traced([_at_least(x, 3) for x in xs], axis=2)


@keras_op("x")
def unstack(x, num=None, axis=0):
    x = _tensor(x)
    axis = int(axis) % x.ndim
    n = _static_len(x, axis, "unstack")
    if num is not None and int(num) != n:
        raise ValueError(f"unstack: num={num} differs from the axis length {n}")
    return [squeeze.traced(_slice(x, axis, i, i + 1), axis) for i in range(n)]


@keras_op("x1", "x2")
def append(x1, x2, axis=None):
    x1, x2 = _tensor(x1), _tensor(x2)
    if axis is None:
        return concatenate.traced([ravel.traced(x1), ravel.traced(x2)], axis=0)
    return concatenate.traced([x1, x2], axis=int(axis))


@keras_op("a")
def diff(a, n=1, axis=-1):
    a = _tensor(a)
    axis = int(axis) % a.ndim
    for _ in range(int(n)):
        m = _static_len(a, axis, "diff")
        a = emit("Sub", [_slice(a, axis, 1, m), _slice(a, axis, 0, m - 1)])
    return a


@keras_op("array")
def rot90(array, k=1, axes=(0, 1)):
    x = _tensor(array)
    a0, a1 = (int(a) % x.ndim for a in axes)
    k = int(k) % 4
    perm = list(range(x.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose.traced(flip.traced(x, a1), perm)
    if k == 2:
        return flip.traced(flip.traced(x, a0), a1)
    if k == 3:
        return flip.traced(transpose.traced(x, perm), a1)
    return emit("Identity", [x])


def _varargs(name, inner):
    """A Keras function taking ``*tensors``: the keras_op ``inner`` takes them as one list (the eager and
    functional modes bind named parameters); ``name`` is the op name the functional node gets."""
    inner.traced.__name__ = inner.traced.__qualname__ = name
    return inner.traced


@keras_op("xs")
def _meshgrid(xs, indexing="xy"):
    xs = [ravel.traced(_tensor(v)) for v in xs]
    n = len(xs)
    lengths = [_static_len(v, 0, "meshgrid") for v in xs]
    order = list(range(n))
    if indexing == "xy" and n >= 2:
        order[0], order[1] = 1, 0  # output axis of each input
    shape = [lengths[order.index(j)] for j in range(n)]
    return [emit("Expand", [reshape.traced(v, [-1 if j == order[i] else 1 for j in range(n)]), _i64(v, shape)])
            for i, v in enumerate(xs)]


def meshgrid(*x, indexing="xy"):
    """Coordinate grids as numpy.meshgrid ('xy': the first two axes swapped; 'ij': matrix indexing)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', received {indexing!r}")
    return _meshgrid(list(x), indexing=indexing)


meshgrid.traced = _varargs("meshgrid", _meshgrid)


# --- indexing ---------------------------------------------------------------------------------------------
def _int_indices(indices):
    indices = _tensor(indices)
    return indices if indices.dtype in ("int64", "int32") else cast.traced(indices, "int64")


@keras_op("x", "indices")
def take(x, indices, axis=None):
    """Elements of x at ``indices`` along ``axis`` (the flattened x when None); negative indices count
    from the end (ONNX Gather)."""
    x = _tensor(x)
    if axis is None:
        x, axis = ravel.traced(x), 0
    return emit("Gather", [x, _int_indices(indices)], axis=int(axis))


@keras_op("x", "indices")
def take_along_axis(x, indices, axis=None):
    """numpy's take_along_axis: out[..., k, ...] = x[..., indices[..., k, ...], ...] along ``axis`` (other
    axes broadcast). Computed as a one-hot sum (Equal with arange, Where, ReduceSum): exact, and
    differentiable in x."""
    x = _float(_tensor(x))
    idx = _tensor(indices)
    if axis is None:
        x, idx, axis = ravel.traced(x), ravel.traced(idx), 0
    axis = int(axis) % x.ndim
    n = _static_len(x, axis, "take_along_axis")
    idx = cast.traced(idx, x.dtype) if idx.dtype != x.dtype else idx
    idx = emit("Where", [emit("Less", [idx, _like(idx, 0.0)]), emit("Add", [idx, _like(idx, n)]), idx])
    xm = expand_dims.traced(transpose.traced(x, _to_last(x.ndim, axis)), -2)       # (..., 1, n)
    im = expand_dims.traced(transpose.traced(idx, _to_last(idx.ndim, axis)), -1)   # (..., k, 1)
    hit = emit("Equal", [im, _tracer([x]).const(np.arange(n, dtype=x.dtype))])    # (..., k, n)
    out = _reduce("ReduceSum", emit("Where", [hit, xm, _like(x, 0.0)]), [-1], False)
    return transpose.traced(out, [int(i) for i in np.argsort(_to_last(x.ndim, axis))])


def _to_last(r, axis):
    return [i for i in range(r) if i != axis] + [axis]


def _tri_mask(x, k, lower):
    n, m = _static_len(x, -2, "tril"), _static_len(x, -1, "tril")
    mask = np.tri(n, m, int(k), dtype=bool) if lower else ~np.tri(n, m, int(k) - 1, dtype=bool)
    return emit("Where", [_tracer([x]).const(mask), x, _like(x, 0)])


@keras_op("x")
def tril(x, k=0): return _tri_mask(_tensor(x), k, True)
@keras_op("x")
def triu(x, k=0): return _tri_mask(_tensor(x), k, False)


@keras_op("x")
def diagonal(x, offset=0, axis1=0, axis2=1):
    """numpy's diagonal: axis1/axis2 removed, the diagonal appended last."""
    x = _tensor(x)
    a1, a2 = int(axis1) % x.ndim, int(axis2) % x.ndim
    n, m = _static_len(x, a1, "diagonal"), _static_len(x, a2, "diagonal")
    rest = [i for i in range(x.ndim) if i not in (a1, a2)]
    y = transpose.traced(x, rest + [a1, a2])
    flat = reshape.traced(y, [0 if isinstance(x.ir_shape[i], str) else x.ir_shape[i] for i in rest] + [n * m])
    off = int(offset)
    rows = np.arange(builtins.max(0, -off), builtins.min(n, m - off))
    return _gather(flat, len(rest), rows * m + rows + off)


@keras_op("x")
def diag(x, k=0):
    """The k-th diagonal of a matrix, or a square matrix with a vector on its k-th diagonal."""
    x = _tensor(x)
    if x.ndim == 2:
        return diagonal.traced(x, k)
    if x.ndim != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, received shape {x.shape}")
    n, k = _static_len(x, 0, "diag"), int(k)
    m = n + builtins.abs(k)
    eye_ = np.zeros((n, m * m), dtype=bool)
    rows = np.arange(n)
    eye_[rows, (rows + builtins.max(-k, 0)) * m + rows + builtins.max(k, 0)] = True
    vals = emit("Where", [_tracer([x]).const(eye_), expand_dims.traced(x, -1), _like(x, 0)])
    return reshape.traced(_reduce("ReduceSum", vals, [0], False), (m, m))


@keras_op("x")
def trace(x, offset=0, axis1=0, axis2=1):
    return _reduce("ReduceSum", diagonal.traced(x, offset, axis1, axis2), [-1], False)


@keras_op("inputs")
def slice(inputs, start_indices, shape):  # noqa: A001  (Keras's name)
    """inputs[start:start + shape] per axis (static starts)."""
    x = _tensor(inputs)
    starts = [int(s) for s in np.atleast_1d(start_indices)]
    ends = [s + int(d) for s, d in zip(starts, np.atleast_1d(shape))]
    return emit("Slice", [x, _i64(x, starts), _i64(x, ends), _i64(x, list(range(len(starts))))])


@keras_op("inputs", "updates")
def slice_update(inputs, start_indices, updates):
    """inputs with ``updates`` written at ``start_indices`` (Pad of the updates + Where; static shapes)."""
    x, u = _tensor(inputs), _tensor(updates)
    starts = [int(s) for s in np.atleast_1d(start_indices)]
    dims = []
    for a, (d, w, s0) in enumerate(zip(x.ir_shape, u.ir_shape, starts)):
        if isinstance(d, str) and not (d == w and s0 == 0):  # a symbolic axis can only be updated whole
            _static_len(x, a, "slice_update")
        dims.append(None if isinstance(d, str) else d)
    pads = starts + [0 if d is None else d - s0 - int(w) for d, s0, w in zip(dims, starts, u.ir_shape)]
    if builtins.any(p < 0 for p in pads):
        raise ShapeError(f"slice_update: updates of shape {u.shape} at {starts} do not fit in {x.shape}")
    mask = np.zeros([1 if d is None else d for d in dims], dtype=bool)
    mask[tuple(builtins.slice(None) if d is None else builtins.slice(s0, s0 + int(w))
               for d, s0, w in zip(dims, starts, u.ir_shape))] = True
    placed = emit("Pad", [u, _i64(x, pads), _like(u, 0)], mode="constant")
    return emit("Where", [_tracer([x]).const(mask), placed, x])


def _revive_key(k):
    """Keras 3's serialized index entries ({"class_name": "__slice__" | "__ellipsis__"}) as Python objects."""
    if isinstance(k, dict) and k.get("class_name") == "__slice__":
        c = k.get("config") or {}
        return builtins.slice(c.get("start"), c.get("stop"), c.get("step"))
    if isinstance(k, dict) and k.get("class_name") == "__ellipsis__":
        return Ellipsis
    return k


@keras_op("x")
def get_item(x, key):
    """x[key] for ints, slices, None and Ellipsis (static steps), and 1-D integer index lists."""
    x = _tensor(x)
    if isinstance(key, list) and builtins.any(k is None or k is Ellipsis or isinstance(k, (builtins.slice, dict))
                                              for k in key):
        key = tuple(key)  # a tuple key saved in a model config comes back as a JSON list
    key = tuple(_revive_key(k) for k in key) if isinstance(key, tuple) else (_revive_key(key),)
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("get_item: an index can only have a single ellipsis ('...')")
    if builtins.any(k is Ellipsis for k in key):
        i = next(j for j, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (builtins.slice(None),) * (x.ndim - n_real) + key[i + 1:]
    elif n_real > x.ndim:
        raise IndexError(f"get_item: too many indices ({n_real}) for a tensor of rank {x.ndim}")
    axis, drop, new = 0, [], []
    out_axis = 0
    for k in key:
        if k is None:
            new.append(out_axis)
            out_axis += 1
            continue
        if isinstance(k, (int, np.integer)):
            n = _static_len(x, axis, "get_item")
            if not -n <= int(k) < n:
                raise IndexError(f"get_item: index {int(k)} is out of bounds for axis {axis} with size {n}")
            x = _slice(x, axis, int(k) % n, int(k) % n + 1)
            drop.append(axis)
        elif isinstance(k, builtins.slice):
            if k != builtins.slice(None):
                n = _static_len(x, axis, "get_item")
                idx = np.arange(n)[k]
                if k.step in (None, 1):
                    x = _slice(x, axis, int(idx[0]) if idx.size else 0, int(idx[-1]) + 1 if idx.size else 0)
                else:
                    x = _gather(x, axis, idx)
            out_axis += 1
        elif isinstance(k, (list, np.ndarray)) and np.asarray(k).ndim == 1 and np.asarray(k).dtype.kind in "iu":
            x = _gather(x, axis, np.asarray(k, np.int64))
            out_axis += 1
        else:
            raise NotImplementedError(f"keras.ops.get_item with index {k!r} is not supported by graphc; use ints, "
                                      "slices, None, ..., integer lists, or keras.ops.take/where")
        axis += 1
    if drop:
        x = squeeze.traced(x, drop)
    return expand_dims.traced(x, new) if new else x


# --- contractions -----------------------------------------------------------------------------------------
def _parse_einsum(subscripts, ranks):
    sub = subscripts.replace(" ", "")
    lhs, arrow, rhs = sub.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, received {len(ranks)}")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in sub]
    ell = builtins.max([r - len(t.replace("...", "")) for t, r in zip(terms, ranks) if "..." in t] or [0])
    ell_letters = "".join(spare[:ell])
    out_terms = []
    for t, r in zip(terms, ranks):
        if "..." in t:
            k = r - len(t.replace("...", ""))
            t = t.replace("...", ell_letters[ell - k:])
        if len(t) != r:
            raise ValueError(f"einsum: term {t!r} does not match an operand of rank {r}")
        out_terms.append(t)
    if arrow:
        out = rhs.replace("...", ell_letters)
    else:
        letters = "".join(out_terms)
        out = ell_letters + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell_letters))
    return out_terms, out


@keras_op("operands")
def _einsum(operands, subscripts):
    xs = [_float(_tensor(o)) for o in operands]
    terms, out = _parse_einsum(subscripts, [x.ndim for x in xs])
    for t in terms:
        if len(set(t)) != len(t):
            raise NotImplementedError(f"einsum: a letter repeated within one operand ({t!r}, a diagonal) is not "
                                      "supported by graphc; take keras.ops.diagonal first")
    if len(xs) == 2:
        fast = _einsum_matmul(xs, terms, out)
        if fast is not None:
            return fast
    letters = list(out) + sorted({c for t in terms for c in t} - set(out))
    acc = None
    for x, t in zip(xs, terms):
        perm = sorted(range(len(t)), key=lambda i: letters.index(t[i]))
        y = transpose.traced(x, perm) if perm != list(range(len(t))) else x
        present = [letters.index(t[i]) for i in perm]
        missing = [j for j in range(len(letters)) if j not in present]
        y = expand_dims.traced(y, missing) if missing else y
        acc = y if acc is None else emit("Mul", [acc, y])
    contracted = list(range(len(out), len(letters)))
    return _reduce("ReduceSum", acc, contracted, False) if contracted else acc


def _einsum_matmul(xs, terms, out):
    """Batched MatMul for ``b...ik,b...kj``-like products whose letters are all shared or kept and whose
    dims are static; None otherwise (the broadcast-multiply path handles it)."""
    (a, b), (ta, tb) = xs, terms
    if builtins.any(isinstance(d, str) for x in xs for d in x.ir_shape):
        return None
    batch = [c for c in ta if c in tb and c in out]
    con = [c for c in ta if c in tb and c not in out]
    fa = [c for c in ta if c not in tb]
    fb = [c for c in tb if c not in ta]
    if not con or builtins.any(c not in out for c in fa + fb):
        return None
    dim = {c: d for t, x in zip(terms, xs) for c, d in zip(t, x.ir_shape)}
    size = lambda cs: int(np.prod([dim[c] for c in cs], dtype=np.int64))  # noqa: E731
    a2 = reshape.traced(transpose.traced(a, [ta.index(c) for c in batch + fa + con]),
                        [dim[c] for c in batch] + [size(fa), size(con)])
    b2 = reshape.traced(transpose.traced(b, [tb.index(c) for c in batch + con + fb]),
                        [dim[c] for c in batch] + [size(con), size(fb)])
    y = reshape.traced(matmul.traced(a2, b2), [dim[c] for c in batch + fa + fb])
    order = batch + fa + fb
    perm = [order.index(c) for c in out]
    return transpose.traced(y, perm) if perm != list(range(len(perm))) else y


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation (numpy's subscripts, '...' broadcasting, implicit output)."""
    return _einsum(list(operands), subscripts=subscripts)


einsum.traced = _varargs("einsum", _einsum)


@keras_op("x1", "x2")
def tensordot(x1, x2, axes=2):
    x1, x2 = _float(_tensor(x1)), _float(_tensor(x2))
    if np.ndim(axes) == 0:
        k = int(axes)
        a1, a2 = list(range(x1.ndim - k, x1.ndim)), list(range(k))
    else:
        a1, a2 = ([int(a) for a in np.atleast_1d(v)] for v in axes)
    a1, a2 = [a % x1.ndim for a in a1], [a % x2.ndim for a in a2]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    t1 = [next(letters) for _ in range(x1.ndim)]
    t2 = [next(letters) for _ in range(x2.ndim)]
    for i, j in zip(a1, a2):
        t2[j] = t1[i]
    out = [c for i, c in enumerate(t1) if i not in a1] + [c for j, c in enumerate(t2) if j not in a2]
    return _einsum.traced([x1, x2], "".join(t1) + "," + "".join(t2) + "->" + "".join(out))


@keras_op("x1", "x2")
def outer(x1, x2):
    a, b = _float(_tensor(x1)), _float(_tensor(x2))
    return emit("Mul", [expand_dims.traced(ravel.traced(a), 1), expand_dims.traced(ravel.traced(b), 0)])


@keras_op("x1", "x2")
def inner(x1, x2):
    a, b = _float(_tensor(x1)), _float(_tensor(x2))
    if a.ndim == 0 or b.ndim == 0:
        return emit("Mul", [a, b])
    return tensordot.traced(a, b, ([-1], [-1]))


@keras_op("x1", "x2")
def vdot(x1, x2):
    a, b = _float(_tensor(x1)), _float(_tensor(x2))
    return _reduce("ReduceSum", emit("Mul", [ravel.traced(a), ravel.traced(b)]), None, False)


@keras_op("x1", "x2")
def kron(x1, x2):
    """Kronecker product: out[i*m + k, ...] = x1[i, ...] * x2[k, ...] (static shapes)."""
    a, b = _float(_tensor(x1)), _float(_tensor(x2))
    r = builtins.max(a.ndim, b.ndim)
    a = reshape.traced(a, (1,) * (r - a.ndim) + tuple(a.ir_shape)) if a.ndim < r else a
    b = reshape.traced(b, (1,) * (r - b.ndim) + tuple(b.ir_shape)) if b.ndim < r else b
    ai = expand_dims.traced(a, [2 * i + 1 for i in range(r)])   # (a0, 1, a1, 1, ...)
    bi = expand_dims.traced(b, [2 * i for i in range(r)])       # (1, b0, 1, b1, ...)
    return reshape.traced(emit("Mul", [ai, bi]), [int(p) * int(q) for p, q in zip(a.ir_shape, b.ir_shape)])
