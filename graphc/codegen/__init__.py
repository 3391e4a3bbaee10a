"""Code generation: IR graph -> LLVM IR (llvmlite) -> machine code, cached on disk."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .. import config
from . import cache
from .llvm import JIT, optimize, parse, target_key, target_machine
from .program import PROGRAM, PROLOGUE, buffer_plan, build_module, hoisted_ops

cache.source_digest()  # hash the kernel sources now, as imported (not later, after an edit on disk)


@dataclass
class Compiled:
    jit: JIT
    address: int  # gc_program
    cache_key: str
    from_cache: bool
    seconds: float
    graph_text: str = field(repr=False, default="")
    prologue_address: int = 0  # gc_prologue: the hoisted weight-only ops


def llvm_ir(g, optimized=False, opt_level=3) -> str:
    """The LLVM IR graphc generates for ``g`` (after LLVM's optimizations with ``optimized``)."""
    tm = target_machine()
    text = str(build_module(g, tm.triple, str(tm.target_data)))
    if not optimized:
        return text
    mod = parse(text)
    optimize(mod, tm, opt_level)
    return str(mod)


def assembly(g, opt_level=3) -> str:
    tm = target_machine()
    mod = parse(str(build_module(g, tm.triple, str(tm.target_data))))
    optimize(mod, tm, opt_level)
    return tm.emit_assembly(mod)


def compile_graph(g, opt_level: int = 3, use_cache: bool = True) -> Compiled:
    """JIT-compile a verified, shape-inferred graph for the host CPU.

    The disk-cache key is the graph's name-free canonical text (``cache.canonical_text``), so a hit
    needs the same structure, types and attributes but not the same layer or value names; a hit loads
    the object code and skips IR construction and LLVM entirely."""
    t0 = time.perf_counter()
    tm = target_machine()
    text = str(g)
    k = cache.key(cache.canonical_text(g), target_key(), f"O{opt_level}")
    obj = cache.load(k) if use_cache else None
    hit = obj is not None
    if not hit:
        mod = parse(str(build_module(g, tm.triple, str(tm.target_data))))
        optimize(mod, tm, opt_level)
        if config.DEBUG >= 3:
            print(str(mod))
        obj = tm.emit_object(mod)
        if use_cache:
            cache.store(k, obj)
    jit = JIT(objects=[obj])
    return Compiled(jit, jit.address(PROGRAM), k, hit, time.perf_counter() - t0, text, jit.address(PROLOGUE))


__all__ = ["compile_graph", "llvm_ir", "assembly", "buffer_plan", "hoisted_ops", "Compiled"]
