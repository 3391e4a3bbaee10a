"""Functional: a model defined by input KerasTensors and output KerasTensors."""
from __future__ import annotations

import collections

from ..engine import naming
from ..engine.keras_tensor import KerasTensor
from ..engine.layer import Layer, ir_shape
from ..engine.node import flatten, map_structure
from ..engine.trace import SymbolicValue, Tracer
from .model import Model


def map_graph(inputs, outputs):
    """Nodes in execution order and layers in Keras's order (by decreasing depth, then discovery)."""
    finished, in_progress, order, layer_index = set(), set(), [], {}
    input_ids = {id(t) for t in inputs}

    def visit(tensor):
        if tensor._history is None:
            raise ValueError(f"Output tensors of a Functional model must be the output of a layer; {tensor} is not")
        layer, node_index, _ = tensor._history
        node = layer._inbound_nodes[node_index]
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(f"The graph of layer {layer.name!r} has a cycle")
        layer_index.setdefault(layer, len(layer_index))
        in_progress.add(id(node))
        if not node.is_input and id(tensor) not in input_ids:
            for t in node.input_tensors:
                visit(t)
        finished.add(id(node))
        in_progress.discard(id(node))
        order.append(node)

    for t in outputs:
        visit(t)
    node_depth, layer_depth = {}, {}
    for node in reversed(order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:
        layer = t._history[0]
        if layer not in layer_depth:
            layer_depth[layer], layer_index[layer] = 0, -1
    by_depth = collections.defaultdict(list)
    for layer, d in layer_depth.items():
        by_depth[d].append(layer)
    layers = [l for d in sorted(by_depth, reverse=True) for l in sorted(by_depth[d], key=lambda l: layer_index[l])]
    for t in inputs:
        if t._history is None or not t._history[0]._inbound_nodes[t._history[1]].is_input:
            raise ValueError(f"Functional model inputs must come from `keras.Input`. Received: {t}")
    return order, layers


class Functional(Model):
    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name or naming.auto_name("Functional"), trainable=trainable, **kwargs)
        self._exe = None
        self._nested_inputs, self._nested_outputs = inputs, outputs
        ins, outs = flatten(inputs), flatten(outputs)
        for t in ins + outs:
            if not isinstance(t, KerasTensor):
                raise ValueError(f"All `inputs` and `outputs` values of a Functional model must be KerasTensors. "
                                 f"Received: {t!r}")
        self._inputs, self._outputs = ins, outs
        self._nodes, self._layers = map_graph(ins, outs)
        self.built = True

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def output_names(self):
        """The names of the layers producing the outputs (Keras 3), in flattened output order."""
        return [t._history[0].name for t in self._outputs]

    @property
    def layers(self):
        """The model's layers; keras.ops nodes (OpLayer) are operations, not layers, as in Keras 3."""
        return [l for l in self._layers if not getattr(l, "is_operation", False)]

    @property
    def operations(self):
        """Layers and keras.ops nodes, in Keras's order."""
        return list(self._layers)

    @property
    def input(self):
        return self._nested_inputs

    @property
    def output(self):
        return self._nested_outputs

    def call(self, inputs, training=None, mask=None):
        """Run the layer graph on SymbolicValues (inside a trace). ``mask`` (one per input, as Keras 3's
        Functional.call takes it; a nested model's saved call passes it) is attached to the inputs
        that carry none."""
        values = {}
        flat_in = flatten(inputs)
        if mask is not None:
            from ..engine import masking
            masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
            for v, m in zip(flat_in, masks):
                if m is not None and masking.get_mask(v) is None:
                    masking.set_mask(v, masking.float_mask(m, v.dtype if "float" in v.dtype else "float32"))
        for t, v in zip(self._inputs, flat_in):
            values[id(t)] = v
        from ..engine.trace import current
        tracer = current()
        for node in self._nodes:
            if node.is_input or all(id(t) in values for t in flatten(node.outputs)):
                continue
            args, kwargs = map_structure(lambda x: values[id(x)] if isinstance(x, KerasTensor) else x,
                                         (node.call_args, node.call_kwargs))
            if training is not None and node.layer._call_accepts("training"):
                kwargs = {**kwargs, "training": training}
            out = node.layer._trace_call(tracer, args, kwargs)
            for t, v in zip(flatten(node.outputs), flatten(out)):
                values[id(t)] = v
        return map_structure(lambda t: values[id(t)], self._nested_outputs)

    def _trace_forward(self, tracer, training=False):
        """Graph inputs for the model's inputs and the traced outputs (flat lists of SymbolicValues)."""
        ins = [tracer.value(tracer.b.input(t._history[0].name, t.dtype, ir_shape(t.shape))) for t in self._inputs]
        it = iter(ins)
        nested = map_structure(lambda t: next(it), self._nested_inputs)
        with tracer.active():
            out = self.call(nested, training=training)
        outs = flatten(out)
        for v in outs:
            if not isinstance(v, SymbolicValue):
                raise ValueError(f"Model {self.name!r} output {v!r} is not a tensor")
        return ins, outs

    def get_config(self):
        """Keras 3's functional config: layers with their inbound nodes, input_layers, output_layers."""
        from ..saving.model_saving import _functional_config
        return _functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.model_saving import _functional_from
        return _functional_from(config, custom_objects, "<config>")
