from __future__ import annotations

from ... import ops
from ...engine.input_spec import InputSpec
from ...engine.layer import Layer


class RepeatVector(Layer):
    """Repeats a (batch, features) input ``n`` times: (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}." if not isinstance(n, int)
                            else f"RepeatVector needs a positive n; received n={n}")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        x = ops.expand_dims(inputs, 1)
        return x if self.n == 1 else ops.concatenate([x] * self.n, axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}
