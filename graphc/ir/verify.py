"""Structural and type invariants of an IR graph."""
import networkx as nx

from ..errors import GraphError
from .graph import INTERMEDIATE, SOURCE_ROLES


def verify(g):
    """Raise GraphError naming the first offending node; return None when the graph is sound.

    Checks: bipartite edges, one producer per value (none for sources), every intermediate
    produced, acyclic, op types registered, arity within the schema, outputs and inputs exist,
    aliases map updated values onto params/states of the same type.
    """
    from ..ops import registry

    if not nx.is_directed_acyclic_graph(g.nx):
        raise GraphError(f"graph {g.name!r} has a cycle: {nx.find_cycle(g.nx)}")
    for n, d in g.nx.nodes(data=True):
        if d["kind"] == "value":
            v = d["obj"]
            producers = list(g.nx.predecessors(n))
            if v.role in SOURCE_ROLES and producers:
                raise GraphError(f"{v.role} value {n!r} must not have a producer, but op {producers[0]!r} writes it")
            if v.role == INTERMEDIATE and len(producers) != 1:
                raise GraphError(f"value {n!r} must have exactly one producer, has {len(producers)}")
            for _, o in g.nx.out_edges(n):
                if g.nx.nodes[o]["kind"] != "op":
                    raise GraphError(f"edge {n!r} -> {o!r} joins two values")
        else:
            op = d["obj"]
            opdef = registry.get(op.op_type, op.domain)
            ins, outs = g.op_inputs(op), g.op_outputs(op)
            if len(outs) < 1 or len(set(outs)) != len(outs):
                raise GraphError(f"op {n!r} ({op.op_type}) has bad outputs {outs}")
            lo, hi = opdef.num_inputs
            if not (lo <= len(ins) <= hi) or any(ins[i] is None for i in range(lo)):
                raise GraphError(f"op {n!r} ({op.op_type}) expects {lo}..{hi} inputs, has {ins}")
    for v in g.inputs + g.outputs:
        if v not in g.nx:
            raise GraphError(f"graph {g.name!r} names {v!r} as input/output but has no such value")
    for new, old in g.aliases.items():
        if new not in g.nx or old not in g.nx or g.value(old).role not in ("param", "state"):
            raise GraphError(f"alias {new!r} -> {old!r} must map a value onto a param or state")
