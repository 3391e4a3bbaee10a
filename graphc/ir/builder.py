"""GraphBuilder: the one way front ends and passes add ops; types are inferred as ops are added."""
from __future__ import annotations

import numpy as np

from .graph import CONST, INPUT, PARAM, STATE, Graph
from .types import TensorType, dtype_name


class GraphBuilder:
    """``b.op("Gemm", [x, w, bias], transB=1)`` adds an op and returns its output value name(s)."""

    def __init__(self, graph: Graph | None = None, name: str = "graph"):
        self.g = graph if graph is not None else Graph(name)
        self.scope: dict = {}  # meta attached to new ops (e.g. {"layer": "dense"})

    def input(self, name, dtype, shape) -> str:
        return self.g.add_value(name, TensorType(dtype, shape), INPUT).name

    def param(self, name, dtype, shape, trainable=True, **meta) -> str:
        return self.g.add_value(name, TensorType(dtype, shape), PARAM if trainable else STATE, **meta).name

    def const(self, array, name="const", dtype=None) -> str:
        a = np.asarray(array, dtype=dtype)
        if dtype is None and isinstance(array, (float, list, tuple)) and not isinstance(array, np.generic) \
                and a.dtype == np.float64:
            a = a.astype(np.float32)  # Python floats follow floatx; numpy values keep their dtype
        return self.g.add_value(name, TensorType(dtype_name(a.dtype), a.shape), CONST, data=a).name

    def op(self, op_type, inputs, n_out=1, name=None, domain="", out_names=None, **attrs):
        from ..ops import registry

        opdef = registry.get(op_type, domain)
        base = name or op_type.lower()
        outs = [self.g.add_value(out_names[i] if out_names else (base if n_out == 1 else f"{base}_out{i}")).name
                for i in range(n_out)]
        op = self.g.add_op(op_type, list(inputs), outs, opdef.full_attrs(attrs), name=base, domain=domain, **self.scope)
        in_types = [None if v is None else self.g.value(v).type for v in inputs]
        for v, t in zip(outs, opdef.infer_types(op, in_types, self.g)):
            self.g.value(v).type = t
        return outs[0] if n_out == 1 else outs

    def output(self, *names):
        self.g.outputs.extend(names)

    def type(self, v) -> TensorType:
        return self.g.value(v).type
