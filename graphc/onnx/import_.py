"""Import: an ONNX ModelProto -> graphc IR graph (``graphc.onnx.model`` wraps it as a Keras model).

Older opsets are converted to graphc's opset with ``onnx.version_converter``; local functions
(PyTorch's newer exporter emits them) are inlined. Every unsupported op is named in ONE error
with its node, opset and the supported list. Initializers become params when they are floats
(trainable weights), consts otherwise (shapes, axes, indices).
"""
from __future__ import annotations

import os

import numpy as np
import onnx
import onnx.inliner
import onnx.version_converter
from onnx import numpy_helper

from ..errors import SerializationError, UnsupportedOpError
from ..ir import OPSET, Graph, GraphBuilder, TensorType, dtype_name, np_dtype
from ..ops import registry


def _read(path_or_proto) -> onnx.ModelProto:
    if isinstance(path_or_proto, onnx.ModelProto):
        return path_or_proto
    path = os.fspath(path_or_proto)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SerializationError(f"cannot read ONNX file {path!r}: {e}") from e
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # protobuf raises DecodeError (and friends) on corrupt bytes
        raise SerializationError(f"{path!r} is not a valid ONNX model (protobuf parse failed: {e})") from None
    if not model.graph.node and not model.graph.output:
        raise SerializationError(f"{path!r} is not a valid ONNX model: it has no graph")
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise SerializationError(f"{path!r}: initializer {t.name!r} uses external data, which graphc does "
                                     "not load; save the model with all tensors inside the file")
    return model


def _opset(model) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), OPSET)


def _check_newer_nodes(nodes, version, where=""):
    """A model of a newer opset runs at OPSET when each node's op exists at OPSET and sets only
    attributes OPSET's schema has (ops 19+ mostly add element types); otherwise name what is new."""
    for i, n in enumerate(nodes):
        if n.domain not in ("", "ai.onnx"):
            continue
        node = f"{where}node {n.name or i!r} ({n.op_type})"
        try:
            schema = onnx.defs.get_schema(n.op_type, OPSET, "")
        except onnx.defs.SchemaError:
            raise UnsupportedOpError(f"{node}: op {n.op_type} of opset {version} does not exist at graphc's opset "
                                     f"{OPSET}") from None
        newer = onnx.defs.get_schema(n.op_type, version, "").attributes
        for a in n.attribute:
            if a.name not in schema.attributes and a.name in newer and newer[a.name].default_value.name and \
                    onnx.helper.get_attribute_value(newer[a.name].default_value) == onnx.helper.get_attribute_value(a):
                continue  # a newer attribute set to its default: the opset-18 behaviour
            if a.name not in schema.attributes:
                raise UnsupportedOpError(f"{node}: attribute {a.name!r} of {n.op_type} (opset {version}) is not "
                                         f"supported: graphc implements {n.op_type} as of opset {OPSET}, which "
                                         f"has attributes {sorted(schema.attributes)}")
            if a.type == onnx.AttributeProto.GRAPH:
                _check_newer_nodes(a.g.node, version, f"{node} subgraph: ")


def _drop_default_attributes(nodes):
    """Remove attributes OPSET's schema lacks (``_check_newer_nodes`` allowed only defaults)."""
    for n in nodes:
        if n.domain not in ("", "ai.onnx"):
            continue
        known = onnx.defs.get_schema(n.op_type, OPSET, "").attributes
        keep = [a for a in n.attribute if a.name in known]
        if len(keep) != len(n.attribute):
            del n.attribute[:]
            n.attribute.extend(keep)
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                _drop_default_attributes(a.g.node)


def _normalize(model: onnx.ModelProto) -> onnx.ModelProto:
    """Inline local functions and bring the model to graphc's opset.

    Older opsets go through ``onnx.version_converter`` (its failure is a clear error), which rewrites older
    attribute forms (Unsqueeze/Squeeze/Reduce* axes and Pad's pads as attributes, Clip's min/max,
    BatchNormalization's spatial, ...) into opset-18 inputs. Newer opsets are accepted node by node
    (see ``_check_newer_nodes``).
    """
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    version = _opset(model)
    if version < 1:
        raise UnsupportedOpError(f"ONNX opset {version} is not a valid opset version (expected 1 or newer)")
    if version > OPSET:
        _check_newer_nodes(model.graph.node, version)
        model = onnx.ModelProto.FromString(model.SerializeToString())
        _drop_default_attributes(model.graph.node)
        for o in model.opset_import:
            if o.domain in ("", "ai.onnx"):
                o.version = OPSET
    elif version != OPSET:
        try:
            model = onnx.version_converter.convert_version(model, OPSET)
        except Exception as e:
            raise UnsupportedOpError(f"cannot convert the model from opset {version} to {OPSET}: {e}") from None
    return model


def _type(vi) -> TensorType:
    t = vi.type.tensor_type
    dims = []
    for i, d in enumerate(t.shape.dim):
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or f"{vi.name}_d{i}"))
    return TensorType(dtype_name(t.elem_type), dims)


def graph_from_onnx(path_or_proto, bind=None) -> Graph:
    """The IR graph of an ONNX model. ``bind`` ({graph input name: array}) turns graph inputs into
    consts (the backend binds run-time shape/axes inputs this way). Ops whose results are known at
    import (all inputs consts, or Shape of a static tensor) are folded as they are added, so shapes
    computed by Shape/Gather/Concat chains are constants for the ops that need them."""
    from ..passes.fold_constants import fold_op

    bind = dict(bind or {})
    model = _read(path_or_proto)
    version = _opset(model)
    model = _normalize(model)
    g = model.graph
    missing = [f"{n.name or n.op_type} ({n.domain + '.' if n.domain else ''}{n.op_type})" for n in g.node
               if not registry.has(n.op_type, "" if n.domain == "ai.onnx" else n.domain)]
    if missing:
        raise UnsupportedOpError(f"the model (opset {version}, imported at graphc's opset {OPSET}) uses ops graphc "
                                 f"does not support: {missing}. "
                                 f"Supported: {sorted(t for (d, t) in registry.all_ops() if not d)}")
    b = GraphBuilder(name=g.name or "onnx_model")
    renames = {}
    init_names = {t.name for t in g.initializer}
    for vi in g.input:
        if vi.name in bind and vi.name not in init_names:
            renames[vi.name] = b.const(np.asarray(bind.pop(vi.name), dtype=np_dtype(_type(vi).dtype)), name=vi.name)
        elif vi.name not in init_names:
            renames[vi.name] = b.input(vi.name, _type(vi).dtype, _type(vi).shape)
    if bind:
        raise SerializationError(f"cannot bind {sorted(bind)}: not graph inputs of the model "
                                 f"({[vi.name for vi in g.input if vi.name not in init_names]})")
    for t in g.initializer:
        try:
            arr = numpy_helper.to_array(t)
        except Exception as e:  # data that disagrees with its dims or dtype
            where = repr(os.fspath(path_or_proto)) if not isinstance(path_or_proto, onnx.ModelProto) else "the model"
            raise SerializationError(f"{where}: initializer {t.name!r} (dims {list(t.dims)}) cannot be read: {e}") from None
        if arr.dtype.kind == "f":
            v = b.param(t.name, dtype_name(arr.dtype), arr.shape, layer=t.name)
            b.g.value(v).data = np.array(arr, order="C", copy=True)  # writable: training updates it
        else:
            v = b.const(arr, name=t.name)
        renames[t.name] = v
    for i, node in enumerate(g.node):
        attrs = {}
        for a in node.attribute:
            val = onnx.helper.get_attribute_value(a)
            if isinstance(val, onnx.TensorProto):
                val = numpy_helper.to_array(val)  # ops that keep tensors as protos convert back themselves
            elif isinstance(val, bytes):
                val = val.decode()
            elif isinstance(val, list):
                val = [v.decode() if isinstance(v, bytes) else v for v in val]
            attrs[a.name] = val
        where = f"node {node.name or i!r} ({node.op_type})"
        try:
            ins = [renames[x] if x else None for x in node.input]
        except KeyError as e:
            raise SerializationError(f"{where}: input {e.args[0]!r} is not produced by any node, input or "
                                     "initializer") from None
        try:
            outs = b.op(node.op_type, ins, n_out=len(node.output), name=node.name or node.op_type.lower(),
                        out_names=list(node.output), **attrs)
        except UnsupportedOpError as e:
            raise UnsupportedOpError(f"{where}, model opset {version}: {e}") from None
        outs = outs if isinstance(outs, list) else [outs]
        for name, v in zip(node.output, outs):
            renames[name] = v
        fold_op(b.g, b.g.producer(outs[0]))
    for vi in g.output:
        if vi.name not in renames:
            raise SerializationError(f"graph output {vi.name!r} is not produced by any node")
        b.output(renames[vi.name])
    return b.g
