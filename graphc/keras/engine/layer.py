"""Layer: Keras's base class. A layer owns Variables and lowers itself by tracing ``call``.

``layer(x)`` on KerasTensors records a Node and returns KerasTensors whose shapes come from
the IR's shape inference; inside another trace it emits ops; on numpy arrays it compiles
the layer alone and runs it.
"""
from __future__ import annotations

import functools
import inspect
import threading

import numpy as np

from ...errors import ShapeError, UnsupportedOpError
from .. import config, initializers as _initializers
from . import masking, naming
from .keras_tensor import KerasTensor
from .node import Node, flatten, map_structure
from .trace import SymbolicValue, Tracer, UntraceableError, current, keras_shape
from .variable import Variable

_BASE_KWARGS = {"trainable", "name", "dtype", "autocast", "input_dim", "input_shape", "batch_size",
                "batch_input_shape", "input_length", "weights"}


_SCOPE = threading.local()


def _scope_stack():
    """The layers whose ``build`` is running (outermost first): Keras 3's name scopes, which give a
    variable created while building a nested layer the path ``<outer>/<inner>/<weight>``."""
    if not hasattr(_SCOPE, "stack"):
        _SCOPE.stack = []
    return _SCOPE.stack


def _scoped_build(build):
    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        stack = _scope_stack()
        if stack and stack[-1] is self:  # super().build(...) from a subclass: one scope
            return build(self, *args, **kwargs)
        stack.append(self)
        try:
            return build(self, *args, **kwargs)
        finally:
            stack.pop()
    wrapper._graphc_scoped = True
    return wrapper


def _weight_path(layer, name):
    """``<scopes>/<layer>/<name>``: the builds running around (and including) ``layer``'s, as Keras."""
    stack = _scope_stack()
    idx = next((i for i, l in enumerate(stack) if l is layer), None)
    names = [l.name for l in stack[:idx + 1]] if idx is not None else [l.name for l in stack] + [layer.name]
    return "/".join(names + [name])


def ir_shape(shape, batch_symbol="N"):
    """Keras shape with None -> IR shape: the batch is N, other unknown axes d1, d2, ..."""
    return tuple((batch_symbol if a == 0 else f"d{a}") if d is None else int(d) for a, d in enumerate(shape))


class Layer:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_graphc_scoped", False):
            cls.build = _scoped_build(build)

    def __init__(self, *, trainable=True, name=None, dtype=None, autocast=True, **kwargs):
        unknown = set(kwargs) - _BASE_KWARGS
        if unknown:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                            f"{ {k: kwargs[k] for k in sorted(unknown)} }")
        self.name = name or naming.auto_name(type(self).__name__)
        self._trainable = trainable
        self.dtype = dtype or config.floatx()
        self.built = False
        self._weights_list: list[Variable] = []
        self._inbound_nodes: list[Node] = []
        self.input_spec = None
        self.supports_masking = type(self).compute_mask is not Layer.compute_mask  # as Keras 3
        self._initial_weights = kwargs.get("weights")
        self._input_shape_arg = None
        if kwargs.get("batch_input_shape") is not None:
            self._input_shape_arg = tuple(kwargs["batch_input_shape"])
        elif kwargs.get("input_shape") is not None:
            self._input_shape_arg = (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
        elif kwargs.get("input_dim") is not None:
            self._input_shape_arg = (kwargs.get("batch_size"), int(kwargs["input_dim"]))
        self._eager_cache = {}

    # --- sublayers and weights ------------------------------------------------------------
    @property
    def _sublayers(self):
        return [v for v in self.__dict__.values() if isinstance(v, Layer)] + \
               [x for v in self.__dict__.values() if isinstance(v, (list, tuple)) for x in v if isinstance(x, Layer)]

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None, autocast=True):
        dtype = dtype or self.dtype
        if initializer is None:
            initializer = "glorot_uniform" if "float" in str(dtype) else "zeros"
        init = _initializers.get(initializer)
        name = name or f"variable_{len(self._weights_list)}"
        var = Variable(init, shape=tuple(shape or ()), dtype=dtype, trainable=trainable and self._trainable,
                       name=name, path=_weight_path(self, name), regularizer=regularizer, constraint=constraint)
        var._declared_trainable = trainable
        self._weights_list.append(var)
        return var

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for v in self._weights_list:
            v.trainable = self._trainable and v._declared_trainable
        for layer in self._sublayers:
            layer.trainable = value

    @property
    def weights(self):
        """Keras 3's order: the layer's own trainable weights, then its non-trainable ones (each in
        creation order, by how they were declared), then those of its sublayers."""
        own = [w for w in self._weights_list if w._declared_trainable] + \
              [w for w in self._weights_list if not w._declared_trainable]
        out, seen = [], set()
        for w in own + [w for layer in self._sublayers for w in layer.weights]:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    variables = weights

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.trainable]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights if not w.trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"Layer {self.name!r} expects {len(mine)} weights, but the received list has "
                             f"{len(weights)} elements")
        for w, new in zip(mine, weights):
            new = np.asarray(new)
            if new.shape != w.shape:
                raise ShapeError(f"Layer {self.name!r} weight {w.name!r}: expected shape {w.shape}, "
                                 f"received shape {new.shape}")
        for w, new in zip(mine, weights):
            w.assign(new)

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                             "You can build it manually via: `layer.build(input_shape)`.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # --- building ------------------------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def _maybe_build(self, shapes):
        if not self.built:
            self.build(shapes)
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call()")

    def _check_input_spec(self, shapes):
        from .input_spec import assert_input_compatibility
        assert_input_compatibility(self.input_spec, shapes, self.name)

    @classmethod
    def _call_accepts(cls, name):
        params = inspect.signature(cls.call).parameters
        return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())

    @classmethod
    def _call_has_arg(cls, name):
        return name in inspect.signature(cls.call).parameters

    def _trace_call(self, tracer, args, kwargs):
        """Run ``call`` on SymbolicValues inside ``tracer``; returns the call's outputs.

        Masks follow Keras 3's ``Layer.__call__``: when the call has exactly one tensor argument
        and a ``mask`` parameter, it receives that argument's mask; afterwards a layer that
        ``supports_masking`` sets ``compute_mask(first argument, previous mask)`` on its outputs.
        """
        kwargs = dict(kwargs)
        if self._call_accepts("training") and kwargs.get("training") is None:
            kwargs["training"] = tracer.training
        elif not self._call_accepts("training"):
            kwargs.pop("training", None)
        first = args[0] if args else None
        if "mask" in kwargs and not self._call_has_arg("mask"):
            # a Keras-saved node passes `mask` to layers whose Keras call takes one (BatchNormalization, ...);
            # graphc's masks ride on the tensors, so a call without the parameter just drops it
            kwargs.pop("mask")
        if self._call_has_arg("mask") and kwargs.get("mask") is None and _tensor_arg_count(args, kwargs) == 1:
            kwargs["mask"] = map_structure(masking.get_mask, first)
        previous_mask = kwargs.get("mask") if kwargs.get("mask") is not None else \
            map_structure(masking.get_mask, first)
        if "mask" in kwargs and all(m is None for m in flatten(kwargs["mask"])):
            kwargs["mask"] = None
        with tracer.active(), tracer.layer_scope(self):
            try:
                outputs = self.call(*args, **kwargs)
            except UntraceableError as e:  # name the layer whose Python code needs tensor values
                raise UnsupportedOpError(f"Layer {self.name!r} ({type(self).__name__}): call() could not be traced: "
                                         f"{e}") from e
            if self.supports_masking:
                self._set_mask_metadata(first, outputs, previous_mask)
        return outputs

    def _set_mask_metadata(self, inputs, outputs, previous_mask):
        flat = [o for o in flatten(outputs) if isinstance(o, SymbolicValue)]
        if not flat or all(masking.get_mask(o) is not None for o in flat):
            return
        out_masks = self.compute_mask(inputs, previous_mask)
        if out_masks is None:
            return
        for tensor, m in zip(flatten(outputs), flatten(out_masks)):
            if isinstance(tensor, SymbolicValue) and masking.get_mask(tensor) is None and m is not None:
                masking.set_mask(tensor, masking.float_mask(m, tensor.dtype if "float" in tensor.dtype
                                                            else config.floatx()))

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs (Keras 3's default: the input's mask, unchanged)."""
        return previous_mask

    # --- calling -------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        # the call runs in this layer's name scope (Keras 3): a layer built lazily inside it (a wrapped
        # layer, a nested Sequential) gets the path <this>/<inner>/<weight>
        stack = _scope_stack()
        if stack and stack[-1] is self:
            return self._dispatch_call(args, kwargs)
        stack.append(self)
        try:
            return self._dispatch_call(args, kwargs)
        finally:
            stack.pop()

    def _dispatch_call(self, args, kwargs):
        leaves = flatten((args, list(kwargs.values())))
        if any(isinstance(x, KerasTensor) for x in leaves):
            return self._symbolic_call(args, kwargs)
        if any(isinstance(x, SymbolicValue) for x in leaves) or current() is not None:
            self._maybe_build(_shapes(args[0]))
            return self._trace_call(current() or _tracer_of(leaves), args, kwargs)
        return self._eager_call(args, kwargs)

    def _symbolic_call(self, args, kwargs):
        shapes = map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else None, args[0])
        self._maybe_build(shapes)
        self._check_input_spec(shapes)
        tracer = Tracer(name=f"{self.name}_spec")
        seen = {}  # one graph input per KerasTensor, however often it is passed (ops.add(x, x))

        def sym_input(t):
            if id(t) not in seen:
                v = tracer.value(tracer.b.input(f"in{id(t)}", t.dtype, ir_shape(t.shape)))
                m = masking.get_mask(t)
                if m is not None:  # the mask's symbols match the tensor's (same axis positions)
                    masking.set_mask(v, tracer.value(tracer.b.input(f"mask{id(t)}", config.floatx(),
                                                                    ir_shape(m.shape))))
                seen[id(t)] = v
            return seen[id(t)]
        sym = map_structure(lambda t: sym_input(t) if isinstance(t, KerasTensor) else t, (args, kwargs))
        out = self._trace_call(tracer, sym[0], sym[1])

        def keras_tensor(v):
            t = KerasTensor(keras_shape(v.ir_shape), v.dtype, name=self.name)
            m = masking.get_mask(v)
            if m is not None:
                t._keras_mask = KerasTensor(keras_shape(m.ir_shape), "bool", name=f"{self.name}_mask")
            return t
        outputs = map_structure(keras_tensor, out)
        Node(self, args, kwargs, outputs)
        return outputs

    def _eager_call(self, args, kwargs):
        """Compile this layer alone for the inputs' signature and run it on numpy arrays."""
        import graphc

        arrays = map_structure(lambda x: np.asarray(x) if isinstance(x, (np.ndarray, list, float, int)) else x, args[0])
        self._maybe_build(_shapes(arrays))
        # array-valued keyword arguments (mask=, initial_state=) are graph inputs too
        tensor_kw = {k: map_structure(np.asarray, v) for k, v in kwargs.items() if _is_array_tree(v)}
        other_kw = {k: v for k, v in kwargs.items() if k not in tensor_kw}
        leaves = [a.astype(config.floatx()) if a.dtype.kind == "b" else a for a in flatten((arrays, tensor_kw))]
        key = (tuple((a.shape[1:], a.dtype.str) for a in leaves), tuple(sorted(tensor_kw)),
               repr(sorted(other_kw.items())))
        exe = self._eager_cache.get(key)
        if exe is None:
            tracer = Tracer(name=self.name)
            ins = [tracer.b.input(f"x{i}", _float_or_int(a), ("N",) + a.shape[1:]) for i, a in enumerate(leaves)]
            it = iter(ins)
            sym, sym_kw = map_structure(lambda a: tracer.value(next(it)), (arrays, tensor_kw))
            out = self._trace_call(tracer, (sym,) + tuple(args[1:]), {**other_kw, **sym_kw})
            tracer.b.output(*[v.name for v in flatten(out)])
            from ..models.training import _alias_updates
            _alias_updates(tracer, tracer.updates)
            exe = self._eager_cache[key] = (graphc.compile(tracer.b.g), out)
        exe, out = exe
        results = iter(exe.run(leaves))
        return map_structure(lambda v: next(results), out)

    # --- symbolic history ----------------------------------------------------------------
    def _node_attr(self, attr):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called and thus has no defined {attr}.")
        node = self._inbound_nodes[0]
        if attr == "input":
            ins = node.input_tensors
            return ins[0] if len(ins) == 1 else ins
        return node.outputs

    @property
    def input(self):
        return self._node_attr("input")

    @property
    def output(self):
        return self._node_attr("output")

    @property
    def input_shape(self):
        x = self.input
        return [t.shape for t in x] if isinstance(x, list) else x.shape

    @property
    def output_shape(self):
        x = self.output
        return [t.shape for t in x] if isinstance(x, (list, tuple)) else x.shape

    def compute_output_shape(self, input_shape):
        """Shapes by tracing ``call`` on symbolic inputs of ``input_shape`` (as Keras's compute_output_spec)."""
        self._maybe_build(input_shape)
        tracer = Tracer(name=f"{self.name}_shape")
        sym = map_structure(lambda s: s, _nest_shapes(input_shape))
        ins = [tracer.value(tracer.b.input(f"x{i}", self.dtype, ir_shape(s))) for i, s in enumerate(flatten_shapes(sym))]
        arg = ins[0] if not _is_shape_list(input_shape) else ins
        out = self._trace_call(tracer, (arg,), {})
        return map_structure(lambda v: keras_shape(v.ir_shape), out)

    # --- config --------------------------------------------------------------------------
    def get_config(self):
        cfg = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._input_shape_arg is not None:
            cfg["batch_input_shape"] = self._input_shape_arg
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def add_activity_penalty(layer, outputs):
    """Keras's activity_regularizer: in a loss trace (train and test steps, as Keras's compute_loss adds
    ``model.losses`` in both), penalty(outputs) / batch size joins the loss."""
    reg = getattr(layer, "activity_regularizer", None)
    tracer = current()
    if reg is not None and tracer is not None and tracer.collect_losses:
        from .. import ops
        batch = ops.cast(emit_size_ratio(outputs), outputs.dtype)
        penalty = ops.multiply(reg(outputs), batch)
        if not hasattr(tracer, "activity_penalties"):
            tracer.activity_penalties = []
        tracer.activity_penalties.append(penalty)
    return outputs


def emit_size_ratio(x):
    """1 / batch size of ``x`` as a traced scalar (graphc.SizeRatio of one row to the whole tensor)."""
    from ..ops.core import emit
    row = emit("ReduceSum", [x, x.tracer.const([0], dtype="int64")], keepdims=1)
    return emit("SizeRatio", [row, x], domain="graphc")


def _tensor_arg_count(args, kwargs):
    """How many call arguments hold tensors (Keras's CallSpec.tensor_arguments_dict), mask excluded."""
    values = list(args) + [v for k, v in kwargs.items() if k not in ("mask", "training")]
    return sum(1 for v in values if any(isinstance(x, (SymbolicValue, KerasTensor)) for x in flatten(v)))


def _is_array_tree(v):
    leaves = flatten(v)
    return bool(leaves) and all(isinstance(x, np.ndarray) for x in leaves)


def _float_or_int(a):
    return a.dtype.name if a.dtype.kind in "iu" else config.floatx() if a.dtype.kind in "fb" else str(a.dtype)


def _tracer_of(leaves):
    for x in leaves:
        if isinstance(x, SymbolicValue):
            return x.tracer
    return current()


def _is_shape_list(s):
    return isinstance(s, list) and s and isinstance(s[0], (tuple, list))


def _nest_shapes(s):
    return s


def flatten_shapes(s):
    return list(s) if _is_shape_list(s) else [s]


def _shapes(x):
    """Keras shapes (batch None) of a nested structure of arrays / SymbolicValues / KerasTensors."""
    def one(v):
        if isinstance(v, (SymbolicValue, KerasTensor)):
            return tuple(v.shape)
        a = np.asarray(v)
        return (None,) + a.shape[1:]
    return map_structure(one, x)
