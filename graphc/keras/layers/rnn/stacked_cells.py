"""StackedRNNCells: several cells run one after the other at each step (``keras.layers.RNN([c1, c2])``).

Keras 3's ``state_size`` is nested (one entry per cell: ``[[3, 3], 2]`` for an LSTMCell(3) and a
GRUCell(2)); the RNN layer here works on a flat list of states, so this cell keeps the nested form in
``nested_state_size`` and exposes the flat list as ``state_size``; ``group_states`` turns a flat list
back into Keras's nesting (what ``return_state`` returns). Weights are the cells' own, with Keras's
paths ``<rnn>/<stacked>/<cell>/<weight>``; the cells run step by step through their ``call``.
"""
from __future__ import annotations

from ...engine.layer import Layer
from ..core.time_distributed import deserialize_layer, serialize_layer


class StackedRNNCells(Layer):
    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if "call" not in dir(cell):
                raise ValueError(f"All cells must have a `call` method. Received cell without a `call` method: {cell}")
            if "state_size" not in dir(cell):
                raise ValueError(f"All cells must have a `state_size` attribute. Received cell without a "
                                 f"`state_size`: {cell}")
        self.cells = list(cells)

    @property
    def nested_state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def state_size(self):
        out = []
        for c in self.cells:
            out.extend(c.state_size if isinstance(c.state_size, (list, tuple)) else [c.state_size])
        return out

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        return last.state_size[0] if isinstance(last.state_size, (list, tuple)) else last.state_size

    def group_states(self, flat):
        """A flat list of states -> Keras's nesting (a list per multi-state cell, one tensor otherwise)."""
        out, i = [], 0
        for size in self.nested_state_size:
            if isinstance(size, (list, tuple)):
                out.append(list(flat[i:i + len(size)]))
                i += len(size)
            else:
                out.append(flat[i])
                i += 1
        return out

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell._maybe_build(shape)
            size = getattr(cell, "output_size", None)
            if size is None:
                size = cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) else cell.state_size
            shape = shape[:-1] + (size,)
        self.built = True

    def call(self, inputs, states, training=False):
        new_states, i = [], 0
        for cell in self.cells:
            n = len(cell.state_size) if isinstance(cell.state_size, (list, tuple)) else 1
            kw = {"training": training} if getattr(cell, "_call_accepts", lambda a: False)("training") else {}
            inputs, cell_states = cell(inputs, list(states[i:i + n]), **kw)
            new_states.extend(cell_states if isinstance(cell_states, (list, tuple)) else [cell_states])
            i += n
        return inputs, new_states

    def get_config(self):
        return {**super().get_config(), "cells": [serialize_layer(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cells"] = [deserialize_layer(c, custom_objects) for c in config.pop("cells")]
        return cls(**config)
