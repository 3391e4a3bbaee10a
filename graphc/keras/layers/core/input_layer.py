from __future__ import annotations

from ... import config
from ...engine.keras_tensor import KerasTensor
from ...engine.layer import Layer
from ...engine.node import Node


class InputLayer(Layer):
    """The layer behind ``keras.Input``: a graph input of shape ``batch_shape``."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, input_tensor=None,
                 optional=False, name=None, ragged=None, **kwargs):
        if ragged:
            raise NotImplementedError("InputLayer(ragged=True) is not supported by graphc")
        if "input_shape" in kwargs and shape is None:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs and batch_shape is None:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.optional = bool(optional)
        if batch_shape is None:
            if shape is None:
                raise ValueError("You must pass a `shape` argument to Input (or `batch_shape`).")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size,) + shape
        elif shape is not None:
            raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.dtype = dtype or config.floatx()
        self.sparse = bool(sparse)
        self.built = True
        self._output = KerasTensor(self.batch_shape, self.dtype, name=self.name)
        Node(self, (), {}, self._output)

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "sparse": self.sparse, "ragged": False,
                "name": self.name, "optional": bool(getattr(self, "optional", False))}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """A symbolic input of the functional API: ``keras.Input(shape=(784,))``."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, input_tensor=tensor, optional=optional)
    return layer._output
