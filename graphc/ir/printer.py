"""Canonical text form of a graph: used by tests, GRAPHC_DEBUG and error messages."""
import numpy as np


def _attr(v):
    if isinstance(v, np.ndarray):
        return f"tensor{list(v.shape)}"
    if isinstance(v, float):
        return repr(round(v, 9))
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_attr(x) for x in v) + "]"
    return repr(v)


def format_op(g, op) -> str:
    outs = ", ".join(f"%{v}: {g.value(v).type}" for v in g.op_outputs(op))
    ins = ", ".join("_" if v is None else f"%{v}" for v in g.op_inputs(op))
    attrs = ", ".join(f"{k}={_attr(v)}" for k, v in sorted(op.attrs.items()))
    dom = f"{op.domain}." if op.domain else ""
    return f"  {outs} = {dom}{op.op_type}({ins})" + (f" {{{attrs}}}" if attrs else "") + f"  # {op.name}"


def format_graph(g) -> str:
    lines = [f"graph {g.name}("]
    lines += [f"    %{n}: {g.value(n).type}," for n in g.inputs]
    lines.append(") {")
    for role in ("param", "state", "const"):
        for v in sorted(g.values(role), key=lambda v: v.name):
            lines.append(f"  {role} %{v.name}: {v.type}")
    lines += [format_op(g, op) for op in g.ops()]
    alias = "".join(f", %{k} -> %{v}" for k, v in sorted(g.aliases.items()))
    lines.append(f"  return {', '.join('%' + v for v in g.outputs)}" + (f"  # updates{alias[1:]}" if alias else ""))
    lines.append("}")
    return "\n".join(lines)
