"""OpLayer: a ``keras.ops`` call on KerasTensors, recorded as a node of the functional graph.

Keras 3 records such a call as an ``Operation`` (``keras.src.ops.numpy.Add``, ...) named after the op;
graphc records it as this layer without weights, one subclass per op with Keras's class name
(:func:`graphc.keras.ops.dispatch._op_class`). As in Keras, the node's arguments are the op's tensor
arguments and the other parameters (``axis``, ``keepdims``, ...) are the operation's config, so model
configs move between Keras and graphc. Its call replays the op function on the traced values, so
the model lowers it like any layer. ``Functional.layers`` leaves it out and
``Functional.operations`` / ``summary()`` list it, as Keras does.
"""
from __future__ import annotations

from ..engine.layer import Layer


class OpLayer(Layer):
    op_name = ""
    function = None  # the traced keras.ops function (set per subclass)
    keras_module = "keras.src.ops.numpy"
    is_operation = True

    def __init__(self, attrs=None, name=None, **kwargs):
        super().__init__(name=name)
        self.attrs = dict(attrs or {})
        self.attrs.update(kwargs)  # a Keras config lists the attributes next to the name
        self.built = True

    @classmethod
    def _call_accepts(cls, name):
        return False  # no `training` argument: the op function gets exactly the recorded arguments

    def call(self, *args, **kwargs):
        """The node's arguments are the op's tensor parameters in order; they go by name, since a tensor
        parameter may follow attributes in the signature (``average(x, axis, weights)``). A Keras-saved
        node may pass some parameters as call kwargs (Pad's constant_values)."""
        from .dispatch import fn_tensor_params
        fn = type(self).function
        names = fn_tensor_params(fn)
        attrs = {**self.attrs, **kwargs}
        if len(args) > len(names):
            return fn(*args, **attrs)
        return fn(**dict(zip(names, args)), **attrs)

    def get_config(self):
        return {"name": self.name, **self.attrs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        name = config.pop("name", None)
        import inspect
        params = inspect.signature(cls.function).parameters
        for key in ("dtype", "trainable"):
            if key not in params:  # a layer's dtype policy, not the op's own dtype parameter (Prod, ZerosLike)
                config.pop(key, None)
        return cls(attrs=config, name=name)
