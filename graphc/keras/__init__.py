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

_LAZY = ("losses", "metrics", "optimizers", "callbacks", "saving", "datasets")


def __getattr__(name):
    """Training and saving modules load on first use (``keras.optimizers``, ``keras.losses``, ...)."""
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f"graphc.keras.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'graphc.keras' has no attribute {name!r}")


__all__ = ["losses", "metrics", "optimizers", "callbacks", "saving", "datasets", "activations", "backend", "config", "constraints", "initializers", "layers", "models", "ops",
           "regularizers", "utils", "Input", "InputSpec", "Layer", "Model", "Sequential", "Variable"]
