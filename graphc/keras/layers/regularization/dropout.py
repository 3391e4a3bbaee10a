from __future__ import annotations

from ...engine.layer import Layer


class Dropout(Layer):
    """Randomly zeroes inputs at ``rate`` during training (scaled by 1/(1-rate)); identity at inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate}")
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        self.supports_masking = True

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            raise NotImplementedError("Dropout in training mode is lowered by the training issue")
        return inputs

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}
