"""Keras 3's serialization dicts (``{"module", "class_name", "config", "registered_name"}``),
shared by initializers, regularizers, constraints and the other small Keras objects."""
from __future__ import annotations

import inspect


def serialize_object(obj, base, module, builtin, kind):
    """``builtin(cls)`` says whether a class is one of Keras's own (module ``module``, no registered name)."""
    if obj is None:
        return None
    cls = type(obj)
    if isinstance(obj, base):
        if builtin(cls):
            return {"module": module, "class_name": cls.__name__, "config": obj.get_config(), "registered_name": None}
        return {"module": cls.__module__, "class_name": cls.__name__, "config": obj.get_config(),
                "registered_name": cls.__name__}
    if inspect.isfunction(obj):
        return {"module": obj.__module__, "class_name": "function", "config": obj.__name__,
                "registered_name": obj.__name__}
    raise ValueError(f"Cannot serialize {obj!r}: expected a keras.{kind}s.{kind.capitalize()}")


def deserialize_object(config, by_name, kind, unknown, custom_objects=None):
    """Rebuild an object from :func:`serialize_object`'s dict (``module`` is ignored); ``unknown(x)``
    makes the error for an unrecognised name."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize {kind}: expected a dict with 'class_name' and 'config', "
                         f"received {config!r}")
    name = config["class_name"]
    inner = config.get("config") or {}
    custom = dict(custom_objects or {})
    cls = custom.get(name) or by_name.get(name)
    if cls is None and config.get("registered_name"):
        cls = custom.get(config["registered_name"])
    if cls is None:
        raise unknown(config)
    if not inspect.isclass(cls):
        return cls
    try:
        return cls.from_config(inner)
    except TypeError as e:
        raise ValueError(f"Could not deserialize {kind} {name!r} from config {inner!r}: {e}") from None


def get_object(identifier, by_name, deserialize, unknown, factories=None):
    """Keras's ``get``: None, a name (class or factory), a config dict, an instance, a class
    (instantiated) or a callable (returned as is); anything else raises ``unknown(identifier)``."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if factories and identifier in factories:
            return factories[identifier]()
        cls = by_name.get(identifier)
        if cls is None:
            raise unknown(identifier)
        return cls()
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise unknown(identifier)
