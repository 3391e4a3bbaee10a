"""The three modes of a ``keras.ops`` function, as in Keras 3.

- **traced**: on SymbolicValues (or Variables, numpy constants) inside a layer's ``call`` or any
  active trace, the function adds IR ops to the graph being traced;
- **functional**: on KerasTensors (``y = keras.ops.add(x, 1.0)`` in the functional API) it records a
  model node, as Keras 3's ``Operation.symbolic_call`` does: an :class:`OpLayer` named after the op
  (``add``, ``concatenate_1``, ...) whose call replays the function when the model is traced;
  ``summary()`` lists it, ``model.layers`` does not (Keras lists it in ``model.operations``);
- **eager**: on numpy arrays and Python scalars it traces a tiny graph whose inputs are the tensor
  arguments, compiles it with graphc and runs it, returning numpy arrays. The compiled executable is
  cached by (op, the tensor arguments' shapes and dtypes, the other arguments), so repeated calls
  do not recompile (:func:`eager_cache_info`).

Which parameters are tensors is declared per function (``@keras_op("x1", "x2")``); the others
(``axis``, ``keepdims``, ...) are attributes and part of the cache key. In eager mode float arrays
keep their dtype (float32 or float64), Python scalars take the float dtype of the array arguments,
and integer/bool arrays are computed in that float dtype too (graphc's kernels are float kernels), so
results are float arrays (bool for the comparisons, logical functions; see logic.py).
"""
from __future__ import annotations

import collections
import functools
import inspect

import numpy as np

from ...ir.graph import INTERMEDIATE
from ..engine.keras_tensor import KerasTensor
from ..engine.node import flatten, map_structure
from ..engine.trace import SymbolicValue, Tracer, current
from ..engine.variable import Variable

_CACHE_SIZE = 256
_cache: "collections.OrderedDict[tuple, tuple]" = collections.OrderedDict()
_stats = {"compiles": 0, "hits": 0}
_TENSOR_PARAMS = {}  # traced function -> the names of its tensor parameters


def eager_cache_info():
    """``{"compiles", "hits", "size"}`` of the eager executable cache."""
    return {**_stats, "size": len(_cache)}


def clear_eager_cache():
    _cache.clear()
    _stats.update(compiles=0, hits=0)


def keras_op(*tensor_params):
    """Decorate a traced ``keras.ops`` function so it also runs on KerasTensors and on arrays."""
    def deco(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            leaves = flatten((list(args), list(kwargs.values())))
            if any(isinstance(a, KerasTensor) for a in leaves):
                return _functional(fn, args, kwargs)
            if current() is not None or any(isinstance(a, SymbolicValue) for a in leaves):
                return fn(*args, **kwargs)
            return _eager(fn, sig, tensor_params, args, kwargs)

        wrapper.traced = fn
        wrapper.tensor_params = tensor_params
        _TENSOR_PARAMS[fn] = tensor_params
        return wrapper
    return deco


# --- functional --------------------------------------------------------------------------------
def _camel(name):
    return "".join(p[:1].upper() + p[1:] for p in name.split("_"))


# where Keras 3 defines an op's Operation class when graphc's module (core -> numpy, nn -> nn) differs
_KERAS_MODULES = {"tanh": "keras.src.ops.numpy", "cast": "keras.src.ops.core", "logsumexp": "keras.src.ops.math",
                  "rsqrt": "keras.src.ops.math", "top_k": "keras.src.ops.math", "in_top_k": "keras.src.ops.math",
                  "erfc": "keras.src.ops.math", "norm": "keras.src.ops.linalg", "stop_gradient": "keras.src.ops.core",
                  "slice": "keras.src.ops.core", "slice_update": "keras.src.ops.core", "copy": "keras.src.ops.numpy",
                  "moments": "keras.src.ops.nn", "logaddexp": "keras.src.ops.numpy"}


@functools.lru_cache(maxsize=None)
def _op_class(op_name):
    from .. import ops
    from .op_layer import OpLayer
    fn = getattr(ops, op_name).traced
    keras_module = _KERAS_MODULES.get(op_name) or \
        ("keras.src.ops.nn" if fn.__module__.rsplit(".", 1)[-1] in ("nn", "nn_ext") else "keras.src.ops.numpy")
    return type(_camel(op_name), (OpLayer,), {"__module__": "graphc.keras.ops", "op_name": op_name,
                                              "function": staticmethod(fn), "keras_module": keras_module})


def _functional(fn, args, kwargs):
    """Record the call as Keras 3 does: the tensor arguments (KerasTensors, or constants in their place)
    are the node's arguments, every other parameter (axis, keepdims, ...) is the operation's config."""
    sig = inspect.signature(fn)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    call_kw, call_pos = _CALL_KWARGS.get(fn.__name__, ()), _CALL_ARGS.get(fn.__name__, ())
    tensors = [bound.arguments[p] for p in fn_tensor_params(fn) if p in bound.arguments and p not in call_kw]
    tensors += [bound.arguments[p] for p in call_pos]
    attrs = {k: v for k, v in bound.arguments.items()
             if k not in fn_tensor_params(fn) and k not in call_kw and k not in call_pos}
    kwargs = {k: bound.arguments[k] for k in call_kw if k in bound.arguments}
    return _op_class(fn.__name__)(attrs=attrs)(*tensors, **kwargs)


# parameters Keras 3's Operation takes in call() rather than in its constructor (so they are node
# arguments, not config entries, in a saved model)
_CALL_KWARGS = {"pad": ("constant_values",), "full_like": ("fill_value",)}
# ... and those it takes as trailing positional call arguments (GetItem's key: `x[key]` saves as args [x, key])
_CALL_ARGS = {"get_item": ("key",)}


def fn_tensor_params(fn):
    return _TENSOR_PARAMS[fn]


def op_class(class_name):
    """The OpLayer class of a Keras 3 operation class name (``Add``, ``TrueDivide``, ``Softmax``)."""
    from .. import ops
    from ..engine.naming import to_snake_case
    name = to_snake_case(class_name)
    fn = getattr(ops, name, None)
    if fn is None or not hasattr(fn, "traced"):
        return None
    return _op_class(name)


# --- eager -------------------------------------------------------------------------------------
def _float_dtype(arrays):
    from .. import config
    kinds = [a.dtype for a in arrays if a.dtype.kind == "f"]
    if any(d == np.float64 for d in kinds):
        return "float64"
    return "float32" if kinds else config.floatx()


def _eager(fn, sig, tensor_params, args, kwargs):
    import graphc
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    values = dict(bound.arguments)
    tensors = {}
    for p in tensor_params:
        if p in values and values[p] is not None:
            v = values[p]
            tensors[p] = [_as_array(x) for x in v] if isinstance(v, (list, tuple)) else _as_array(v)
    flat = flatten(list(tensors.values()))
    raw = flatten([values[p] for p in tensors])
    dtype = _float_dtype([a for a, r in zip(flat, raw) if not isinstance(r, (float, int, bool))])  # scalars are weak
    arrays = [np.asarray(a, dtype=dtype, order="C") for a in flat]  # (ascontiguousarray makes 0-d arrays 1-d)
    others = {k: v for k, v in values.items() if k not in tensors}
    key = (fn.__module__, fn.__name__, tuple((a.shape, a.dtype.str) for a in arrays),
           tuple((p, isinstance(tensors[p], list)) for p in tensors), repr(sorted(others.items())))
    hit = _cache.get(key)
    if hit is None:
        hit = _compile(fn, sig, values, tensors, arrays, graphc)
        _cache[key] = hit
        _stats["compiles"] += 1
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
        _stats["hits"] += 1
    exe, structure = hit
    results = iter(exe.run(arrays))
    return map_structure(lambda _: next(results), structure)


def _as_array(v):
    if isinstance(v, Variable):
        return np.asarray(v.value)
    return np.asarray(v)


def _compile(fn, sig, values, tensors, arrays, graphc):
    tracer = Tracer(name=f"ops_{fn.__name__}")
    ins = iter([tracer.value(tracer.b.input(f"x{i}", a.dtype.name, a.shape)) for i, a in enumerate(arrays)])
    call = dict(values)
    for p, v in tensors.items():
        call[p] = [next(ins) for _ in v] if isinstance(v, list) else next(ins)
    with tracer.active():
        out = fn(**{k: call[k] for k in sig.parameters if k in call and
                    sig.parameters[k].kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)})
    names = []
    for v in flatten(out):
        if not isinstance(v, SymbolicValue):
            raise TypeError(f"keras.ops.{fn.__name__} did not return tensors: {v!r}")
        name = v.name
        if tracer.b.g.value(name).role != INTERMEDIATE or name in names:  # an input or const passed through: copy
            name = tracer.b.op("Identity", [name])
        names.append(name)
    tracer.b.output(*names)
    return graphc.compile(tracer.b.g), out
