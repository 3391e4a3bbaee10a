"""Tensor types of the IR: a dtype and a shape whose dimensions are ints or symbols."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import TensorProto

from ..errors import DTypeError

# dtype name -> (numpy dtype, ONNX TensorProto enum)
DTYPES = {
    "float32": (np.float32, TensorProto.FLOAT),
    "float64": (np.float64, TensorProto.DOUBLE),
    "int64": (np.int64, TensorProto.INT64),
    "int32": (np.int32, TensorProto.INT32),
    "bool": (np.bool_, TensorProto.BOOL),
}
FLOAT_DTYPES = ("float32", "float64")


def dtype_name(dtype) -> str:
    """Canonical dtype name ('float32', ...) from a numpy dtype, a string or an ONNX enum."""
    if isinstance(dtype, (int, np.integer)) and not isinstance(dtype, bool):
        for name, (_, enum) in DTYPES.items():
            if enum == dtype:
                return name
        raise DTypeError(f"unsupported ONNX element type {int(dtype)}; expected one of {list(DTYPES)}")
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise DTypeError(f"unknown dtype {dtype!r}; expected one of {list(DTYPES)}") from None
    if name not in DTYPES:
        raise DTypeError(f"unsupported dtype {name!r}; expected one of {list(DTYPES)}")
    return name


def np_dtype(name: str) -> np.dtype:
    return np.dtype(DTYPES[name][0])


def onnx_dtype(name: str) -> int:
    return DTYPES[name][1]


Dim = int | str  # a static size, or a symbol bound at run time ("N", "T", ...)


@dataclass(frozen=True)
class TensorType:
    """``dtype`` is a canonical name; ``shape`` a tuple of ints and symbol names."""

    dtype: str
    shape: tuple

    def __post_init__(self):
        object.__setattr__(self, "dtype", dtype_name(self.dtype))
        object.__setattr__(self, "shape", tuple(d if isinstance(d, str) else int(d) for d in self.shape))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    def numel(self, bindings: dict | None = None) -> int:
        n = 1
        for d in self.shape:
            n *= bindings[d] if isinstance(d, str) else d
        return n

    def concrete(self, bindings: dict) -> tuple:
        return tuple(bindings[d] if isinstance(d, str) else d for d in self.shape)

    def __str__(self):
        return f"{self.dtype}[{','.join(str(d) for d in self.shape)}]"
