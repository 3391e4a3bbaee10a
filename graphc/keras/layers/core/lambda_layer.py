from __future__ import annotations

import base64
import importlib
import marshal
import types

from ....errors import UnsupportedOpError
from ...engine.layer import Layer
from ...engine.node import flatten
from ...engine.trace import SymbolicValue


def _fn_name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


class Lambda(Layer):
    """Wraps a Python function of ``keras.ops`` calls as a layer. The function is traced: it
    receives symbolic tensors, so it must build its result with ``keras.ops`` (or operators),
    not with numpy."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda expects a callable `function`; received {function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        self.mask = mask
        self.supports_masking = True

    def call(self, inputs, mask=None, training=None):
        name = _fn_name(self.function)
        try:
            out = self.function(inputs, **self.arguments)
        except UnsupportedOpError:
            raise
        except (TypeError, AttributeError, ValueError) as e:
            raise UnsupportedOpError(
                f"Lambda layer {self.name!r}: function {name} could not be traced: {type(e).__name__}: {e}. "
                "Its argument is a symbolic tensor: compute with keras.ops (or Python operators), not numpy "
                "or Python control flow on tensor values") from e
        for v in flatten(out):
            if not isinstance(v, SymbolicValue):
                raise TypeError(
                    f"Lambda layer {self.name!r}: function {name} returned {type(v).__name__} {v!r:.200}, "
                    "not a tensor computed with keras.ops from its input (numpy cannot run on symbolic tensors)")
        return out

    def compute_mask(self, inputs, mask=None):
        """Keras 3: ``mask(inputs, mask)`` when ``mask`` is callable, else ``mask`` itself (so a Lambda
        without ``mask=`` drops its input's mask)."""
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    def get_config(self):
        cfg = {**super().get_config(), "function": _serialize_function(self.function)}
        if self._output_shape is not None:
            cfg["output_shape"] = self._output_shape
        cfg["arguments"] = self.arguments
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        config = dict(config)
        if safe_mode is None:  # as Keras: the global setting (keras.config.enable_unsafe_deserialization)
            from ... import config as _config
            safe_mode = _config.in_safe_mode()
        config["function"] = _deserialize_function(config["function"], custom_objects, safe_mode)
        return cls(**config)


def _serialize_function(fn):
    """Keras 3's format: a lambda as marshalled bytecode (base64), a named function by module and name."""
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
        closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
        return {"class_name": "__lambda__", "config": {"code": code, "defaults": fn.__defaults__, "closure": closure}}
    return {"module": getattr(fn, "__module__", None), "class_name": "function", "config": fn.__name__,
            "registered_name": fn.__name__}


def _deserialize_function(cfg, custom_objects=None, safe_mode=True):
    if callable(cfg):
        return cfg
    if not isinstance(cfg, dict):
        raise TypeError(f"Lambda: cannot deserialize the function from {cfg!r}")
    if cfg.get("class_name") == "__lambda__":
        if safe_mode:
            raise ValueError("Requested the deserialization of a Python lambda, which runs arbitrary code "
                             "(its bytecode is stored in the config). Pass safe_mode=False to "
                             "Lambda.from_config only if you trust the source of this config.")
        c = cfg["config"]
        code = marshal.loads(base64.decodebytes(c["code"].encode("ascii")))
        from .... import keras
        import numpy
        globs = {"keras": keras, "ops": keras.ops, "np": numpy, "numpy": numpy}
        closure = tuple(types.CellType(v) for v in c["closure"]) if c.get("closure") else None
        defaults = tuple(c["defaults"]) if c.get("defaults") is not None else None
        return types.FunctionType(code, globs, name=code.co_name, argdefs=defaults, closure=closure)
    name = cfg.get("config")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    try:
        return getattr(importlib.import_module(cfg.get("module") or "builtins"), name)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"Lambda: could not find the function {name!r} of module {cfg.get('module')!r}; "
                         "pass it in custom_objects") from e
