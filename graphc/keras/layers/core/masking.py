from __future__ import annotations

import numpy as np

from ... import ops
from ...engine import masking
from ...engine.layer import Layer
from ...engine.trace import SymbolicValue


class Masking(Layer):
    """Masks timesteps whose features all equal ``mask_value``: the output is the input with those
    steps zeroed, and it carries the mask ``any(inputs != mask_value, axis=-1)`` so that layers
    downstream (RNNs, GlobalAveragePooling1D, ...) skip them, as in Keras."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, dict) and mask_value.get("config") is not None:
            mask_value = mask_value["config"].get("value", mask_value)
        self.mask_value = mask_value
        self.supports_masking = True

    def _keep(self, inputs, keepdims):
        """1.0 where some feature differs from mask_value (Sign(|x - v|) is exactly 0 or 1)."""
        diff = ops.abs(ops.subtract(inputs, float(self.mask_value)))
        from ...ops.core import emit
        return ops.max(emit("Sign", [diff]), axis=-1, keepdims=keepdims)

    def compute_mask(self, inputs, mask=None):
        if not isinstance(inputs, SymbolicValue):
            return np.any(np.asarray(inputs) != self.mask_value, axis=-1)
        return self._keep(inputs, keepdims=False)

    def call(self, inputs):
        keep = self._keep(inputs, keepdims=True)
        outputs = ops.multiply(inputs, keep)
        masking.set_mask(outputs, ops.squeeze(keep, axis=-1))
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
