"""Adam (with AMSGrad) and AdamW, Keras 3's formulation."""
from __future__ import annotations

from .. import ops
from .base import Optimizer


class Adam(Optimizer):
    """Adam, with the bias correction folded into the step size (the "epsilon hat" form):

        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)          t = iterations + 1
        m = m + (g - m) * (1 - beta_1)
        v = v + (g^2 - v) * (1 - beta_2)
        v_hat = max(v_hat, v)   and v := v_hat                    (amsgrad)
        w = w - m * alpha / (sqrt(v) + epsilon)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def _build_slots(self, variables):
        m, v = self.add_optimizer_variables(variables, ["momentum", "velocity"])
        v_hat = self.add_optimizer_variables(variables, "velocity_hat") if self.amsgrad else None
        for i, var in enumerate(variables):
            self._slots[id(var)] = {"momentum": m[i], "velocity": v[i]}
            if v_hat is not None:
                self._slots[id(var)]["velocity_hat"] = v_hat[i]

    def update_step(self, gradient, param, variable, learning_rate, step):
        beta_1, beta_2 = float(self.beta_1), float(self.beta_2)
        beta_1_power = ops.power(beta_1, step)
        beta_2_power = ops.power(beta_2, step)
        alpha = ops.divide(ops.multiply(learning_rate, ops.sqrt(ops.subtract(1.0, beta_2_power))),
                           ops.subtract(1.0, beta_1_power))
        m, v = self.slot(variable, "momentum"), self.slot(variable, "velocity")
        m_new = ops.add(m, ops.multiply(ops.subtract(gradient, m), 1 - beta_1))
        v_new = ops.add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - beta_2))
        new = {"momentum": m_new, "velocity": v_new}
        if self.amsgrad:
            v_new = ops.maximum(self.slot(variable, "velocity_hat"), v_new)
            new["velocity_hat"] = v_new
        update = ops.divide(ops.multiply(m_new, alpha), ops.add(ops.sqrt(v_new), float(self.epsilon)))
        return ops.subtract(param, update), new

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay (``weight_decay`` defaults to 0.004 and is required)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
