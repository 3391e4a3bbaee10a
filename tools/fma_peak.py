"""The measured one-core FMA peak (GFLOP/s): independent vector FMA chains in a JIT loop (not a test).

    taskset -c 0 python tools/fma_peak.py [--bits 512|256]
"""
from __future__ import annotations

import argparse
import ctypes
import time

import llvmlite.binding as llvm
from llvmlite import ir

from graphc.codegen.kernels.gemm import vector_bits
from graphc.codegen.llvm import _init, new_target_machine, optimize
from graphc.codegen.loops import I64, for_range


def peak(bits: int, chains: int = 24, iters: int = 20_000_000) -> float:
    _init()
    tm = new_target_machine()
    w = bits // 32
    vt = ir.VectorType(ir.FloatType(), w)
    mod = ir.Module("peak")
    mod.triple, mod.data_layout = tm.triple, str(tm.target_data)
    fma = ir.Function(mod, ir.FunctionType(vt, [vt] * 3), f"llvm.fma.v{w}f32")
    fn = ir.Function(mod, ir.FunctionType(ir.FloatType(), [I64]), "run")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    slots = [b.alloca(vt) for _ in range(chains)]
    for i, s in enumerate(slots):
        b.store(ir.Constant(vt, [1.0 + i * 1e-3] * w), s)
    x = ir.Constant(vt, [0.9999] * w)
    y = ir.Constant(vt, [1e-6] * w)
    with for_range(b, fn.args[0]) as _:
        for s in slots:
            b.store(b.call(fma, [b.load(s), x, y]), s)
    acc = b.load(slots[0])
    for s in slots[1:]:
        acc = b.fadd(acc, b.load(s))
    b.ret(b.extract_element(acc, ir.Constant(ir.IntType(32), 0)))
    m = llvm.parse_assembly(str(mod))
    optimize(m, tm)
    eng = llvm.create_mcjit_compiler(m, tm)
    eng.finalize_object()
    run = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_int64)(eng.get_function_address("run"))
    run(1000)
    best = min(_timed(run, iters) for _ in range(5))
    return 2.0 * w * chains * iters / best / 1e9


def _timed(run, iters):
    t = time.thread_time()
    run(iters)
    return time.thread_time() - t


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--bits", type=int, default=None)
    a = ap.parse_args()
    bits = a.bits or vector_bits()
    print(f"FMA peak, one core, {bits}-bit fp32 vectors: {peak(bits):.1f} GFLOP/s")
