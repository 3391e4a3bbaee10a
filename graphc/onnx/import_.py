"""Import: an ONNX ModelProto -> graphc IR graph (``graphc.onnx.model`` wraps it as a Keras model).

Older opsets are converted to graphc's opset with ``onnx.version_converter``; local functions
(PyTorch's newer exporter emits them) are inlined. Every unsupported op is named in ONE error
with its node, opset and the supported list. Initializers become params when they are floats
(trainable weights), consts otherwise (shapes, axes, indices).
"""
from __future__ import annotations

import collections
import os

import numpy as np
import onnx
import onnx.inliner
import onnx.version_converter
from onnx import numpy_helper

from ..errors import NotConstantError, SerializationError, UnsupportedOpError
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


def _initializer(b, t, where, trainable=True):
    """An initializer as a graph value: a param when it is a float (a trainable weight), else a const."""
    try:
        arr = numpy_helper.to_array(t)
    except Exception as e:  # data that disagrees with its dims or dtype
        raise SerializationError(f"{where}: initializer {t.name!r} (dims {list(t.dims)}) cannot be read: {e}") from None
    if arr.dtype.kind == "f" and trainable:
        v = b.param(t.name, dtype_name(arr.dtype), arr.shape, layer=t.name)
        b.g.value(v).data = np.array(arr, order="C", copy=True)  # writable: training updates it
        return v
    return b.const(arr, name=t.name)


def _attrs(node):
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
    return attrs


def _all_nodes(nodes):
    for n in nodes:
        yield n
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(a.g.node)


def _setting_initializers(g):
    """Float initializers that are settings, not weights: every node reading them reads them at an
    input ONNX's schema marks non-differentiable (Resize's scales, Clip's bounds, Pad's value) and
    that is no running statistic. They become consts, so ops that need them at compile time see them."""
    uses = collections.defaultdict(list)
    for n in _all_nodes(g.node):
        for slot, x in enumerate(n.input):
            if x:
                uses[x].append((n.op_type, "" if n.domain == "ai.onnx" else n.domain, slot))
    return {name for name, us in uses.items()
            if all(registry.has(t, d) and not registry.trainable_input(t, d, s)
                   and s not in registry.get(t, d).statistic_inputs for t, d, s in us)}


class _Importer:
    """Adds ONNX nodes to a GraphBuilder, folding what is known as it goes. Ops whose registry entry
    has ``expand_at_import`` (Loop, If) are expanded through this object (see ``graphc.ops.control``)."""

    def __init__(self, b, version, where):
        from ..passes.fold_constants import fold_op
        self.b, self.version, self.where, self._fold = b, version, where, fold_op
        self.opset_text = f"model opset {version}"

    def known(self, v, _depth=0):
        """The import-time value of ``v``, else None: consts, shape arithmetic of known ints, and ops
        evaluated (numpy reference) on known inputs, float initializers included -- exporters write
        loop bounds as float initializers (tf2onnx's ``Less(0.0, 6.0)``), and the control values of
        a Loop or If are fixed by the file as written."""
        from ..ops.symbolic import is_known, shape_value
        val = self.b.g.value(v)
        if val.role in ("const", "param") and val.data is not None:
            return np.asarray(val.data)
        arr = shape_value(self.b.g, v)
        if is_known(arr):
            return np.asarray(arr.tolist(), dtype=np_dtype(val.type.dtype))
        op = self.b.g.producer(v)
        if op is None or _depth > 32:
            return None
        ins = [None if x is None else self.known(x, _depth + 1) for x in self.b.g.op_inputs(op)]
        if any(a is None for a, x in zip(ins, self.b.g.op_inputs(op)) if x is not None):
            return None
        try:
            res = registry.run_reference(op, ins)
        except Exception:  # an op whose reference cannot run here: not known
            return None
        return res[self.b.g.op_outputs(op).index(v)]

    def const(self, array, name="const"):
        return self.b.const(array, name=name)

    def op(self, op_type, ins, **attrs):
        out = self.b.op(op_type, ins, **attrs)
        self._fold(self.b.g, self.b.g.producer(out))
        return out

    def add_graph(self, graph, scope, prefix):
        """Add a subgraph (a Loop body, an If branch) reading ``scope`` ({its input: value}) and the outer
        scope; returns the values of its outputs."""
        renames = collections.ChainMap(dict(scope), self.renames)
        outer, self.renames = self.renames, renames
        try:
            for t in graph.initializer:
                renames[t.name] = _initializer(self.b, t, self.where, trainable=False)
            self.add_nodes(graph.node, prefix)
            missing = [o.name for o in graph.output if o.name not in renames]
            if missing:
                raise SerializationError(f"{prefix}: subgraph outputs {missing} are not produced by any node")
            return [renames[o.name] for o in graph.output]
        finally:
            self.renames = outer

    def add_nodes(self, nodes, prefix=""):
        b, renames = self.b, self.renames
        for i, node in enumerate(nodes):
            attrs = _attrs(node)
            name = node.name or node.op_type.lower()
            where = f"node {(prefix + '/' if prefix else '') + (node.name or str(i))!r} ({node.op_type})"
            was = self.origin.get(next((o for o in node.output if o), None))
            if was is not None and was != (node.name, node.op_type):  # the version converter rewrote it
                where += f" (node {was[0]!r} ({was[1]}) in the opset-{self.version} file)"
            try:
                ins = [renames[x] if x else None for x in node.input]
            except KeyError as e:
                raise SerializationError(f"{where}: input {e.args[0]!r} is not produced by any node, input or "
                                         "initializer") from None
            opdef = registry.get(node.op_type, "" if node.domain == "ai.onnx" else node.domain)
            if opdef.legacy_attrs is not None and self.version < OPSET:
                attrs = opdef.legacy_attrs(attrs, self.version)
            try:
                if opdef.expand_at_import is not None:
                    outs = opdef.expand_at_import(self, node, attrs, ins)
                else:
                    outs = b.op(node.op_type, ins, n_out=len(node.output),
                                name=f"{prefix}/{name}" if prefix else name,
                                out_names=[f"{prefix}/{o}" if prefix else o for o in node.output], **attrs)
            except UnsupportedOpError as e:
                raise UnsupportedOpError(f"{where}, model opset {self.version}: {e}") from None
            except NotConstantError as e:
                if opdef.expand_at_import is None:
                    raise
                raise NotConstantError(f"{where}, model opset {self.version}: {e}", e.value) from None
            outs = outs if isinstance(outs, list) else [outs]
            for out_name, v in zip(node.output, outs):
                if out_name:
                    renames[out_name] = v
            if opdef.expand_at_import is None:
                self._fold(b.g, b.g.producer(outs[0]))


def graph_from_onnx(path_or_proto, bind=None) -> Graph:
    """The IR graph of an ONNX model. ``bind`` ({graph input name: array}) turns graph inputs into
    consts (the backend binds run-time shape/axes inputs this way). Ops whose results are known at
    import (all inputs consts, or Shape of a static tensor) are folded as they are added, so shapes
    computed by Shape/Gather/Concat chains are constants for the ops that need them; Loop and If
    whose control values are known this way are unrolled / inlined (``graphc.ops.control``)."""
    bind = dict(bind or {})
    model = _read(path_or_proto)
    version = _opset(model)
    origin = {o: (n.name, n.op_type) for n in model.graph.node for o in n.output if o}
    model = _normalize(model)
    g = model.graph
    missing = list(dict.fromkeys(f"{n.name or n.op_type} ({n.domain + '.' if n.domain else ''}{n.op_type})"
                                 + (f" from node {origin[n.output[0]][0]!r} ({origin[n.output[0]][1]})"
                                    if n.output and n.output[0] in origin and origin[n.output[0]] != (n.name, n.op_type)
                                    else "")
                                 for n in _all_nodes(g.node)
                                 if not registry.has(n.op_type, "" if n.domain == "ai.onnx" else n.domain)))
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
    where = repr(os.fspath(path_or_proto)) if not isinstance(path_or_proto, onnx.ModelProto) else "the model"
    settings = _setting_initializers(g)
    for t in g.initializer:
        renames[t.name] = _initializer(b, t, where, trainable=t.name not in settings)
    imp = _Importer(b, version, where)
    imp.origin = origin
    imp.renames = renames
    imp.add_nodes(g.node)
    for vi in g.output:
        if vi.name not in renames:
            raise SerializationError(f"graph output {vi.name!r} is not produced by any node")
        b.output(renames[vi.name])
    return b.g
