"""Tracing: a layer's ``call`` runs on SymbolicValues and emits IR ops into a GraphBuilder.

This is graphc's "backend" in Keras's sense: ``keras.ops`` functions, given SymbolicValues,
add ONNX ops to the active builder. Lowering a model is tracing its layers' calls; a layer's
output shape is whatever the IR's shape inference says, so summary() shows real shapes.
"""
from __future__ import annotations

import contextlib
import contextvars

import numpy as np

from ...ir import GraphBuilder

_ctx: contextvars.ContextVar["Tracer | None"] = contextvars.ContextVar("graphc_tracer", default=None)


def keras_shape(shape):
    """IR shape -> Keras shape (symbols become None)."""
    return tuple(None if isinstance(d, str) else d for d in shape)


class TracedArithmetic:
    """Python operators as keras.ops calls, for anything a layer's call() computes with."""

    def _op(self, name, *args):
        from .. import ops
        return getattr(ops, name)(*args)

    def __add__(self, o): return self._op("add", self, o)
    def __radd__(self, o): return self._op("add", o, self)
    def __sub__(self, o): return self._op("subtract", self, o)
    def __rsub__(self, o): return self._op("subtract", o, self)
    def __mul__(self, o): return self._op("multiply", self, o)
    def __rmul__(self, o): return self._op("multiply", o, self)
    def __truediv__(self, o): return self._op("divide", self, o)
    def __rtruediv__(self, o): return self._op("divide", o, self)
    def __matmul__(self, o): return self._op("matmul", self, o)
    def __rmatmul__(self, o): return self._op("matmul", o, self)
    def __neg__(self): return self._op("negative", self)
    def __pow__(self, o): return self._op("power", self, o)
    def __getitem__(self, key): return self._op("get_item", self, key)  # Keras 3: ops.get_item

    @property
    def T(self):  # noqa: N802  (Keras's name)
        return self._op("transpose", self)


class UntraceableError(TypeError):
    """Python code asked for a symbolic tensor's value (``if x:``, ``float(x)``, ``np.exp(x)``)."""


class SymbolicValue(TracedArithmetic):
    """A value in the graph being traced. Arithmetic operators emit ops."""

    def __init__(self, tracer: "Tracer", name: str):
        self.tracer, self.name = tracer, name

    @property
    def type(self):
        return self.tracer.b.type(self.name)

    @property
    def shape(self):
        return keras_shape(self.type.shape)

    @property
    def ir_shape(self):
        return self.type.shape

    @property
    def dtype(self):
        return self.type.dtype

    @property
    def ndim(self):
        return self.type.rank

    def __repr__(self):
        return f"<SymbolicValue %{self.name}: {self.type}>"

    # Python code that needs the tensor's value cannot be traced: say so, instead of a wrong graph
    def _untraceable(self, what, *_args, **_kwargs):
        raise UntraceableError(
            f"{what} a symbolic tensor ({self.dtype}{tuple(self.ir_shape)}) is not possible: graphc traces the "
            "function once on symbolic tensors whose values are unknown, so Python control flow on tensor values "
            "and numpy functions cannot run on them; compute with keras.ops instead")

    def __bool__(self): self._untraceable("Using as a Python bool (if/and/or/while on)")
    def __array__(self, *a, **k): self._untraceable("Converting to a numpy array (numpy function on)")
    def __float__(self): self._untraceable("Converting to a Python float")
    def __int__(self): self._untraceable("Converting to a Python int")
    def __index__(self): self._untraceable("Using as an index")
    def __len__(self): self._untraceable("Taking len() of")
    def __iter__(self): self._untraceable("Iterating over")
    def __lt__(self, o): self._untraceable("Comparing (<)")
    def __le__(self, o): self._untraceable("Comparing (<=)")
    def __gt__(self, o): self._untraceable("Comparing (>)")
    def __ge__(self, o): self._untraceable("Comparing (>=)")



class Tracer:
    """Owns the GraphBuilder of one lowering and maps Variables to param/state values."""

    def __init__(self, name="graph", training=False):
        self.b = GraphBuilder(name=name)
        self.training = training
        self.collect_losses = False  # activity regularizers add penalties (train/test step traces)
        self._vars: dict[int, str] = {}
        self._layer_stack: list = []
        self.updates: list = []  # (Variable, SymbolicValue): buffers the program overwrites in place
        self.step_counter = None  # int64 scalar SymbolicValue that differs per training step (dropout RNG)

    def value(self, name) -> SymbolicValue:
        return SymbolicValue(self, name)

    def variable(self, var) -> SymbolicValue:
        """The param (trainable) or state value bound to ``var``'s numpy buffer."""
        key = id(var)
        if key not in self._vars:
            layer = self._layer_stack[-1].name if self._layer_stack else ""
            name = var.path.replace("/", ".")
            meta = {"buffer": True} if getattr(var, "is_buffer", False) else {}
            v = self.b.param(name, var.dtype, var.shape, trainable=var.trainable, layer=var.path.rsplit("/", 1)[0]
                             if "/" in var.path else layer, weight=var.name, variable=var, **meta)
            self.b.g.value(v).data = var.value
            self._vars[key] = v
        return SymbolicValue(self, self._vars[key])

    def record_update(self, var, value: SymbolicValue):
        if value.tracer is not self:
            raise ValueError(f"update of {var.path!r} comes from another graph")
        if tuple(value.ir_shape) != tuple(var.shape) or value.dtype != var.dtype:
            raise ValueError(f"update of {var.path!r}: expected {var.dtype}{tuple(var.shape)}, "
                             f"received {value.dtype}{tuple(value.ir_shape)}")
        self.updates.append((var, value))

    def declare_index_range(self, value: SymbolicValue, lo: int, hi: int, layer: str):
        """Declare that ``value`` indexes a table of ``hi - lo`` rows (``lo <= x < hi``), e.g. an Embedding.

        When ``value`` is a graph input, or a Cast of one, the input gets
        ``meta["index_range"] = (lo, hi, layer)`` and the runtime checks its values in Python
        before the native call (``Executable.validate``); several declarations intersect. Indices
        computed inside the graph are not checked (the Gather kernel writes zeros for them).
        """
        g = self.b.g
        name = value.name
        from ...passes.match import producer_if
        cast = producer_if(g, name, "Cast")
        if cast is not None:
            name = g.op_inputs(cast)[0]
        v = g.value(name)
        if v.role != "input":
            return
        old = v.meta.get("index_range")
        if old is not None:
            layer = layer if hi - lo <= old[1] - old[0] else old[2]  # name the stricter table
            lo, hi = max(lo, old[0]), min(hi, old[1])
        v.meta["index_range"] = (int(lo), int(hi), layer)

    def const(self, array, dtype=None) -> SymbolicValue:
        return SymbolicValue(self, self.b.const(np.asarray(array, dtype=dtype)))

    @contextlib.contextmanager
    def layer_scope(self, layer):
        self._layer_stack.append(layer)
        old = self.b.scope
        self.b.scope = {"layer": layer.name}
        try:
            yield
        finally:
            self._layer_stack.pop()
            self.b.scope = old

    @contextlib.contextmanager
    def active(self):
        token = _ctx.set(self)
        try:
            yield self
        finally:
            _ctx.reset(token)


def current() -> Tracer | None:
    return _ctx.get()
