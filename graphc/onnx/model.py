"""OnnxModel: an imported ONNX graph as a Keras model (predict, summary, weights, compile/fit, save).

The imported graph is kept as it was read (``model.graph``). Lowering the model -- for
``predict``, for ``compile``'s train and test steps, for export -- replays that graph's ops into
the trace, with every float initializer bound to a Keras ``Variable``; so the whole training
machinery of ``keras.Model`` (losses, metrics, optimizers, callbacks, ``fit``/``evaluate``) works on
imported weights unchanged, and the trained weights are the model's weights.

Which initializers train: a float initializer is a trainable weight unless an op reads it at an
input the registry calls a running statistic (BatchNormalization's mean and variance) or ONNX's
schema marks non-differentiable (Clip's bounds, Pad's fill value); those stay fixed. So an
imported BatchNormalization keeps its inference form during ``fit`` (frozen statistics, trained
scale and offset): the ONNX graph holds no training form to replay, and this is what Keras's
transfer-learning guide recommends when fine-tuning a pretrained model with BatchNormalization.
The first axis of every input is the batch (``"N"``), as in Keras.
"""
from __future__ import annotations

import os

from ..ir import Graph
from ..ops import registry


class _OutputName:
    """What ``compile`` reads from an output's history: the name of the output."""

    def __init__(self, name):
        self.name = name


def _trainable_params(g: Graph) -> set:
    out = set()
    for v in g.values("param"):
        uses = [(op, slot) for op in g.consumers(v.name) for slot, x in enumerate(g.op_inputs(op)) if x == v.name]
        if all(registry.trainable_input(op.op_type, op.domain, slot) for op, slot in uses):
            out.add(v.name)
    return out


def _model_base():
    from ..keras.models.model import Model
    return Model


class OnnxModel(_model_base()):
    """An imported ONNX model with the ``keras.Model`` API. ``graph`` is the graph as imported."""

    def __init__(self, graph: Graph, name=None):
        from ..keras.engine.keras_tensor import KerasTensor
        from ..keras.engine.trace import keras_shape
        from ..keras.engine.variable import Variable

        super().__init__(name=name or graph.name)
        self.graph = graph
        trainable = _trainable_params(graph)
        self._vars = {}
        for v in graph.values("param"):
            var = Variable(v.data, dtype=v.data.dtype.name, trainable=v.name in trainable, name=v.name, path=v.name)
            var._declared_trainable = var.trainable
            v.data = var.value  # one buffer: the imported graph and the model see the same weights
            self._vars[v.name] = var
            self._weights_list.append(var)
        self._inputs = [KerasTensor((None,) + keras_shape(graph.value(n).type.shape)[1:], graph.value(n).type.dtype,
                                    name=n) for n in graph.inputs]
        self._outputs = [KerasTensor((None,) + keras_shape(graph.value(n).type.shape)[1:],
                                     graph.value(n).type.dtype, name=n, history=(_OutputName(n), 0, 0))
                         for n in graph.outputs]
        self.built = True

    @property
    def inputs(self):
        return self._inputs

    @property
    def outputs(self):
        return self._outputs

    @property
    def input_names(self):
        return list(self.graph.inputs)

    @property
    def output_names(self):
        return list(self.graph.outputs)

    def _trace_forward(self, tracer, training=False):
        """Replay the imported graph into ``tracer``: inputs (batch axis "N"), variables, consts, ops."""
        g, b = self.graph, tracer.b
        names = {}
        for n in g.inputs:
            t = g.value(n).type
            batch = t.shape[0] if t.shape and isinstance(t.shape[0], str) else None
            names[n] = b.input(n, t.dtype, tuple("N" if d == batch and batch is not None else d for d in t.shape))
        for v in g.values():
            if v.role == "param":
                names[v.name] = tracer.variable(self._vars[v.name]).name
            elif v.role == "const":
                names[v.name] = b.const(v.data, name=v.name)
        for op in g.ops():
            ins = [None if x is None else names[x] for x in g.op_inputs(op)]
            outs = g.op_outputs(op)
            res = b.op(op.op_type, ins, n_out=len(outs), name=op.name, domain=op.domain, out_names=outs,
                       **{k: v for k, v in op.attrs.items() if v is not None})
            for o, r in zip(outs, res if isinstance(res, list) else [res]):
                names[o] = r
        return [tracer.value(names[n]) for n in g.inputs], [tracer.value(names[n]) for n in g.outputs]

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """One row per ONNX node: name (op type), output shapes, the weights it reads."""
        from ..keras.models.summary import _table, readable_memory_size
        g = self.graph
        rows = []
        for op in g.ops():
            outs = ", ".join(str(g.value(v).type) for v in g.op_outputs(op))
            params = sum(self._vars[x].value.size for x in g.op_inputs(op) if x in self._vars)
            rows.append([f"{op.name} ({op.op_type})", outs, f"{params:,}"])
        headers = ["Node (op type)", "Output type", "Param #"]
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
        t = sum(w.value.size for w in self.trainable_weights)
        nt = sum(w.value.size for w in self.non_trainable_weights)
        lines = [f'Model: "{self.name}" (imported from ONNX)'] + _table(rows, headers, widths, ["l", "l", "r"])
        lines += [f" Total params: {t + nt:,} ({readable_memory_size((t + nt) * 4)})",
                  f" Trainable params: {t:,} ({readable_memory_size(t * 4)})",
                  f" Non-trainable params: {nt:,} ({readable_memory_size(nt * 4)})"]
        for line in lines:
            (print_fn or print)(line)

    def save(self, filepath, overwrite=True, **kwargs):
        """``.onnx``: the model with its current (e.g. fine-tuned) weights. ``.h5``/``.keras``: the
        model converted to Keras layers (``graphc.convert``'s mapping; an error names any node
        that has no Keras layer)."""
        path = os.fspath(filepath)
        if path.endswith(".onnx"):
            return self.export(path)
        from ..convert import onnx_to_keras
        return onnx_to_keras(self).save(path, overwrite=overwrite)

    def get_config(self):
        raise NotImplementedError(f"model {self.name!r} was imported from ONNX and has no Keras config; "
                                  "save it as .onnx, or as .h5/.keras through graphc.convert's layer mapping")


def load(path_or_proto, name=None) -> OnnxModel:
    """Import an ONNX model file (or ModelProto): predict with it, or ``compile`` and ``fit`` it."""
    from .import_ import graph_from_onnx
    return OnnxModel(graph_from_onnx(path_or_proto), name=name)

