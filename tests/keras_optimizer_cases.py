"""Optimizer scenarios shared by tests/keras/test_optimizers.py and tools/make_optimizer_fixtures.py.

Pure data (no graphc, no keras): every case runs THREE optimizer steps in float64 on two
variables, ``dense/kernel`` (2, 3) and ``dense/bias`` (3,), from fixed initial values with a
different gradient at each step. Values come from closed-form sin/cos expressions, not an RNG,
so both venvs produce identical inputs whatever their numpy version.

A case is ``{"optimizer": class name, "config": constructor kwargs}`` plus optional
``"schedule": [class name, config]`` (passed as ``learning_rate``), ``"constraints":
{"kernel"|"bias": [class name, config]}`` and ``"exclude_from_weight_decay": [names]``.
"""
import numpy as np

STEPS = 3

CASES = {
    # SGD
    "sgd": {"optimizer": "SGD", "config": {}},
    "sgd_momentum": {"optimizer": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9}},
    "sgd_nesterov": {"optimizer": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}},
    # RMSprop
    "rmsprop": {"optimizer": "RMSprop", "config": {}},
    "rmsprop_momentum": {"optimizer": "RMSprop", "config": {"learning_rate": 0.01, "momentum": 0.9}},
    "rmsprop_centered": {"optimizer": "RMSprop", "config": {"learning_rate": 0.01, "centered": True}},
    "rmsprop_centered_momentum": {"optimizer": "RMSprop",
                                  "config": {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5, "centered": True}},
    # Adam family
    "adam": {"optimizer": "Adam", "config": {}},
    "adam_custom": {"optimizer": "Adam", "config": {"learning_rate": 0.1, "beta_1": 0.8, "beta_2": 0.99,
                                                     "epsilon": 1e-3}},
    "adam_amsgrad": {"optimizer": "Adam", "config": {"learning_rate": 0.01, "amsgrad": True}},
    "adamw": {"optimizer": "AdamW", "config": {"learning_rate": 0.1}},
    "adamw_exclude_bias": {"optimizer": "AdamW", "config": {"learning_rate": 0.1, "weight_decay": 0.2},
                           "exclude_from_weight_decay": ["bias"]},
    "adamax": {"optimizer": "Adamax", "config": {}},
    "adamax_custom": {"optimizer": "Adamax", "config": {"learning_rate": 0.1, "beta_1": 0.7, "beta_2": 0.9}},
    "nadam": {"optimizer": "Nadam", "config": {}},
    "nadam_custom": {"optimizer": "Nadam", "config": {"learning_rate": 0.1, "beta_1": 0.8, "beta_2": 0.99}},
    # Adagrad / Adadelta
    "adagrad": {"optimizer": "Adagrad", "config": {}},
    "adagrad_custom": {"optimizer": "Adagrad", "config": {"learning_rate": 0.1, "initial_accumulator_value": 0.5,
                                                           "epsilon": 1e-4}},
    "adadelta": {"optimizer": "Adadelta", "config": {}},
    "adadelta_custom": {"optimizer": "Adadelta", "config": {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6}},
    # common options
    "clipnorm_adam": {"optimizer": "Adam", "config": {"learning_rate": 0.1, "clipnorm": 0.5}},
    "clipvalue_sgd_momentum": {"optimizer": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.5,
                                                              "clipvalue": 0.3}},
    "global_clipnorm_rmsprop": {"optimizer": "RMSprop", "config": {"learning_rate": 0.01, "global_clipnorm": 0.7}},
    "global_clipnorm_sgd": {"optimizer": "SGD", "config": {"learning_rate": 0.1, "global_clipnorm": 1.5}},
    "weight_decay_sgd": {"optimizer": "SGD", "config": {"learning_rate": 0.1, "weight_decay": 0.1}},
    "weight_decay_adam": {"optimizer": "Adam", "config": {"learning_rate": 0.1, "weight_decay": 0.05}},
    "weight_decay_nadam_clipnorm": {"optimizer": "Nadam", "config": {"learning_rate": 0.05, "weight_decay": 0.1,
                                                                     "clipnorm": 1.0}},
    "loss_scale_sgd": {"optimizer": "SGD", "config": {"learning_rate": 0.1, "loss_scale_factor": 4.0}},
    "ema_adam": {"optimizer": "Adam", "config": {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.9}},
    # schedules (values exact in float32, so Keras's float32 schedule arithmetic matches graphc's Python)
    "schedule_exponential_sgd": {"optimizer": "SGD", "config": {"momentum": 0.5},
                                 "schedule": ["ExponentialDecay", {"initial_learning_rate": 0.5, "decay_steps": 1,
                                                                   "decay_rate": 0.5}]},
    "schedule_piecewise_adam": {"optimizer": "Adam", "config": {"weight_decay": 0.1},
                                "schedule": ["PiecewiseConstantDecay", {"boundaries": [1],
                                                                        "values": [0.25, 0.125]}]},
    # constraints (applied after the update)
    "constraints_sgd": {"optimizer": "SGD", "config": {"learning_rate": 0.5},
                        "constraints": {"kernel": ["MaxNorm", {"max_value": 1.0, "axis": 0}],
                                        "bias": ["NonNeg", {}]}},
    "constraints_adam": {"optimizer": "Adam", "config": {"learning_rate": 0.1},
                         "constraints": {"kernel": ["UnitNorm", {"axis": 1}],
                                         "bias": ["MinMaxNorm", {"min_value": 0.5, "max_value": 0.8, "rate": 0.7,
                                                                 "axis": 0}]}},
}


def initial_values():
    """``{"kernel": (2, 3), "bias": (3,)}`` float64 starting weights."""
    kernel = (np.sin(np.arange(6) * 1.3 + 0.2) * 1.5).reshape(2, 3)
    bias = np.cos(np.arange(3) * 0.7) * 0.5
    return {"kernel": kernel, "bias": bias}


def gradients(step):
    """The gradients of step ``step`` (0, 1, 2): different signs and sizes at every step."""
    k = float(step)
    kernel = (np.sin(np.arange(6) * (0.9 + 0.1 * k) + k) * (1.0 + 0.5 * k)).reshape(2, 3)
    bias = np.cos(np.arange(3) * (1.1 + k) + 0.3 * k) * 0.8
    return {"kernel": kernel, "bias": bias}


# learning-rate schedules evaluated at SCHEDULE_STEPS (compared with Keras to float32 precision:
# Keras computes them in float32 tensors, graphc in Python floats)
SCHEDULE_STEPS = [0, 1, 2, 3, 4, 5, 7, 10, 11, 15, 20, 25, 30, 50, 99, 100, 101, 250]
SCHEDULES = {
    "exponential": ["ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9}],
    "exponential_staircase": ["ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10,
                                                   "decay_rate": 0.5, "staircase": True}],
    "piecewise": ["PiecewiseConstantDecay", {"boundaries": [3, 10, 30], "values": [1.0, 0.5, 0.1, 0.01]}],
    "inverse_time": ["InverseTimeDecay", {"initial_learning_rate": 0.2, "decay_steps": 5, "decay_rate": 0.5}],
    "inverse_time_staircase": ["InverseTimeDecay", {"initial_learning_rate": 0.2, "decay_steps": 5,
                                                    "decay_rate": 0.5, "staircase": True}],
    "polynomial": ["PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 50}],
    "polynomial_power_cycle": ["PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 20,
                                                   "end_learning_rate": 0.01, "power": 2.0, "cycle": True}],
    "cosine": ["CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 100}],
    "cosine_alpha": ["CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 30, "alpha": 0.1}],
    "cosine_warmup": ["CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 50, "alpha": 0.05,
                                      "warmup_target": 0.2, "warmup_steps": 10}],
    "cosine_restarts": ["CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 10}],
    "cosine_restarts_const": ["CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 7,
                                                      "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.01}],
}
