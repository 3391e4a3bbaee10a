"""Control flow at import: ONNX Loop and If are expanded into straight-line ops by the importer.

graphc's programs are straight-line native code, so a Loop becomes its body repeated (unrolled)
and an If becomes the branch it takes. That is possible when the importer knows, at import, how
many iterations run and which branch is taken: tf2onnx writes Keras 3's GRU (and other
``tf.while_loop``s) as a Loop whose trip count is the static sequence length and whose
condition compares the iteration counter with constants, so every condition folds to a
constant as the body is added once per iteration. A trip count or condition that depends on
run-time data is a NotConstantError naming the value (``graphc.onnx.backend`` then compiles once per
value of the graph inputs it depends on), more than ``MAX_UNROLL`` iterations an UnsupportedOpError;
the importer prefixes both with the node, its op type and the model's opset.

The entries' ``expand_at_import(ctx, node, attrs, ins)`` hook is called by ``graphc.onnx.import_`` instead of
adding an op; ``ctx`` adds subgraphs (``ctx.add_graph(graph, {body input: value})`` returns the
value names of the subgraph's outputs), reads import-time values (``ctx.known(v)``: a numpy array
or None) and adds ops (``ctx.op``, ``ctx.const``). Building a Loop or If op any other way is an error.
"""
from __future__ import annotations

import numpy as np

from ..errors import NotConstantError, UnsupportedOpError
from .registry import OpDef, register_op

MAX_UNROLL = 4096


class ImportExpanded(OpDef):
    dtypes = ("float32", "float64", "int64", "int32", "bool")
    num_outputs = (0, 64)

    def infer(self, op, in_types, g):
        raise UnsupportedOpError(f"op {op.name!r} ({op.op_type}): graphc has no {op.op_type} kernel; the ONNX "
                                 f"importer expands {op.op_type} into straight-line ops when its control values "
                                 f"are known at import")


@register_op("Loop")
class Loop(ImportExpanded):
    """Unrolled: inputs (M, cond, v_initial...), body (iter, cond, v...) -> (cond, v..., scan...)."""

    def expand_at_import(self, ctx, node, attrs, ins):
        scope = ctx.b.scope
        ctx.b.scope = {**scope, "unrolled_loop": node.name or "loop"}  # graphc.convert names the Loop
        try:
            return self._unroll(ctx, node, attrs, ins)
        finally:
            ctx.b.scope = scope

    def _unroll(self, ctx, node, attrs, ins):
        body = attrs["body"]
        where = "Loop"  # the importer prefixes the node, its op type and the model's opset
        m_in = ins[0] if ins else None
        c_in = ins[1] if len(ins) > 1 else None
        carried = list(ins[2:])
        n_scan = len(body.output) - 1 - len(carried)
        if n_scan < 0 or len(body.input) != 2 + len(carried):
            raise UnsupportedOpError(f"{where}: the body has {len(body.input)} inputs and {len(body.output)} outputs "
                                     f"for {len(carried)} loop-carried values (expected {2 + len(carried)} inputs)")
        trip = self._known_scalar(ctx, m_in, where, "trip count M")
        cond = True if c_in is None else self._known_scalar(ctx, c_in, where, "initial condition")
        if trip is None and c_in is None:
            raise UnsupportedOpError(f"{where}: an infinite loop (no trip count M and no condition)")
        if m_in is not None and trip is None:
            raise NotConstantError(f"{where}: attribute 'body' cannot be unrolled: the trip count M ({m_in!r}) is "
                                   f"not known at import (it depends on run-time data)", m_in)
        if cond is None:
            raise NotConstantError(f"{where}: attribute 'body' cannot be unrolled: the initial condition "
                                   f"({c_in!r}) is not known at import (it depends on run-time data)", c_in)
        scans = [[] for _ in range(n_scan)]
        i = 0
        while (trip is None or i < trip) and cond:
            if i >= MAX_UNROLL:
                raise UnsupportedOpError(f"{where}: attribute 'body' cannot be unrolled: more than {MAX_UNROLL} "
                                         f"iterations (trip count {trip}); graphc unrolls Loops at import")
            scope = {body.input[0].name: ctx.const(np.array(i, np.int64), "iter"),
                     body.input[1].name: ctx.const(np.array(bool(cond)), "cond")}
            scope.update({vi.name: v for vi, v in zip(body.input[2:], carried)})
            outs = ctx.add_graph(body, scope, f"{node.name or 'loop'}/iter{i}")
            cond = self._known_scalar(ctx, outs[0], where, f"condition after iteration {i}")
            if cond is None:
                if trip is not None and i + 1 >= trip:
                    cond = False  # the trip count ends the loop whatever the condition says
                else:
                    raise NotConstantError(f"{where}: attribute 'body' cannot be unrolled: its condition output "
                                           f"is not known at import (it depends on run-time data)", outs[0])
            carried = outs[1:1 + len(carried)]
            for s, v in zip(scans, outs[1 + len(carried):]):
                s.append(v)
            i += 1
        results = list(carried)
        for k, s in enumerate(scans):
            if not s:
                raise UnsupportedOpError(f"{where}: the loop runs 0 iterations, so scan output {k} is empty; "
                                         f"graphc cannot type an empty scan output")
            axis0 = ctx.const(np.array([0], np.int64), "axes")
            parts = [ctx.op("Unsqueeze", [v, axis0]) for v in s]
            results.append(parts[0] if len(parts) == 1 else ctx.op("Concat", parts, axis=0))
        return results

    @staticmethod
    def _known_scalar(ctx, v, where, what):
        if v is None:
            return None
        arr = ctx.known(v)
        if arr is None:
            return None
        if arr.size != 1:
            raise UnsupportedOpError(f"{where}: the {what} must hold one value, received shape {arr.shape}")
        x = arr.reshape(-1)[0]
        return bool(x) if arr.dtype == np.bool_ else int(x)


@register_op("If")
class If(ImportExpanded):
    """Inlined: the branch the (import-time known) condition selects."""

    def expand_at_import(self, ctx, node, attrs, ins):
        where = "If"
        arr = ctx.known(ins[0])
        if arr is None:
            raise NotConstantError(f"{where}: attributes 'then_branch'/'else_branch' cannot be inlined: the "
                                   f"condition ({ins[0]!r}) is not known at import (it depends on run-time data)",
                                   ins[0])
        if arr.size != 1:
            raise UnsupportedOpError(f"{where}: the condition must hold one value, received shape {arr.shape}")
        branch = attrs["then_branch"] if bool(arr.reshape(-1)[0]) else attrs["else_branch"]
        return ctx.add_graph(branch, {}, f"{node.name or 'if'}/{'then' if bool(arr.reshape(-1)[0]) else 'else'}")
