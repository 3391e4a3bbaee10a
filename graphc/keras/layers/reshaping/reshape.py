from __future__ import annotations

import numpy as np

from ... import ops
from ...engine.layer import Layer


class Reshape(Layer):
    """Reshapes the non-batch axes to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)
        if sum(1 for d in self.target_shape if d == -1) > 1:
            raise ValueError(f"There must be at most one unknown dimension (-1) in target_shape. "
                             f"Received: target_shape={self.target_shape}")

    def call(self, inputs):
        rest = inputs.shape[1:]
        if None not in rest and -1 not in self.target_shape and int(np.prod(rest)) != int(np.prod(self.target_shape)):
            raise ValueError(f"Layer {self.name!r}: total size of the new array must be unchanged, "
                             f"input_shape = {rest}, output_shape = {self.target_shape}")
        return ops.reshape(inputs, (None,) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}
