"""graphc as an ONNX backend (``onnx.backend.base.Backend``): import, compile, run.

    from graphc.onnx import backend
    rep = backend.prepare(onnx.load("m.onnx"))      # imports (graphc.onnx.import_) and JIT-compiles
    outputs = rep.run([x])                           # a tuple of numpy arrays, one per graph output

This is the interface the official ONNX backend test suite (``onnx.backend.test.BackendTest``)
drives; ``tests/onnx/test_backend.py`` runs it. Only the CPU device exists. An op or attribute
graphc does not implement is an ``UnsupportedOpError`` naming the node, op type, attribute and
opset (raised by the importer).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import onnx
import onnx.helper as oh
from onnx.backend.base import Backend, BackendRep, Device, DeviceType

from ..errors import NotConstantError, ShapeError
from .import_ import graph_from_onnx


def _input_ancestors(model, value) -> set:
    """The graph inputs (initializers excluded) that ``value`` is computed from."""
    producer = {o: n for n in model.graph.node for o in n.output}
    inits = {t.name for t in model.graph.initializer}
    inputs = {vi.name for vi in model.graph.input} - inits
    seen, stack, found = set(), [value], set()
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v in inputs:
            found.add(v)
        elif v in producer:
            stack.extend(x for x in producer[v].input if x)
    return found


def _build(model, bind):
    """Import ``model`` with the ``bind`` inputs as consts and compile it. A run-time input that an
    op needs at compile time (a shape, axes, pads) raises NotConstantError naming the inputs."""
    import graphc
    try:
        graph = graph_from_onnx(model, bind=bind)
    except NotConstantError as e:
        need = _input_ancestors(model, e.value) - set(bind)
        if not need:
            raise
        raise _NeedsBinding(need) from e
    return graph, graphc.compile(graph)


class _NeedsBinding(Exception):
    def __init__(self, names):
        super().__init__(sorted(names))
        self.names = names


class GraphcRep(BackendRep):
    """A compiled model; ``run(inputs)`` takes arrays in the order of the model's graph inputs
    (initializers excluded) or a dict by name, and returns a tuple of arrays.

    Graph inputs that an op needs at compile time (Reshape's shape, Reduce's axes, Slice's starts
    fed as inputs instead of initializers) are *specialized*: the model is compiled once per
    distinct value of those inputs (cached), and the other inputs run through that program.
    """

    def __init__(self, model, bound=(), built=None):
        self.model = model
        inits = {t.name for t in model.graph.initializer}
        self.input_names = [vi.name for vi in model.graph.input if vi.name not in inits]
        self.bound = set(bound)
        self._programs = {}
        if built is not None:
            self._programs[()] = built

    @property
    def graph(self):
        return next(iter(self._programs.values()))[0] if self._programs else None

    def _program(self, named):
        while True:
            key = tuple((n, named[n].dtype.str, named[n].shape, named[n].tobytes()) for n in sorted(self.bound))
            if key in self._programs:
                return self._programs[key]
            try:
                built = _build(self.model, {n: named[n] for n in self.bound})
            except _NeedsBinding as e:
                self.bound |= e.names
                continue
            self._programs[key] = built
            return built

    def run(self, inputs, **kwargs):
        if isinstance(inputs, np.ndarray) or not isinstance(inputs, (list, tuple, dict)):
            inputs = [inputs]
        if isinstance(inputs, dict):
            named = {n: np.asarray(v) for n, v in inputs.items()}
        else:
            if len(inputs) != len(self.input_names):
                raise ShapeError(f"model {self.model.graph.name!r} expects {len(self.input_names)} input(s) "
                                 f"{self.input_names}, received {len(inputs)}")
            named = {n: np.asarray(v) for n, v in zip(self.input_names, inputs)}
        missing = [n for n in self.input_names if n not in named]
        if missing:
            raise ShapeError(f"model {self.model.graph.name!r}: inputs {missing} were not given")
        graph, exe = self._program(named)
        outs = exe.run([named[n] for n in exe.input_names])
        names = [n if n.isidentifier() else f"output_{i}" for i, n in enumerate(exe.output_names)]
        try:
            return namedtuple("Outputs", names, rename=True)(*outs)
        except (TypeError, ValueError):
            return tuple(outs)


class GraphcBackend(Backend):
    """``prepare`` imports an ONNX model into graphc's IR and JIT-compiles it (cached on disk)."""

    @classmethod
    def is_compatible(cls, model, device="CPU", **kwargs):
        from ..ops import registry
        return cls.supports_device(device) and all(
            registry.has(n.op_type, "" if n.domain == "ai.onnx" else n.domain) for n in model.graph.node)

    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        if not cls.supports_device(device):
            raise ValueError(f"graphc runs on the CPU only; device {device!r} was requested")
        super().prepare(model, device, **kwargs)  # onnx.checker
        try:
            return GraphcRep(model, built=_build(model, {}))
        except _NeedsBinding as e:  # compiled at the first run, once the bound inputs' values are known
            return GraphcRep(model, bound=e.names)

    @classmethod
    def run_model(cls, model, inputs, device="CPU", **kwargs):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node, inputs, device="CPU", outputs_info=None, **kwargs):
        """Run one NodeProto on arrays (one per non-empty input name), at graphc's opset."""
        from ..ir import OPSET
        arrays = [np.asarray(x) for x in (inputs.values() if isinstance(inputs, dict) else inputs)]
        names = [n for n in node.input if n]
        if len(names) != len(arrays):
            raise ShapeError(f"node {node.name or node.op_type!r} has {len(names)} input(s) {names}, "
                             f"received {len(arrays)} array(s)")
        vis = [oh.make_tensor_value_info(n, oh.np_dtype_to_tensor_dtype(a.dtype), a.shape)
               for n, a in zip(names, arrays)]
        outs = [oh.make_empty_tensor_value_info(n) for n in node.output if n]
        graph = oh.make_graph([node], node.name or node.op_type, vis, outs)
        opset = kwargs.get("opset_version", OPSET)
        model = oh.make_model(graph, opset_imports=[oh.make_opsetid(node.domain or "", opset)])
        model = onnx.shape_inference.infer_shapes(model)
        return cls.prepare(model, device).run(arrays)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return Device(device).type == DeviceType.CPU


prepare = GraphcBackend.prepare
run_model = GraphcBackend.run_model
run_node = GraphcBackend.run_node
supports_device = GraphcBackend.supports_device
is_compatible = GraphcBackend.is_compatible
