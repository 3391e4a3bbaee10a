"""Parameter counting: trainable and non-trainable scalars per layer and in total.

Requires: typed params/states whose ``meta["layer"]`` names their layer (front ends set it);
states with ``meta["buffer"]`` (run-time buffers that are not weights) are not counted.
Guarantees: ``g.meta_counts = {"trainable": n, "non_trainable": m, "per_layer": {layer: (t, nt)}}``;
the graph itself is unchanged.
"""
from ..ir import PARAM, STATE


def count_params(g):
    per_layer, total = {}, {"trainable": 0, "non_trainable": 0}
    for role, key, slot in ((PARAM, "trainable", 0), (STATE, "non_trainable", 1)):
        for v in g.values(role):
            if v.meta.get("buffer"):  # a buffer that is no weight (a stateful RNN's states)
                continue
            n = v.type.numel()
            total[key] += n
            layer = v.meta.get("layer", v.name)
            counts = per_layer.setdefault(layer, [0, 0])
            counts[slot] += n
    g.param_counts = {**total, "per_layer": {k: tuple(c) for k, c in per_layer.items()}}
    return g
