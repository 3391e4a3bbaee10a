"""Node: one call of a layer on symbolic inputs (Keras's functional-graph bookkeeping)."""
from __future__ import annotations


def _keys(d):
    """A dict's keys in Keras 3's flattening order (``keras.tree``: sorted), insertion order if unsortable."""
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def flatten(structure):
    if isinstance(structure, (list, tuple)):
        return [x for s in structure for x in flatten(s)]
    if isinstance(structure, dict):
        return [x for k in _keys(structure) for x in flatten(structure[k])]
    return [structure]


def map_structure(fn, structure):
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, structure[k]) for k in _keys(structure)}
    return fn(structure)


class Node:
    def __init__(self, layer, call_args=(), call_kwargs=None, outputs=None):
        from .keras_tensor import KerasTensor

        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs or {}
        self.outputs = outputs
        self.input_tensors = [x for x in flatten((call_args, list(self.call_kwargs.values())))
                              if isinstance(x, KerasTensor)]
        self.is_input = not self.input_tensors
        layer._inbound_nodes.append(self)
        index = len(layer._inbound_nodes) - 1
        for i, t in enumerate(flatten(outputs)):
            t._history = (layer, index, i)

    @property
    def parent_nodes(self):
        return [t._history[0]._inbound_nodes[t._history[1]] for t in self.input_tensors if t._history]
