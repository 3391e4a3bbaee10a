"""KerasTensor: a symbolic tensor of the functional API (shape with None, dtype, history)."""
from __future__ import annotations


class KerasTensor:
    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.name = name
        self._history = history  # (layer, node_index, tensor_index) of the call that made it

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __len__(self):
        raise TypeError("KerasTensor has no len(); its shape is " + str(self.shape))

    def __bool__(self):
        raise TypeError("A symbolic KerasTensor cannot be used as a Python bool")

    # functional arithmetic records merge layers, as Keras does with TFOpLambda
    def _binary(self, other, cls):
        from ..layers import merging
        return getattr(merging, cls)()([self, other])

    def __add__(self, o): return self._binary(o, "Add")
    def __sub__(self, o): return self._binary(o, "Subtract")
    def __mul__(self, o): return self._binary(o, "Multiply")
