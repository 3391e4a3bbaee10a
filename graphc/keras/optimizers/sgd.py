"""SGD with optional (Nesterov) momentum, Keras 3's formulation."""
from __future__ import annotations

from .. import ops
from .base import Optimizer


class SGD(Optimizer):
    """Gradient descent, with momentum if ``momentum > 0``:

        m = momentum * m - lr * g
        w = w + m                                   (nesterov=False)
        w = w + momentum * m - lr * g               (nesterov=True, with the new m)

    and ``w = w - lr * g`` without momentum (no momentum slot is created then).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = momentum
        self.nesterov = nesterov

    @property
    def _slot_names(self):
        return ("momentum",) if self.momentum != 0 else ()

    def update_step(self, gradient, param, variable, learning_rate, step):
        if self.momentum == 0:
            return ops.subtract(param, ops.multiply(gradient, learning_rate)), {}
        m = self.slot(variable, "momentum")
        momentum = float(self.momentum)
        m_new = ops.subtract(ops.multiply(m, momentum), ops.multiply(gradient, learning_rate))
        if self.nesterov:
            delta = ops.subtract(ops.multiply(m_new, momentum), ops.multiply(gradient, learning_rate))
        else:
            delta = m_new
        return ops.add(param, delta), {"momentum": m_new}

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
