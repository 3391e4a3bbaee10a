"""Export: a model's inference graph as a standard ONNX model (opset ``graphc.ir.OPSET``).

The exported graph is the lowered inference graph after shape inference, constant folding,
dead-code elimination and the layout pass, all of which keep standard ONNX ops; loop fusion
makes graphc-domain ops and is not applied. Params and states become initializers; symbolic
dimensions become ``dim_param``s (the batch is "N"), so any batch size runs.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .. import __version__
from ..errors import UnsupportedOpError
from ..io import atomic_write
from ..ir import OPSET, Graph, onnx_dtype


def _value_info(name, t):
    dims = [d if isinstance(d, str) else int(d) for d in t.shape]
    return helper.make_tensor_value_info(name, onnx_dtype(t.dtype), dims)


def _attr_value(v):
    if isinstance(v, tuple):
        return list(v)
    return v


def to_model_proto(model_or_graph, opset=OPSET, optimize=False) -> onnx.ModelProto:
    """The ModelProto of a Keras model's (or a graph's) inference graph.

    ``optimize=True`` runs graphc's standard-preserving passes first (constant folding, dead-code
    elimination, the layout pass); loop fusion is never exported (its ops are graphc's own).
    """
    from ..passes import infer_shapes, pipeline

    if opset != OPSET:
        raise UnsupportedOpError(f"graphc exports opset {OPSET}; opset={opset} was requested")
    g = model_or_graph if isinstance(model_or_graph, Graph) else model_or_graph._lower_inference()
    g = pipeline.run(g, pipeline.UNFUSED if optimize else [infer_shapes])
    if g.aliases:
        raise UnsupportedOpError(f"cannot export a graph that updates buffers in place ({sorted(set(g.aliases.values()))}"
                                 ", e.g. a stateful RNN's states): ONNX models have no persistent state")
    foreign = sorted({f"{op.domain}.{op.op_type}" for op in g.ops() if op.domain})
    if foreign:
        raise UnsupportedOpError(f"cannot export graphc-domain ops {foreign} to standard ONNX")
    nodes = []
    for op in g.ops():
        attrs = {k: _attr_value(v) for k, v in op.attrs.items() if v is not None}
        nodes.append(helper.make_node(op.op_type, [v or "" for v in g.op_inputs(op)], g.op_outputs(op),
                                      name=op.name, **attrs))
    inits = []
    for role in ("param", "state", "const"):
        for v in sorted(g.values(role), key=lambda v: v.name):
            inits.append(numpy_helper.from_array(np.ascontiguousarray(v.data), v.name))
    graph = helper.make_graph(nodes, g.name, [_value_info(n, g.value(n).type) for n in g.inputs],
                              [_value_info(n, g.value(n).type) for n in g.outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="graphc", producer_version=__version__)
    model.ir_version = min(model.ir_version, 10)  # readable by current onnxruntime releases
    return model


def export(model_or_graph, path, opset=OPSET, optimize=False):
    """Write ``model_or_graph`` to ``path`` as ONNX (atomically); returns the ModelProto."""
    model = to_model_proto(model_or_graph, opset=opset, optimize=optimize)
    onnx.checker.check_model(model)
    with atomic_write(path) as f:
        f.write(model.SerializeToString())
    return model
