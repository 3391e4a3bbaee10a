"""KernelContext: what an op's ``emit`` sees while it writes its LLVM function.

A kernel is ``void kernel(ptr dims, ptr in0.., ptr out0.., ptr ws0..)``; ``dims`` holds the
run-time values of the graph's symbolic dimensions (the batch size, sequence lengths), so one
compiled kernel serves every batch size.
"""
from __future__ import annotations

from llvmlite import ir

from .loops import I64, const, product
from .scalar import ScalarEmitter, lltype

PTR = ir.PointerType()


class KernelContext:
    def __init__(self, module, fn, op, in_types, out_types, ws_types, sym_index, present=None):
        self.module, self.fn, self.op = module, fn, op
        self.present = present or [True] * len(in_types)  # per input slot: given (optional inputs)
        self.in_types, self.out_types, self.ws_types = in_types, out_types, ws_types
        self.sym_index = sym_index
        self.b = ir.IRBuilder(fn.append_basic_block("entry"))
        args = list(fn.args)
        self.dims_ptr = args[0]
        n_in = len(in_types)
        self.inputs = args[1:1 + n_in]
        self.outputs = args[1 + n_in:1 + n_in + len(out_types)]
        self.workspace = args[1 + n_in + len(out_types):]
        self._dims = {}

    # --- shapes -------------------------------------------------------------------------
    def dim(self, t, axis) -> ir.Value:
        d = t.shape[axis]
        if isinstance(d, int):
            return const(d)
        if d not in self._dims:  # load once, in the entry block
            with self.b.goto_entry_block():
                self.b.position_at_start(self.fn.entry_basic_block)
                p = self.b.gep(self.dims_ptr, [const(self.sym_index[d])], source_etype=I64)
                self._dims[d] = self.b.load(p, typ=I64, name=f"dim_{d}")
        return self._dims[d]

    def shape(self, t) -> list:
        return [self.dim(t, a) for a in range(t.rank)]

    def numel(self, t, start=0, stop=None) -> ir.Value:
        return product(self.b, [self.dim(t, a) for a in range(start, t.rank if stop is None else stop)])

    def slot_inputs(self):
        """Input pointers by slot, None where an optional input is absent."""
        it = iter(self.inputs)
        return [next(it) if p else None for p in self.present]

    # --- memory -------------------------------------------------------------------------
    def gep(self, ptr, idx, dtype):
        return self.b.gep(ptr, [idx], source_etype=lltype(dtype), inbounds=True)

    def load(self, ptr, idx, dtype):
        return self.b.load(self.gep(ptr, idx, dtype), typ=lltype(dtype))

    def store(self, value, ptr, idx, dtype):
        self.b.store(value, self.gep(ptr, idx, dtype))

    def scalar(self, dtype) -> ScalarEmitter:
        return ScalarEmitter(self.b, dtype)

    def helper(self, name, ftype, build):
        """A module-level helper function (shared by kernels), built once by ``build(fn)``."""
        existing = self.module.globals.get(name)
        if existing is not None:
            return existing
        fn = ir.Function(self.module, ftype, name)
        fn.linkage = "internal"
        build(fn)
        return fn
