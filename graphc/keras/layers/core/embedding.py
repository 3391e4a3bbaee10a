from __future__ import annotations

import numpy as np

from ... import constraints, initializers, ops, regularizers
from ...engine.layer import Layer, add_activity_penalty
from ...engine.trace import SymbolicValue


class Embedding(Layer):
    """Turns integer indices into dense vectors: ``embeddings[inputs]`` (ONNX Gather on axis 0).

    The weight ``embeddings`` has shape (input_dim, output_dim). Float inputs are cast to int64
    (Keras casts to int32). Indices must lie in [0, input_dim): when the indices are a model
    input (or a Cast of one), the layer declares that range on the graph input and the runtime
    raises a ValueError naming the layer before any native code runs (real Keras on JAX returns
    NaN rows for out-of-range indices and wraps negative ones).

    ``mask_zero=True`` attaches the mask ``inputs != 0`` to the output; layers downstream receive
    it as Keras 3 does (RNN layers skip masked steps, GlobalAveragePooling1D averages only over
    unmasked ones). Index 0 is then reserved for padding (input_dim should be vocabulary + 1).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, input_length=None,
                 activity_regularizer=None, quantization_config=None, **kwargs):
        if quantization_config is not None:
            raise NotImplementedError("Embedding: quantization_config is not supported by graphc")
        for what, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"Received an invalid value for `{what}`, expected a positive integer. "
                                 f"Received: {what}={v}")
        if lora_rank:
            raise NotImplementedError("Embedding(lora_rank=...) is not supported by graphc yet")
        if input_length is not None:  # a Keras 2 argument that Keras 3 accepts, warns about and ignores
            import warnings
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", UserWarning, stacklevel=2)
        super().__init__(weights=weights, **kwargs)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.lora_rank = lora_rank

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer, name="embeddings",
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def call(self, inputs):
        if inputs.dtype not in ("int32", "int64"):
            inputs = ops.cast(inputs, "int64")
        if isinstance(inputs, SymbolicValue):
            inputs.tracer.declare_index_range(inputs, 0, self.input_dim, self.name)
        from ...ops.core import emit
        return add_activity_penalty(self, emit("Gather", [self.embeddings, inputs], axis=0))

    def compute_mask(self, inputs, mask=None):
        """``inputs != 0`` when mask_zero (a float 1/0 mask in a trace, a bool array on numpy input)."""
        if not self.mask_zero:
            return None
        if not isinstance(inputs, SymbolicValue):
            return np.asarray(inputs) != 0
        # a Gather from the table [0, 1, 1, ...]: exact, needs no comparison op, and has no gradient
        from ...ops.core import emit
        table = np.ones((self.input_dim,), dtype=self.dtype)
        table[0] = 0
        ids = inputs if inputs.dtype in ("int32", "int64") else ops.cast(inputs, "int64")
        return emit("Gather", [inputs.tracer.const(table), ids], axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        cfg = {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
               "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
               "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
               "activity_regularizer": regularizers.serialize(self.activity_regularizer),
               "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
               "mask_zero": self.mask_zero, "quantization_config": None}
        return cfg
