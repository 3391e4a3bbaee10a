"""The IR graph: a bipartite ``networkx.MultiDiGraph`` of op nodes and value nodes.

A value node holds a :class:`Value` (its type and role); an op node holds an :class:`Op`
(ONNX op type, domain and attributes). Edges run value -> op (an input, ``slot`` = the input
index) and op -> value (an output, ``slot`` = the output index). A value has exactly one
producer: an op, or its role says it comes from outside (input, param, state, const).
Missing optional inputs are simply absent slots.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ..errors import GraphError
from .types import TensorType

# Where a value's contents come from.
INPUT, PARAM, STATE, CONST, INTERMEDIATE = "input", "param", "state", "const", "intermediate"
SOURCE_ROLES = (INPUT, PARAM, STATE, CONST)


@dataclass
class Value:
    name: str
    type: TensorType | None
    role: str = INTERMEDIATE
    data: np.ndarray | None = None  # for const values only (params/states live in the runtime)
    meta: dict = field(default_factory=dict)  # e.g. {"layer": "dense", "weight": "kernel"}


@dataclass
class Op:
    name: str
    op_type: str
    attrs: dict = field(default_factory=dict)
    domain: str = ""
    meta: dict = field(default_factory=dict)  # e.g. {"layer": "dense"}


class Graph:
    """A computation graph with named inputs, outputs, params (trainable), states and consts."""

    def __init__(self, name: str = "graph"):
        self.name = name
        self.nx = nx.MultiDiGraph()
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.aliases: dict[str, str] = {}  # updated value -> the param/state whose buffer it reuses

    # --- construction -------------------------------------------------------------------
    def _fresh(self, name: str) -> str:
        if name not in self.nx:
            return name
        i = 1
        while f"{name}_{i}" in self.nx:
            i += 1
        return f"{name}_{i}"

    def add_value(self, name, type=None, role=INTERMEDIATE, data=None, **meta) -> Value:
        name = self._fresh(name)
        v = Value(name, type, role, data, meta)
        self.nx.add_node(name, kind="value", obj=v)
        if role == INPUT:
            self.inputs.append(name)
        return v

    def add_op(self, op_type, inputs, outputs, attrs=None, name=None, domain="", **meta) -> Op:
        """Add an op reading the named ``inputs`` (None = omitted optional) and producing ``outputs``."""
        name = self._fresh(name or op_type.lower())
        op = Op(name, op_type, dict(attrs or {}), domain, meta)
        self.nx.add_node(name, kind="op", obj=op)
        for slot, v in enumerate(inputs):
            if v is not None:
                self._need_value(v, f"input {slot} of op {name!r}")
                self.nx.add_edge(v, name, slot=slot)
        for slot, v in enumerate(outputs):
            self._need_value(v, f"output {slot} of op {name!r}")
            if self.producer(v) is not None:
                raise GraphError(f"value {v!r} already has producer {self.producer(v).name!r}; op {name!r} cannot also produce it")
            self.nx.add_edge(name, v, slot=slot)
        return op

    def _need_value(self, v, what):
        if v not in self.nx or self.nx.nodes[v]["kind"] != "value":
            raise GraphError(f"{what}: no value named {v!r} in graph {self.name!r}")

    # --- queries ------------------------------------------------------------------------
    def value(self, name) -> Value:
        return self.nx.nodes[name]["obj"]

    def op(self, name) -> Op:
        return self.nx.nodes[name]["obj"]

    def values(self, role=None) -> list[Value]:
        return [d["obj"] for _, d in self.nx.nodes(data=True)
                if d["kind"] == "value" and (role is None or d["obj"].role == role)]

    @property
    def params(self) -> list[str]:
        return [v.name for v in self.values(PARAM)]

    @property
    def states(self) -> list[str]:
        return [v.name for v in self.values(STATE)]

    def op_inputs(self, op) -> list[str | None]:
        name = op if isinstance(op, str) else op.name
        slots = {d["slot"]: u for u, _, d in self.nx.in_edges(name, data=True)}
        return [slots.get(i) for i in range(max(slots) + 1)] if slots else []

    def op_outputs(self, op) -> list[str]:
        name = op if isinstance(op, str) else op.name
        return [v for v, _ in sorted(((v, d["slot"]) for _, v, d in self.nx.out_edges(name, data=True)), key=lambda t: t[1])]

    def producer(self, value) -> Op | None:
        preds = list(self.nx.predecessors(value))
        return self.op(preds[0]) if preds else None

    def consumers(self, value) -> list[Op]:
        return [self.op(o) for o in dict.fromkeys(self.nx.successors(value))]

    def ops(self) -> list[Op]:
        """Ops in a deterministic topological order (ties broken by insertion order)."""
        order = {n: i for i, n in enumerate(self.nx.nodes)}
        topo = nx.lexicographical_topological_sort(self.nx, key=lambda n: order[n])
        return [self.nx.nodes[n]["obj"] for n in topo if self.nx.nodes[n]["kind"] == "op"]

    def symbols(self) -> list[str]:
        """Symbolic dimension names, in order of first appearance over inputs then all values."""
        seen = {}
        for v in [self.value(n) for n in self.inputs] + self.values():
            for d in (v.type.shape if v.type else ()):
                if isinstance(d, str):
                    seen.setdefault(d, None)
        return list(seen)

    # --- editing ------------------------------------------------------------------------
    def remove_op(self, op):
        self.nx.remove_node(op if isinstance(op, str) else op.name)

    def remove_value(self, name):
        self.nx.remove_node(name)
        if name in self.inputs:
            self.inputs.remove(name)

    def replace_uses(self, old, new):
        """Make every consumer of ``old`` (and the graph outputs) read ``new`` instead."""
        for _, o, k, d in list(self.nx.out_edges(old, keys=True, data=True)):
            self.nx.remove_edge(old, o, k)
            self.nx.add_edge(new, o, slot=d["slot"])
        self.outputs = [new if v == old else v for v in self.outputs]

    def adopt(self, old, new):
        """Keep the name ``old`` for a rewrite's result ``new``: ``old`` (whose producer a pass has
        removed) becomes the output of ``new``'s producer, ``new``'s readers read ``old``, and
        ``new`` disappears. Names of rewritten values (graph outputs among them) stay stable."""
        if self.producer(new) is None:  # the rewrite returned a source value (input, param, const)
            self.replace_uses(old, new)
            self.nx.remove_node(old)
            return
        self.replace_uses(new, old)
        for p, _, d in list(self.nx.in_edges(new, data=True)):
            self.nx.add_edge(p, old, slot=d["slot"])
        self.value(old).type = self.value(new).type
        self.nx.remove_node(new)

    def copy(self) -> "Graph":
        g = Graph(self.name)
        g.nx = self.nx.copy()
        for n, d in g.nx.nodes(data=True):  # objects are mutable: copy them too
            o = d["obj"]
            d["obj"] = (Value(o.name, o.type, o.role, o.data, dict(o.meta)) if d["kind"] == "value"
                        else Op(o.name, o.op_type, dict(o.attrs), o.domain, dict(o.meta)))
        g.inputs, g.outputs, g.aliases = list(self.inputs), list(self.outputs), dict(self.aliases)
        return g

    def verify(self):
        from .verify import verify
        verify(self)
        return self

    def __str__(self):
        from .printer import format_graph
        return format_graph(self)
