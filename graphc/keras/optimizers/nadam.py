"""Nadam (Adam with Nesterov momentum and Dozat's momentum schedule), Keras 3's formulation."""
from __future__ import annotations

import numpy as np

from .. import config as _config
from .. import ops
from ..engine.variable import Variable
from .base import Optimizer


class Nadam(Optimizer):
    """Nadam with the momentum-cache schedule ``u_t = beta_1 * (1 - 0.5 * 0.96^t)``:

        u_product = u_product * u_t                      (a state variable, starts at 1; t = iterations + 1)
        m = m + (g - m) * (1 - beta_1)
        v = v + (g^2 - v) * (1 - beta_2)
        m_hat = u_{t+1} * m / (1 - u_product * u_{t+1}) + (1 - u_t) * g / (1 - u_product)
        v_hat = v / (1 - beta_2^t)
        w = w - m_hat * lr / (sqrt(v_hat) + epsilon)
    """

    _slot_names = ("momentum", "velocity")

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
        self._u_product = None

    def _build_extra(self, variables, first):
        if first:
            # Keras creates it after the slots, in the first variable's dtype
            dtype = variables[0].dtype if variables else _config.floatx()
            self._u_product = Variable(np.ones((), dtype=dtype), dtype=dtype, trainable=False, name="u_product",
                                       path=f"{self.name}/u_product")
            self._variables.append(self._u_product)

    def _momentum_cache(self, t):
        return ops.multiply(float(self.beta_1), ops.subtract(1.0, ops.multiply(0.5, ops.power(0.96, t))))

    def _update_extra(self, step):
        self._u_product_new = None
        step = ops.cast(ops.convert_to_tensor(step), self._u_product.dtype)
        new = ops.multiply(ops.multiply(self._u_product, float(self.beta_1)),
                           ops.subtract(1.0, ops.multiply(0.5, ops.power(0.96, step))))
        self._u_product_new = new
        return [(self._u_product, new)]

    def update_step(self, gradient, param, variable, learning_rate, step):
        beta_1, beta_2 = float(self.beta_1), float(self.beta_2)
        u_t = self._momentum_cache(step)
        u_t_1 = self._momentum_cache(ops.add(step, 1.0))
        u_product_t = ops.cast(self._u_product_new, variable.dtype)
        u_product_t_1 = ops.multiply(u_product_t, u_t_1)
        beta_2_power = ops.power(beta_2, step)
        m, v = self.slot(variable, "momentum"), self.slot(variable, "velocity")
        m_new = ops.add(m, ops.multiply(ops.subtract(gradient, m), 1 - beta_1))
        v_new = ops.add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - beta_2))
        m_hat = ops.add(ops.divide(ops.multiply(u_t_1, m_new), ops.subtract(1.0, u_product_t_1)),
                        ops.divide(ops.multiply(ops.subtract(1.0, u_t), gradient), ops.subtract(1.0, u_product_t)))
        v_hat = ops.divide(v_new, ops.subtract(1.0, beta_2_power))
        update = ops.divide(ops.multiply(m_hat, learning_rate), ops.add(ops.sqrt(v_hat), float(self.epsilon)))
        return ops.subtract(param, update), {"momentum": m_new, "velocity": v_new}

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
