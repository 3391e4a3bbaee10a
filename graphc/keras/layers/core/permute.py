from __future__ import annotations

from ... import ops
from ...engine.layer import Layer


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is a permutation of 1..rank-1 (1-indexed, as in Keras)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
                             f"must be consecutive and start from 1. Received dims={dims}")

    def build(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Layer {self.name!r}: Permute(dims={self.dims}) expects inputs of rank "
                             f"{len(self.dims) + 1}, received input shape {tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}
