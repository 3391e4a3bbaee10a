"""``keras.optimizers``: Keras 3's optimizers, lowered into graphc's training graph.

Every optimizer has Keras 3's exact defaults, update formulas, state variables (names and order)
and configs. In ``fit`` the update is part of the one compiled train step (see
``Optimizer.lower_updates``); ``optimizer.apply_gradients`` runs the same update on numpy
gradients for custom loops.
"""
from __future__ import annotations

import inspect

from . import schedules
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .base import Optimizer
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam",
           "schedules", "get", "serialize", "deserialize"]

ALL_OBJECTS = (Optimizer, SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}


def serialize(optimizer):
    """The Keras 3 serialization dict ``{"module", "class_name", "config", "registered_name"}``."""
    if optimizer is None:
        return None
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"Cannot serialize {optimizer!r}: expected a keras.optimizers.Optimizer")
    cls = type(optimizer)
    builtin = ALL_OBJECTS_DICT.get(cls.__name__.lower()) is cls
    return {"module": "keras.optimizers" if builtin else cls.__module__, "class_name": cls.__name__,
            "config": optimizer.get_config(), "registered_name": None if builtin else cls.__name__}


def deserialize(config, custom_objects=None):
    """An optimizer from its serialization dict; built-in class names are case-insensitive."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize optimizer: expected a dict with 'class_name' and 'config', "
                         f"received {config!r}")
    name = config["class_name"]
    custom = dict(custom_objects or {})
    cls = custom.get(name)
    if cls is None and config.get("registered_name"):
        cls = custom.get(config["registered_name"])
    if cls is None:
        cls = ALL_OBJECTS_DICT.get(str(name).lower())
    if cls is None or not (inspect.isclass(cls) and issubclass(cls, Optimizer)) or cls is Optimizer:
        raise ValueError(f"Could not interpret optimizer identifier: {name!r}. Expected one of "
                         f"{sorted(k for k in ALL_OBJECTS_DICT if k != 'optimizer')}, a config dict or an "
                         f"Optimizer instance")
    inner = dict(config.get("config") or {})
    try:
        return cls.from_config(inner, custom_objects=custom_objects)
    except TypeError:
        return cls.from_config(inner)


def get(identifier):
    """Resolve ``identifier`` (None, a name like ``"adam"``, a config dict or an instance)."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
