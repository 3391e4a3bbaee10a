"""graphc.MultiFused: many ``graphc.Fused`` loops of the same program in ONE kernel (multi-tensor apply).

Made by passes/fuse_updates from the optimizer's per-parameter updates: every parameter's
update (gradient, slots, parameter -> new slots, new parameter) is the same Fused body applied
to different tensors. ``groups`` lists ``(body, outputs, dtype, n_in, count)``: ``count`` members
run ``body`` (a Fused program, see ops/fused.py), each reading ``n_in`` inputs and writing
``len(outputs)`` outputs. The op's inputs are every member's inputs in order (group by group),
its outputs every member's outputs. Within a member every input has the member's output shape
or one element (a scalar such as the learning rate).

The kernel builds a table of the members' pointers and sizes and runs one loop over it per
group: the body is emitted once per group, not once per tensor. The inner loop reads and writes
element i only (an in-place update, ``Graph.aliases``, reads each element before writing it),
with unit strides, so LLVM's loop vectorizer widens it.
"""
from __future__ import annotations

from llvmlite import ir

from ..codegen.kernel import PTR
from ..codegen.loops import I64, const, for_range
from ..codegen.scalar import lltype
from ..ir import Op, TensorType
from .common import broadcast_shapes
from .registry import ELEMWISE, OpDef, get, register_op


def members(op):
    """Per member: (group index, Fused op, input index range, output index range)."""
    i = o = 0
    out = []
    for gi, (body, outputs, dtype, n_in, count) in enumerate(op.attrs["groups"]):
        n_out = len(outputs)
        sub = Op(f"{op.name}/g{gi}", "Fused", {"body": body, "outputs": outputs, "dtype": dtype}, "graphc")
        for _ in range(count):
            out.append((gi, sub, range(i, i + n_in), range(o, o + n_out)))
            i, o = i + n_in, o + n_out
    return out


@register_op("MultiFused", pattern=ELEMWISE, domain="graphc", schema=False)
class MultiFused(OpDef):
    dtypes = ("float32", "float64")
    num_inputs = (1, 1 << 16)
    num_outputs = (1, 1 << 16)
    attr_defaults = {"groups": None}

    def infer(self, op, in_types, g):
        types = []
        for _, sub, ins, outs in members(op):
            shape = broadcast_shapes(*(in_types[i].shape for i in ins), where=f"op {op.name!r} (MultiFused)")
            types += [TensorType(sub.attrs["dtype"], shape)] * len(outs)
        return types

    def reference(self, op, *arrays):
        res = []
        for _, sub, ins, _ in members(op):
            res += list(get("Fused", "graphc").reference(sub, *(arrays[i] for i in ins)))
        return tuple(res)

    def emit(self, k, op):
        b = k.b
        ms = members(op)
        for gi, group in enumerate(op.attrs["groups"]):
            mine = [m for m in ms if m[0] == gi]
            sub = mine[0][1]
            dtype = sub.attrs["dtype"]
            ty = lltype(dtype)
            n_in, n_out = len(mine[0][2]), len(mine[0][3])
            out_t0 = k.out_types[mine[0][3][0]]
            kinds = ["full" if k.in_types[i].shape == out_t0.shape else "scalar" for i in mine[0][2]]
            width = n_in + n_out
            with b.goto_entry_block():
                b.position_at_start(k.fn.entry_basic_block)
                table = b.alloca(ir.ArrayType(PTR, len(mine) * width), name=f"mt{gi}.ptrs")
                sizes = b.alloca(ir.ArrayType(I64, len(mine)), name=f"mt{gi}.sizes")
                table.type = sizes.type = PTR
            for t, (_, _, ins, outs) in enumerate(mine):
                if [("full" if k.in_types[i].shape == k.out_types[outs[0]].shape else "scalar") for i in ins] != kinds:
                    raise ValueError(f"op {op.name!r} (MultiFused): members of group {gi} read inputs differently")
                for j, p in enumerate([k.inputs[i] for i in ins] + [k.outputs[o] for o in outs]):
                    b.store(p, b.gep(table, [const(t * width + j)], source_etype=PTR))
                b.store(k.numel(k.out_types[outs[0]]), b.gep(sizes, [const(t)], source_etype=I64))
            _emit_group(k, sub, ty, table, sizes, len(mine), kinds, n_in, n_out)
        b.ret_void()


def _emit_group(k, sub, ty, table, sizes, count, kinds, n_in, n_out):
    b = k.b
    fused = get("Fused", "graphc")
    s = k.scalar(sub.attrs["dtype"])
    width = n_in + n_out

    def at(p, i):
        return b.gep(p, [i], source_etype=ty, inbounds=True)

    with for_range(b, const(count), name="mt") as t:
        ptrs = [b.load(b.gep(table, [b.add(b.mul(t, const(width)), const(j))], source_etype=PTR), typ=PTR)
                for j in range(width)]
        n = b.load(b.gep(sizes, [t], source_etype=I64), typ=I64)
        ins, outs = ptrs[:n_in], ptrs[n_in:]
        scalars = [b.load(p, typ=ty) if kind == "scalar" else None for p, kind in zip(ins, kinds)]
        with for_range(b, n, name="mti") as i:  # unit strides: LLVM's loop vectorizer widens it
            xs = [sc if sc is not None else b.load(at(p, i), typ=ty) for p, sc in zip(ins, scalars)]
            for v, p in zip(fused.scalar(s, sub, *xs), outs):
                b.store(v, at(p, i))
