"""Sequential: a plain stack of layers, built into a Functional once its input shape is known."""
from __future__ import annotations

import numpy as np

from ..engine import naming
from ..engine.keras_tensor import KerasTensor
from ..engine.layer import Layer
from ..layers.core.input_layer import InputLayer
from .functional import Functional
from .model import Model


class Sequential(Model):
    def __init__(self, layers=None, trainable=True, name=None):
        Layer.__init__(self, name=name or naming.auto_name("Sequential"), trainable=trainable)
        self._exe = None
        self._input_layer = None
        self._seq_layers: list[Layer] = []
        self._functional = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild=True):
        if isinstance(layer, KerasTensor) and layer._history is not None:
            layer = layer._history[0]
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._seq_layers:
                raise ValueError(f"Sequential model {self.name!r} can only have an InputLayer as its first layer")
            self._input_layer = layer
        elif isinstance(layer, Layer):
            if not self._seq_layers and self._input_layer is None and layer._input_shape_arg is not None:
                self._input_layer = InputLayer(batch_shape=layer._input_shape_arg)
            self._seq_layers.append(layer)
        else:
            raise ValueError(f"Only instances of `keras.Layer` can be added to a Sequential model. "
                             f"Received: {layer!r} (of type {type(layer).__name__})")
        self._functional, self._exe, self.built = None, None, False
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        layer = self._seq_layers.pop()
        self._functional, self._exe, self.built = None, None, False
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        if self._input_layer is not None and self._seq_layers:
            self.build(self._input_layer.batch_shape)

    def build(self, input_shape=None):
        if self._input_layer is None:
            if input_shape is None:
                raise ValueError("You must provide an `input_shape` argument.")
            self._input_layer = InputLayer(batch_shape=tuple(input_shape))
        x = self._input_layer._output
        for layer in self._seq_layers:
            x = layer(x)
        self._functional = Functional(self._input_layer._output, x, name=self.name)
        self.built = True

    def _ensure_built(self, x):
        if not self.built:
            a = x[0] if isinstance(x, (list, tuple)) else x
            a = np.asarray(a)
            if self._input_layer is None:
                self._input_layer = InputLayer(batch_shape=(None,) + a.shape[1:],
                                               dtype="int64" if a.dtype.kind in "iu" else None)
            self.build(self._input_layer.batch_shape)

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"Sequential model {self.name!r} has no defined {what} yet: it is built on its first "
                             "call, or give the first layer an input shape (keras.Input(shape=...)).")
        return self._functional

    @property
    def layers(self):
        return list(self._seq_layers)

    @property
    def inputs(self):
        return self._require_built("inputs").inputs

    @property
    def outputs(self):
        return self._require_built("outputs").outputs

    @property
    def input(self):
        return self.inputs[0]

    @property
    def output(self):
        return self.outputs[0]

    def call(self, inputs, training=None, mask=None):
        if self._functional is None:
            self.build((None,) + tuple(inputs.shape[1:]))
        return self._functional.call(inputs, training=training, mask=mask)

    def _trace_forward(self, tracer, training=False):
        return self._require_built("graph")._trace_forward(tracer, training)

    def get_config(self):
        """Keras 3's Sequential config: the layers (InputLayer first once built), build_input_shape."""
        if self.built:
            from ..saving.model_saving import _model_config
            return _model_config(self)
        from ..saving.model_saving import _serialize_layer
        return {"name": self.name, "trainable": self.trainable, "layers": [_serialize_layer(l) for l in self._seq_layers]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving.model_saving import _sequential_from
        return _sequential_from(config, custom_objects, "<config>")
