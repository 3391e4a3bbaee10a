"""OpLayer: a ``keras.ops`` call on KerasTensors, recorded as a node of the functional graph.

Keras 3 records such a call as an ``Operation`` (``keras.src.ops.numpy.Add``, ...) named after the op;
graphc records it as this layer without weights, one subclass per op with Keras's class name
(:func:`graphc.keras.ops.dispatch._op_class`). Its call replays the op function on the traced
values, so the model lowers it like any layer. ``Functional.layers`` leaves it out and
``Functional.operations`` / ``summary()`` list it, as Keras does.
"""
from __future__ import annotations

from ...errors import SerializationError
from ..engine.layer import Layer


class OpLayer(Layer):
    op_name = ""
    is_operation = True

    def __init__(self, fn, name=None):
        super().__init__(name=name)
        self.fn = fn
        self.built = True

    @classmethod
    def _call_accepts(cls, name):
        return False  # no `training` argument: the op function gets exactly the recorded arguments

    def call(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def get_config(self):
        raise SerializationError(
            f"Model node {self.name!r} is the keras.ops.{self.op_name} function applied to KerasTensors; graphc "
            "cannot serialize keras.ops nodes yet. Wrap the computation in a Lambda layer (or a custom layer) to "
            "save the model, or use save_weights")
