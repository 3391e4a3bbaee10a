"""Custom classes for loading: ``register_keras_serializable``, ``custom_object_scope`` and
``get_custom_objects``, as in ``keras.saving``."""
from __future__ import annotations

import threading

_GLOBAL_CUSTOM_OBJECTS = {}
_GLOBAL_CUSTOM_NAMES = {}
_SCOPES = threading.local()

__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects", "register_keras_serializable",
           "get_registered_name", "get_registered_object"]


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}):`` makes the classes known to ``load_model``."""

    def __init__(self, custom_objects):
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        if not hasattr(_SCOPES, "stack"):
            _SCOPES.stack = []
        _SCOPES.stack.append(self.custom_objects)
        return self

    def __exit__(self, *args):
        _SCOPES.stack.pop()


custom_object_scope = CustomObjectScope


def get_custom_objects():
    """The global registry (a dict one may update directly)."""
    return _GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package="Custom", name=None):
    """Register a class or function under ``"<package>>name"`` (the class name by default)."""
    def decorator(obj):
        registered = f"{package}>{name or obj.__name__}"
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj
    return decorator


def get_registered_name(obj):
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def all_custom_objects(custom_objects=None):
    """Global registrations, then the active scopes (innermost last), then ``custom_objects``."""
    out = dict(_GLOBAL_CUSTOM_OBJECTS)
    for scope in getattr(_SCOPES, "stack", []):
        out.update(scope)
    out.update(custom_objects or {})
    return out


def get_registered_object(name, custom_objects=None, module_objects=None):
    objects = all_custom_objects(custom_objects)
    if name in objects:
        return objects[name]
    return (module_objects or {}).get(name)
