"""``graphc.convert(src, dst)``: move a model between Keras files (.h5, .keras) and ONNX (.onnx).

* Keras -> ONNX: ``keras.models.load_model(src)`` then ``model.export(dst)`` (the inference graph,
  dynamic batch, weights as initializers).
* ONNX -> Keras: ``graphc.onnx.load(src)``, graphc's standard-preserving passes (shape inference,
  constant folding, dead-code elimination, transpose cancelling), then every remaining node that
  computes the model's outputs becomes a Keras layer (the table is ``graphc.ops.to_keras``) and the
  Functional model is saved with ``model.save(dst)``. Shape-only subgraphs (Shape/Gather/Concat
  feeding a Reshape) are not converted: the Reshape takes the inferred shape. A node without a Keras
  layer raises ``UnsupportedOpError`` naming the node, its op type and why.
* Recurrent nodes (``graphc.ops.to_keras_rnn``): ONNX LSTM / GRU / RNN (forward, reverse, bidirectional;
  layout 0 with the Transposes/Squeezes exporters put around it, or layout 1) become Keras LSTM / GRU /
  SimpleRNN layers (``go_backwards`` for reverse, ``Bidirectional`` for bidirectional nodes and for a
  forward and a reverse node over the same input), with ``return_sequences`` / ``return_state`` /
  ``initial_state`` as the graph uses Y, Y_h, Y_c and initial_h/initial_c, and the weights reordered
  to Keras's gates. clip, input_forget, peepholes, sequence_lens and activations Keras lacks are
  named in the error. A recurrent layer exported as an ONNX Loop (tf2onnx's Keras 3 GRU), which
  graphc unrolls at import, has no Keras layer: the error names the Loop.
* Keras -> Keras (``.h5`` <-> ``.keras``) and ONNX -> ONNX (re-export at graphc's opset) work too.
"""
from __future__ import annotations

import os
import re
import sys
import types

import numpy as np

from .errors import ShapeError, UnsupportedOpError

KERAS_EXTS = (".h5", ".hdf5", ".keras")


def _kind(path, what):
    p = os.fspath(path).lower()
    if p.endswith(".onnx"):
        return "onnx"
    if p.endswith(".weights.h5"):
        raise ValueError(f"{what} {os.fspath(path)!r} is a weights-only file; graphc.convert needs a whole model "
                         f"({', '.join(KERAS_EXTS)} or .onnx)")
    if p.endswith(KERAS_EXTS):
        return "keras"
    raise ValueError(f"{what} {os.fspath(path)!r}: expected a file ending in .onnx, .h5, .hdf5 or .keras")


def convert(src, dst, *, optimize=False, custom_objects=None):
    """Convert the model in ``src`` into ``dst`` (formats from the file names); returns the model written.

    ``optimize=True`` exports the optimized (still standard) ONNX graph; ``custom_objects`` is passed
    to ``load_model`` for Keras sources.
    """
    from . import keras
    from . import onnx as gonnx

    src_kind, dst_kind = _kind(src, "source"), _kind(dst, "destination")
    if src_kind == "keras":
        model = keras.models.load_model(src, custom_objects=custom_objects)
    else:
        model = gonnx.load(src)
    if dst_kind == "onnx":
        model.export(dst, optimize=optimize) if src_kind == "keras" else gonnx.export(model, dst, optimize=optimize)
        return model
    if src_kind == "onnx":
        model = onnx_to_keras(model)
    model.save(dst)
    return model


def onnx_to_keras(model_or_graph, name=None):
    """A graphc Keras Functional model computing the same function as an imported ONNX model.

    Takes an ``OnnxModel`` (``graphc.onnx.load``), an ``ir.Graph``, a path or a ModelProto. The
    Keras model's inputs are the ONNX inputs unchanged (NCHW images stay NCHW: the layers use
    ``data_format="channels_first"``), and its weights are copies of the initializers.
    """
    from . import onnx as gonnx
    from .ir import Graph

    if isinstance(model_or_graph, Graph):
        graph = model_or_graph
    elif hasattr(model_or_graph, "graph") and isinstance(model_or_graph.graph, Graph):
        graph = model_or_graph.graph
    else:
        graph = gonnx.load(model_or_graph).graph
    return KerasBuilder(graph).build(name)


def _identifier(name):
    s = re.sub(r"[^A-Za-z0-9_.\-]", "_", name).strip("_.-")
    return s or "node"


class KerasBuilder:
    """Converts the graph's values to KerasTensors on demand (see ``graphc.ops.to_keras``)."""

    def __init__(self, graph):
        from . import keras
        from .passes import cancel_transposes, eliminate_dead, fold_constants, infer_shapes, pipeline

        self.keras = keras
        self.g = pipeline.run(graph, [infer_shapes, fold_constants, eliminate_dead, cancel_transposes,
                                      eliminate_dead])
        self._tensors = {}
        self._consts = {}
        self._names = set()
        self.memo = {}  # converters' state shared across nodes (e.g. the Keras layer of a recurrent node)
        for n in self.g.inputs:
            t = self.g.value(n).type
            shape = tuple(None if isinstance(d, str) else int(d) for d in t.shape[1:])
            self._tensors[n] = keras.Input(shape=shape, dtype=t.dtype, name=self._unique(_identifier(n)))

    def build(self, name=None):
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 20000))  # tensor() recurses along the graph's depth
        try:
            outputs = [self.tensor(n) for n in self.g.outputs]
        finally:
            sys.setrecursionlimit(limit)
        inputs = [self._tensors[n] for n in self.g.inputs]
        return self.keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0],
                                name=_identifier(name or self.g.name))

    # --- what converters call ------------------------------------------------------------
    def input(self, op, slot):
        ins = self.g.op_inputs(op)
        return ins[slot] if slot < len(ins) else None

    def in_type(self, op, slot):
        return self.g.value(self.input(op, slot)).type

    def const(self, name):
        """The array of a weight or constant value, or of a value computed from weights only (a
        transposed kernel, a reshaped bias: evaluated with the ops' numpy references); None for a
        tensor computed from the model's inputs."""
        if name not in self._consts:
            v = self.g.value(name)
            if v.role != "intermediate":
                self._consts[name] = None if v.data is None or v.role == "input" else np.array(v.data)
            else:
                from .ops import registry
                op = self.g.producer(name)
                ins = self.g.op_inputs(op)
                arrays = [None if x is None else self.const(x) for x in ins]
                if any(a is None for x, a in zip(ins, arrays) if x is not None):
                    self._consts[name] = None
                else:
                    outs = registry.run_reference(op, arrays)
                    self._consts[name] = np.array(outs[self.g.op_outputs(op).index(name)])
        return self._consts[name]

    def tensor(self, name):
        if name in self._tensors:
            return self._tensors[name]
        op = self.g.producer(name)
        if op is None:
            raise UnsupportedOpError(f"value {name!r} is a constant where the Keras model needs a computed tensor "
                                     "(a Keras layer's input must come from the model's inputs)")
        from .ops import to_keras
        fn = to_keras.converter(op)
        if fn is None:
            self.fail(op, f"no Keras layer corresponds to {op.domain + '.' if op.domain else ''}{op.op_type}; "
                          f"convertible ops: {sorted(to_keras.CONVERTERS)}")
        if getattr(fn, "any_output", False):  # converters of multi-output ops take the output wanted
            self._tensors[name] = fn(self, op, name)
        elif self.g.op_outputs(op).index(name) != 0:
            self.fail(op, f"its output {name!r} (not the first) is used")
        else:
            self._tensors[name] = fn(self, op)
        return self._tensors[name]

    def fail(self, op, reason):
        loop = self._unrolled_loop(op)
        if loop:
            reason += (f". The node is (or reads) code of ONNX Loop {loop!r}, which graphc unrolled at import "
                       "(tf2onnx exports Keras 3's GRU this way): an unrolled step loop has no Keras layer; only ONNX "
                       "LSTM/GRU/RNN nodes become Keras recurrent layers")
        raise UnsupportedOpError(f"cannot convert ONNX node {op.name!r} ({op.op_type}) to Keras: {reason}")

    def _unrolled_loop(self, op, depth=3):
        """The ONNX Loop that ``op`` or an op shortly before it was unrolled from, if any."""
        if op is None or depth < 0:
            return None
        return op.meta.get("unrolled_loop") or next(
            (loop for v in self.g.op_inputs(op) if v is not None
             for loop in [self._unrolled_loop(self.g.producer(v), depth - 1)] if loop), None)

    def _unique(self, base):
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def layer_name(self, op, suffix=""):
        return self._unique(_identifier(op.name) + suffix)

    def apply(self, op, layer, inputs, weights=None, check=True, suffix=""):
        """Call ``layer`` (named after ``op`` if unnamed), set ``weights``, check the output shape."""
        if suffix:
            layer.name = self.layer_name(op, suffix)
        out = layer(inputs if len(inputs) > 1 else inputs[0])
        if weights is not None:
            try:
                layer.set_weights([np.asarray(w, dtype=layer.dtype) for w in weights])
            except (ValueError, ShapeError) as e:
                self.fail(op, f"its weights do not fit Keras layer {type(layer).__name__}: {e}")
        if check:
            want = tuple(None if isinstance(d, str) else int(d)
                         for d in self.g.value(self.g.op_outputs(op)[0]).type.shape)
            got = tuple(out.shape)
            if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want)):
                self.fail(op, f"Keras layer {type(layer).__name__} gives shape {got}, ONNX has {want}")
        return out


class _CallableModule(types.ModuleType):
    """``graphc.convert`` is this module; calling it calls ``convert`` (however it was imported)."""

    def __call__(self, src, dst, **kwargs):
        return convert(src, dst, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
