"""Adagrad, Keras 3's formulation."""
from __future__ import annotations

from .. import ops
from .base import Optimizer


class Adagrad(Optimizer):
    """Adaptive per-parameter step sizes:

        acc = acc + g^2                     (acc starts at initial_accumulator_value)
        w = w - lr * g / sqrt(acc + epsilon)
    """

    _slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _slot_initial_value(self, slot):
        return float(self.initial_accumulator_value)

    def update_step(self, gradient, param, variable, learning_rate, step):
        acc_new = ops.add(self.slot(variable, "accumulator"), ops.square(gradient))
        update = ops.divide(ops.multiply(learning_rate, gradient), ops.sqrt(ops.add(acc_new, float(self.epsilon))))
        return ops.subtract(param, update), {"accumulator": acc_new}

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
