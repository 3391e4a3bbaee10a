from __future__ import annotations

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
        self.supports_masking = mask is not None

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

    def get_config(self):
        cfg = {**super().get_config(), "function": self.function, "arguments": self.arguments}
        if self._output_shape is not None:
            cfg["output_shape"] = self._output_shape
        return cfg
