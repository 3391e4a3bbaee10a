"""Reverse-mode automatic differentiation of an IR graph into IR ops.

Requires: a typed graph, a scalar ``loss`` value and the values to differentiate with respect
to (``wrt``, usually params). Guarantees: returns {value: gradient value} for every value of
``wrt`` the loss depends on (others map to None); the gradient ops are added to the same graph
(each gradient has the type of its value); the forward ops keep their outputs' values (a rule may
give its forward op an extra output for its gradient op to read, e.g. the recurrent ops' tape).

The pass is micrograd's loop over the registry: visit ops in reverse topological order, ask
each op's ``OpDef.grad(ctx, op, dys)`` for its inputs' gradients (as new IR ops), and sum the
gradients of values with several consumers.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from ..errors import UnsupportedOpError
from ..ir import CONST, GraphBuilder, TensorType
from ..ops import registry


class GradContext:
    """What a gradient rule sees: the op's inputs/outputs and a builder to emit ops with."""

    def __init__(self, b: GraphBuilder, op, needs):
        self.b, self.g, self.op = b, b.g, op
        self.inputs = b.g.op_inputs(op)
        self.outputs = b.g.op_outputs(op)
        self.needs = needs  # per input slot: does the loss need its gradient?

    def type(self, v) -> TensorType:
        return self.g.value(v).type

    def emit(self, op_type, inputs, n_out=1, domain="", **attrs):
        return self.b.op(op_type, inputs, n_out=n_out, domain=domain, name=f"grad_{self.op.name}_{op_type.lower()}",
                         **attrs)

    def const(self, array, dtype=None):
        return self.b.const(np.asarray(array, dtype=dtype), name=f"grad_{self.op.name}_c")

    def ints(self, values):
        return self.const(np.asarray(values, dtype=np.int64))

    def unbroadcast(self, grad, like):
        """Sum ``grad`` over the axes along which ``like``'s value was broadcast (TVM's _fit_shape)."""
        return unbroadcast(self, grad, self.type(like))


def unbroadcast(ctx, grad, target: TensorType):
    gt = ctx.type(grad)
    if gt.shape == target.shape:
        return grad
    lead = gt.rank - target.rank
    if lead > 0:
        grad = ctx.emit("ReduceSum", [grad, ctx.ints(list(range(lead)))], keepdims=0)
    axes = [a for a, (d, t) in enumerate(zip(ctx.type(grad).shape, target.shape)) if t == 1 and d != 1]
    if axes:
        grad = ctx.emit("ReduceSum", [grad, ctx.ints(axes)], keepdims=1)
    if ctx.type(grad).shape != target.shape:  # e.g. symbolic vs concrete 1: reshape to the exact target
        grad = ctx.emit("Reshape", [grad, ctx.ints([0 if isinstance(d, str) else d for d in target.shape])])
    return grad


def _accumulate(b, parts):
    if len(parts) == 1:
        return parts[0]
    return b.op("Sum", parts, name="grad_sum")


def autodiff(g, loss: str, wrt: list[str], seed: str | None = None) -> dict[str, str | None]:
    """Add the gradient of ``loss`` w.r.t. each value in ``wrt`` to ``g``; returns {value: grad}.

    ``seed`` is the incoming gradient of ``loss`` (default: ones of the loss's type).
    """
    b = GraphBuilder(g)
    wrt_set = set(wrt)
    need = set(wrt_set)  # values whose gradient is needed: descendants of wrt and ancestors of loss
    for v in wrt:
        need |= nx.descendants(g.nx, v)
    need &= nx.ancestors(g.nx, loss) | {loss}
    lt = g.value(loss).type
    grads: dict[str, list[str]] = {loss: [seed if seed is not None else b.const(np.ones(lt.shape, lt.dtype), "grad_seed")]}
    forward = [op for op in g.ops() if op.name in need]
    for op in reversed(forward):
        outs = g.op_outputs(op)
        dys = [_accumulate(b, grads[o]) if o in grads else None for o in outs]
        for o, d in zip(outs, dys):
            if d is not None:
                grads[o] = [d]
        if all(d is None for d in dys):
            continue
        ins = g.op_inputs(op)
        needs = [v is not None and v in need and g.value(v).role != CONST and g.value(v).type.dtype in ("float32", "float64")
                 for v in ins]
        if not any(needs):
            continue
        opdef = registry.get(op.op_type, op.domain)
        if opdef.grad is None:
            raise UnsupportedOpError(f"op {op.name!r} ({op.op_type}) has no gradient rule, but the loss depends on "
                                     f"its inputs {[v for v, n in zip(ins, needs) if n]}")
        dxs = opdef.grad(GradContext(b, op, needs), op, dys)
        for v, n, dx in zip(ins, needs, list(dxs) + [None] * (len(ins) - len(dxs))):
            if n and dx is not None:
                grads.setdefault(v, []).append(dx)
    return {v: (_accumulate(b, grads[v]) if v in grads else None) for v in wrt}
