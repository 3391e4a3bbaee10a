"""Adamax (Adam with the infinity norm), Keras 3's formulation."""
from __future__ import annotations

from .. import ops
from .base import Optimizer


class Adamax(Optimizer):
    """Adamax:

        m = m + (g - m) * (1 - beta_1)
        u = max(beta_2 * u, |g|)
        w = w - lr * m / ((1 - beta_1^t) * (u + epsilon))        t = iterations + 1
    """

    _slot_names = ("momentum", "norm")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def update_step(self, gradient, param, variable, learning_rate, step):
        beta_1 = float(self.beta_1)
        beta_1_power = ops.power(beta_1, step)
        m, u = self.slot(variable, "momentum"), self.slot(variable, "norm")
        m_new = ops.add(m, ops.multiply(ops.subtract(gradient, m), 1 - beta_1))
        u_new = ops.maximum(ops.multiply(float(self.beta_2), u), ops.abs(gradient))
        update = ops.divide(ops.multiply(learning_rate, m_new),
                            ops.multiply(ops.subtract(1.0, beta_1_power), ops.add(u_new, float(self.epsilon))))
        return ops.subtract(param, update), {"momentum": m_new, "norm": u_new}

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
