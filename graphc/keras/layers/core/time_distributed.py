from __future__ import annotations

from ....errors import UnsupportedOpError
from ... import ops
from ...engine.layer import Layer

# layers that act on each position of the last axis (or per element), so applying them to
# (batch, time, ...) at once is the same as applying them to each time step
_PER_POSITION = {"Dense", "Activation", "Dropout", "LeakyReLU", "ReLU", "ELU", "PReLU"}


def serialize_layer(layer):
    """A wrapped layer's ``{"module", "class_name", "config", "registered_name"}`` entry as the model
    saver writes layers (nested Sequential/Functional models and custom layers under their own module)."""
    from ...saving.model_saving import _serialize_layer
    return _serialize_layer(layer)


def deserialize_layer(config, custom_objects=None):
    """A wrapped layer (TimeDistributed/Bidirectional's ``layer``, an RNN's ``cell``) from its
    ``{"class_name", "config"}`` entry, by the model loader's rules: Keras-written configs (dtype
    policies, options such as ``quantization_config`` at their defaults), custom objects and nested
    models are handled as for a model's own layers."""
    if not isinstance(config, dict):
        return config
    from ...saving.model_saving import _deserialize_layer
    return _deserialize_layer(config, custom_objects, "<nested layer config>")


class TimeDistributed(Layer):
    """Applies ``layer`` to every time step (axis 1) of a (batch, time, ...) input.

    Dense-like layers (acting on the last axis or per element) are applied to the whole 3-D+
    tensor at once; any other layer is applied to each time step in turn (the time axis must then
    have a static length: graphc dims are an int or one symbol, so (batch*time) cannot be formed).
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a `keras.layers.Layer` instance. "
                             f"Received: {layer}")
        self.layer = layer
        self.supports_masking = True

    def _direct(self):
        if type(self.layer).__name__ in _PER_POSITION:
            return True
        axis = getattr(self.layer, "axis", None)
        return type(self.layer).__name__ in ("Softmax", "LayerNormalization") and axis in (-1, [-1])

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, "
                             f"received: {tuple(input_shape)}")
        inner = (input_shape[0],) + tuple(input_shape[2:])
        self.layer._maybe_build(inner)
        self.built = True

    def call(self, inputs, training=None):
        kw = {"training": training} if self.layer._call_accepts("training") else {}
        if self._direct():
            return self.layer(inputs, **kw)
        steps = inputs.shape[1]
        if steps is None:
            raise UnsupportedOpError(
                f"Layer {self.name!r}: TimeDistributed({type(self.layer).__name__}) needs a static time axis "
                f"(received input shape {inputs.shape}); only Dense-like inner layers "
                f"({', '.join(sorted(_PER_POSITION))}) support a variable number of time steps")
        outs = [ops.expand_dims(self.layer(_step(inputs, t), **kw), 1) for t in range(steps)]
        return outs[0] if steps == 1 else ops.concatenate(outs, axis=1)

    def get_config(self):
        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects)
        return cls(**config)


def _step(x, t):
    from ...ops.core import emit
    return emit("Gather", [x, x.tracer.const(t, dtype="int64")], axis=1)
