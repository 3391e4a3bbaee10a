"""Adadelta, Keras 3's formulation."""
from __future__ import annotations

from .. import ops
from .base import Optimizer


class Adadelta(Optimizer):
    """Adadelta (with Keras's learning rate factor, default 0.001):

        Eg = rho * Eg + (1 - rho) * g^2
        d = -sqrt(Edx + epsilon) * g / sqrt(Eg + epsilon)       (the old Edx)
        Edx = rho * Edx + (1 - rho) * d^2
        w = w + lr * d
    """

    _slot_names = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def update_step(self, gradient, param, variable, learning_rate, step):
        rho, eps = float(self.rho), float(self.epsilon)
        acc_grad = self.slot(variable, "accumulated_grad")
        acc_delta = self.slot(variable, "accumulated_delta_var")
        acc_grad_new = ops.add(ops.multiply(acc_grad, rho), ops.multiply(1 - rho, ops.square(gradient)))
        delta = ops.negative(ops.divide(ops.multiply(ops.sqrt(ops.add(acc_delta, eps)), gradient),
                                        ops.sqrt(ops.add(acc_grad_new, eps))))
        acc_delta_new = ops.add(ops.multiply(rho, acc_delta), ops.multiply(1 - rho, ops.square(delta)))
        return (ops.add(param, ops.multiply(learning_rate, delta)),
                {"accumulated_grad": acc_grad_new, "accumulated_delta_var": acc_delta_new})

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
