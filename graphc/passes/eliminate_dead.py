"""Dead-code elimination.

Requires: nothing. Guarantees: every op contributes to a graph output or to an aliased
update (training graphs), every const/intermediate value is used or produced for such an op.
Params, states and inputs are kept even when unused (they are part of the interface).
"""
import networkx as nx

from ..ir import CONST, INTERMEDIATE


def eliminate_dead(g):
    roots = set(g.outputs) | set(g.aliases)
    live = set(roots)
    for r in roots:
        live |= nx.ancestors(g.nx, r)
    for n, d in list(g.nx.nodes(data=True)):
        if n in live:
            continue
        if d["kind"] == "op":
            # keep ops with some live output; drop the rest
            g.remove_op(n)
    for n, d in list(g.nx.nodes(data=True)):
        if d["kind"] == "value" and n not in live and d["obj"].role in (CONST, INTERMEDIATE) \
                and g.nx.in_degree(n) == 0 and g.nx.out_degree(n) == 0:
            g.remove_value(n)
    return g
