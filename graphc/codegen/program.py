"""Build one LLVM module for a graph: a kernel per op, ``gc_prologue`` and ``gc_program``.

``void gc_program(ptr table, ptr dims)``: ``table`` holds one pointer per buffer, in the
order of :func:`buffer_plan`; ``dims`` the run-time sizes of the symbolic dimensions in the
order of ``Graph.symbols()``. Running a whole graph is one native call.

``void gc_prologue(ptr table, ptr dims)`` computes the *hoisted* ops (:func:`hoisted_ops`): in a
graph without in-place updates, ops that read only weights (params, states, consts), such as a
kernel's layout Transpose or a folded BatchNormalization scale. Their results are ``cached``
buffers that persist between calls; the runtime reruns the prologue only after weights change.
"""
from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from ..errors import GraphError, UnsupportedOpError
from ..ir import TensorType
from ..ops import registry
from ..ops.registry import BROADCAST, ELEMWISE
from .kernel import PTR, KernelContext
from .kernels.elementwise import emit_elementwise
from .loops import I64, const

PROGRAM = "gc_program"
# kernels whose tensors are all static and at most this large are compiled for size
SMALL_KERNEL_ELEMENTS = 1 << 16
PROLOGUE = "gc_prologue"


@dataclass(frozen=True)
class Buffer:
    name: str
    kind: str  # input | output | param | state | const | cached | temp | workspace
    type: TensorType


def schedule(g) -> list:
    """Ops in execution order. An update (a value aliased onto a param/state buffer, see
    ``Graph.aliases``) overwrites that buffer, so every other reader of the old value runs first."""
    if not g.aliases:
        return g.ops()
    import networkx as nx
    order = {n: i for i, n in enumerate(g.nx.nodes)}
    deps = g.nx.copy()
    for new, old in g.aliases.items():
        writer = g.producer(new)
        if writer is None:
            continue
        before = nx.ancestors(g.nx, writer.name)
        for reader in g.consumers(old):
            if reader.name != writer.name and reader.name not in before:
                deps.add_edge(reader.name, writer.name)
    try:
        topo = list(nx.lexicographical_topological_sort(deps, key=lambda n: order[n]))
    except nx.NetworkXUnfeasible:
        raise GraphError("an in-place update is read after it overwrites its buffer (cyclic update order)") from None
    return [g.op(n) for n in topo if g.nx.nodes[n]["kind"] == "op"]


def hoisted_ops(g, order=None) -> set:
    """Names of the ops that read weights only (transitively) and can run once per weight change.

    None in a graph with in-place updates (a train step changes its weights every call), and
    never an op that writes a graph output (outputs are fresh per call)."""
    if g.aliases:
        return set()
    outputs, done = set(g.outputs), set()
    weight_only = {v.name for v in g.values() if v.role in ("param", "state", "const")}
    for op in schedule(g) if order is None else order:
        ins = [v for v in g.op_inputs(op) if v is not None]
        outs = g.op_outputs(op)
        if ins and all(v in weight_only for v in ins) and not outputs.intersection(outs):
            done.add(op.name)
            weight_only.update(outs)
    return done


def buffer_plan(g, order=None) -> list[Buffer]:
    """Every buffer the program touches, in table order (deterministic for a given graph).

    Updated values (``g.aliases``) have no buffer of their own: they live in their param's/state's.
    """
    plan, seen = [], set(g.aliases)

    def add(name, kind, t):
        if name not in seen:
            seen.add(name)
            plan.append(Buffer(name, kind, t))

    for n in g.inputs:
        add(n, "input", g.value(n).type)
    for n in g.outputs:
        v = g.value(n)
        add(n, "output" if v.role == "intermediate" else v.role, v.type)
    order = schedule(g) if order is None else order
    first_use = {}
    for op in order:
        for v in g.op_inputs(op):
            if v is not None:
                first_use.setdefault(v, len(first_use))
    for role in ("param", "state", "const"):
        # by first use, not by name, so that the code (and the disk-cache entry, see cache.canonical_text)
        # is the same for a model whose auto-generated layer names differ; unused ones last
        for v in sorted(g.values(role), key=lambda v: (v.name not in first_use, first_use.get(v.name, 0),
                                                      str(v.type), v.name)):
            add(v.name, role, v.type)
    hoisted = hoisted_ops(g, order)
    for op in order:
        for n in g.op_outputs(op):
            add(n, "cached" if op.name in hoisted else "temp", g.value(n).type)
        opdef = registry.get(op.op_type, op.domain)
        in_types = [g.value(v).type if v else None for v in g.op_inputs(op)]
        for i, t in enumerate(opdef.workspace(op, in_types)):
            add(f"{op.name}#ws{i}", "workspace", t)
    return plan


def _kernel_key(g, op):
    ins = tuple(str(g.value(v).type) if v else None for v in g.op_inputs(op))
    outs = tuple(str(g.value(v).type) for v in g.op_outputs(op))
    return (op.domain, op.op_type, repr(sorted(op.attrs.items())), ins, outs)


def build_module(g, triple: str, data_layout: str) -> ir.Module:
    mod = ir.Module(name=g.name)
    mod.triple, mod.data_layout = triple, data_layout
    sym_index = {s: i for i, s in enumerate(g.symbols())}
    order = schedule(g)
    plan = buffer_plan(g, order)
    slot = {b.name: i for i, b in enumerate(plan)}
    slot.update({new: slot[old] for new, old in g.aliases.items()})

    hoisted = hoisted_ops(g, order)
    builders = {}
    for fname in (PROLOGUE, PROGRAM):
        fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [PTR, PTR]), fname)
        fn.args[0].add_attribute("noalias")
        builders[fname] = (ir.IRBuilder(fn.append_basic_block("entry")), fn.args)
    kernels = {}
    for op in order:
        pb, (table, dims) = builders[PROLOGUE if op.name in hoisted else PROGRAM]
        ins = [v for v in g.op_inputs(op)]
        outs = g.op_outputs(op)
        in_place = any(o in g.aliases and g.aliases[o] in ins for o in outs)
        key = _kernel_key(g, op) + (in_place,)
        if key not in kernels:
            kernels[key] = _emit_kernel(mod, g, op, f"k{len(kernels)}_{op.op_type}", sym_index, in_place)
        fn, n_ws = kernels[key]
        names = [v for v in ins if v is not None] + outs + [f"{op.name}#ws{i}" for i in range(n_ws)]
        args = [dims] + [pb.load(pb.gep(table, [const(slot[n])], source_etype=PTR), typ=PTR) for n in names]
        pb.call(fn, args)
    for pb, _ in builders.values():
        pb.ret_void()
    return mod


def _emit_kernel(mod, g, op, fname, sym_index, in_place=False):
    opdef = registry.get(op.op_type, op.domain)
    ins = [v for v in g.op_inputs(op) if v is not None]
    in_types = [g.value(v).type for v in ins]
    out_types = [g.value(v).type for v in g.op_outputs(op)]
    all_in = [g.value(v).type if v else None for v in g.op_inputs(op)]
    ws_types = opdef.workspace(op, all_in)
    for t in in_types + out_types:
        if t.dtype not in opdef.dtypes:
            raise UnsupportedOpError(
                f"op {op.name!r} ({op.op_type}): no kernel for dtype {t.dtype}; supported: {list(opdef.dtypes)}")
    n_ptr = len(in_types) + len(out_types) + len(ws_types)
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [PTR] * (1 + n_ptr)), fname)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    if not in_place:
        # Each kernel is optimized on its own instead of inlined into gc_program: LLVM's time grows
        # faster than linearly in the size of one function (CNN train step: 2.1 s -> 1.5 s in opt +
        # codegen) and the call costs nothing next to a kernel's loop. In-place updates stay inlinable:
        # there the caller shows that the output and input pointers are the same table entry, so the
        # loop vectorizer drops its overlap check (not inlined, the Adam update ran scalar: +30 % mlp1).
        fn.attributes.add("noinline")
    if in_place and opdef.pattern not in (ELEMWISE, BROADCAST):
        raise GraphError(f"op {op.name!r} ({op.op_type}) writes its output over its own input; only elementwise "
                         "ops may update a buffer in place (the training builder inserts a copy otherwise)")
    if all(t.is_static for t in in_types + out_types) and \
            max((t.numel() for t in in_types + out_types), default=0) <= SMALL_KERNEL_ELEMENTS:
        # a fixed, small amount of work (a weight gradient's layout transpose, a bias reduction): LLVM's
        # unrolling and vectorization of its constant-trip loops only cost compile time
        fn.attributes.add("optsize")
    for a in fn.args[1:] if not in_place else ():  # an in-place update reads and writes one buffer
        a.add_attribute("noalias")
    k = KernelContext(mod, fn, op, in_types, out_types, ws_types, sym_index, [v is not None for v in g.op_inputs(op)])
    if opdef.emit is not None:
        opdef.emit(k, op)
    elif opdef.scalar is not None:
        emit_elementwise(k, op, lambda s, *xs: opdef.scalar(s, op, *xs))
    else:
        raise UnsupportedOpError(f"op {op.name!r} ({op.op_type}) has no kernel emitter")
    return fn, len(ws_types)



