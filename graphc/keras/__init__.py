"""``from graphc import keras``: the Keras 3 API, compiled by graphc.

Models are written as in the Keras tutorials; graphc lowers them to its IR and runs them in
native code it generates.
"""
from . import activations, backend, config, constraints, initializers, layers, models, ops, regularizers, utils
from .engine.input_spec import InputSpec
from .engine.layer import Layer
from .engine.variable import Variable
from .layers import Input
from .models import Model, Sequential

__all__ = ["activations", "backend", "config", "constraints", "initializers", "layers", "models", "ops",
           "regularizers", "utils", "Input", "InputSpec", "Layer", "Model", "Sequential", "Variable"]
