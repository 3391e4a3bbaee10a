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

    # functional arithmetic records keras.ops nodes, as Keras 3's KerasTensor operators do
    def _op(self, name, *args):
        from .. import ops
        return getattr(ops, name)(*args)

    def __add__(self, o): return self._op("add", self, o)
    def __radd__(self, o): return self._op("add", o, self)
    def __sub__(self, o): return self._op("subtract", self, o)
    def __rsub__(self, o): return self._op("subtract", o, self)
    def __mul__(self, o): return self._op("multiply", self, o)
    def __rmul__(self, o): return self._op("multiply", o, self)
    def __truediv__(self, o): return self._op("true_divide", self, o)  # Keras 3's operator, named true_divide
    def __rtruediv__(self, o): return self._op("true_divide", o, self)
    def __matmul__(self, o): return self._op("matmul", self, o)
    def __rmatmul__(self, o): return self._op("matmul", o, self)
    def __pow__(self, o): return self._op("power", self, o)
    def __neg__(self): return self._op("negative", self)
    def __abs__(self): return self._op("abs", self)
    def __getitem__(self, key): return self._op("get_item", self, key)  # Keras 3: ops.get_item

    @property
    def T(self):  # noqa: N802  (Keras's name)
        return self._op("transpose", self)
