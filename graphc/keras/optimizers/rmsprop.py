"""RMSprop (plain, centered, with momentum), Keras 3's formulation."""
from __future__ import annotations

from .. import ops
from .base import Optimizer


class RMSprop(Optimizer):
    """Root-mean-square propagation:

        v = rho * v + (1 - rho) * g^2
        a = rho * a + (1 - rho) * g                  (centered only)
        d = v - a^2 + epsilon  (centered)  |  v + epsilon
        inc = lr * g / sqrt(d)
        m = momentum * m + inc;  w = w - m           (momentum > 0)
        w = w - inc                                  (momentum == 0)

    Note epsilon is added *inside* the square root (Keras 3), not outside as in Keras 2.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _build_slots(self, variables):
        # Keras builds each kind for all variables in turn (not interleaved)
        groups = [("velocity", self.add_optimizer_variables(variables, "velocity"))]
        if self.momentum > 0:
            groups.append(("momentum", self.add_optimizer_variables(variables, "momentum")))
        if self.centered:
            groups.append(("average_gradient", self.add_optimizer_variables(variables, "average_gradient")))
        for i, var in enumerate(variables):
            self._slots[id(var)] = {name: made[i] for name, made in groups}

    def update_step(self, gradient, param, variable, learning_rate, step):
        rho = float(self.rho)
        velocity = self.slot(variable, "velocity")
        new = {}
        v_new = ops.add(ops.multiply(rho, velocity), ops.multiply(1 - rho, ops.square(gradient)))
        new["velocity"] = v_new
        if self.centered:
            avg = self.slot(variable, "average_gradient")
            a_new = ops.add(ops.multiply(rho, avg), ops.multiply(1 - rho, gradient))
            new["average_gradient"] = a_new
            denominator = ops.add(ops.subtract(v_new, ops.square(a_new)), float(self.epsilon))
        else:
            denominator = ops.add(v_new, float(self.epsilon))
        increment = ops.divide(ops.multiply(learning_rate, gradient), ops.sqrt(denominator))
        if self.momentum > 0:
            m_new = ops.add(ops.multiply(float(self.momentum), self.slot(variable, "momentum")), increment)
            new["momentum"] = m_new
            return ops.subtract(param, m_new), new
        return ops.subtract(param, increment), new

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
