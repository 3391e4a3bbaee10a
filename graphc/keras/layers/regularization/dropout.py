from __future__ import annotations

import numpy as np

from ...engine.layer import Layer


class Dropout(Layer):
    """Randomly zeroes inputs at ``rate`` during training (scaled by 1/(1-rate)); identity at inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate}")
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        from ... import utils
        self._seed = int(seed) if seed is not None else utils.make_default_seed()
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        from ...engine.trace import current
        from ...ops.core import emit
        tracer = current()
        counter = tracer.step_counter if tracer.step_counter is not None else tracer.const(np.int64(0))
        noise = None if self.noise_shape is None else [-1 if d is None else int(d) for d in self.noise_shape]
        y, _ = emit("RandomDropout", [inputs, counter], n_out=2, domain="graphc", rate=float(self.rate),
                    seed=self._seed, noise_shape=noise)
        return y

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}
