"""Native threads for generated code: libgomp's ``GOMP_parallel``, reached through a pointer.

A module that splits work across threads defines two globals, ``gc_parallel`` (a pointer to
``void GOMP_parallel(void (*fn)(void *), void *data, unsigned nthreads, unsigned flags)``, null
by default) and ``gc_num_threads`` (i32, 1 by default). Generated code never names a libgomp
symbol, so nothing can be left unresolved: with a null pointer (no libgomp in the process, a
library built by ``graphc compile``) it runs on the calling thread. :func:`install` fills both
globals in a JIT-compiled module from ``GRAPHC_NUM_THREADS`` (default: the CPUs this process
may run on); libgomp keeps its worker threads, so a parallel region costs microseconds. A
forked child process sets every module back to one thread (libgomp's pool does not survive
fork).

Work is split into chunks of whole micro-tiles that workers claim with an atomic counter; each
chunk is computed exactly as on one thread (the reduction over k is never split), so results
do not depend on the thread count.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import weakref

from llvmlite import ir

from .. import config
from .kernel import PTR
from .loops import I32, I64, ceil_div, const, imin

PARALLEL = "gc_parallel"
NUM_THREADS = "gc_num_threads"
# a product (GEMM, convolution, recurrent step) is split across threads only from this many multiply-adds:
# a parallel region costs microseconds
PARALLEL_MACS = 1 << 18


@functools.cache
def gomp_parallel_address() -> int | None:
    """The address of libgomp's GOMP_parallel in this process, or None without libgomp."""
    for name in (ctypes.util.find_library("gomp"), "libgomp.so.1"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            return ctypes.cast(lib.GOMP_parallel, ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
    return None


_LIVE: dict[int, int] = {}  # id(engine) -> address of its gc_num_threads, while the engine lives


def _serial_after_fork():
    """libgomp's thread pool does not survive fork(): a child runs every module on one thread."""
    for addr in _LIVE.values():
        ctypes.c_int32.from_address(addr).value = 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_serial_after_fork)


def install(engine, n: int | None = None) -> int:
    """Point a finalized engine's ``gc_parallel`` at GOMP_parallel and set ``gc_num_threads``
    to ``n`` (default ``GRAPHC_NUM_THREADS``). Returns the thread count in effect (1 when the
    module has no parallel code or libgomp is missing)."""
    fp = engine.get_global_value_address(PARALLEL)
    nt = engine.get_global_value_address(NUM_THREADS)
    if not fp or not nt:
        return 1
    n = config.num_threads() if n is None else int(n)
    gomp = gomp_parallel_address() if n > 1 else None
    ctypes.c_void_p.from_address(fp).value = gomp
    ctypes.c_int32.from_address(nt).value = max(1, n) if gomp else 1
    if id(engine) not in _LIVE:
        weakref.finalize(engine, _LIVE.pop, id(engine), None)
    _LIVE[id(engine)] = nt
    return max(1, n) if gomp else 1


def _global(module, name, typ, init):
    g = module.globals.get(name)
    if g is None:
        g = ir.GlobalVariable(module, typ, name)
        g.initializer = init
    return g


def thread_globals(b):
    """(pointer to GOMP_parallel or null, thread count as i64), loaded at the builder's position."""
    module = b.module
    par = b.load(_global(module, PARALLEL, PTR, ir.Constant(PTR, None)), typ=PTR)
    nt = b.load(_global(module, NUM_THREADS, I32, ir.Constant(I32, 1)), typ=I32)
    return par, b.sext(nt, I64)


def call_parallel(b, worker, data, nthreads):
    """``GOMP_parallel(worker, data, nthreads, 0)`` through the module's ``gc_parallel``."""
    ftype = ir.FunctionType(ir.VoidType(), [PTR, PTR, I32, I32])
    callee = b.load(b.module.globals[PARALLEL], typ=ftype.as_pointer())  # prints as ptr; typed for llvmlite
    b.call(callee, [worker, data, b.trunc(nthreads, I32), const(0, I32)])


def emit_parallel_split(b, serial, args, mr, nr, min_macs):
    """Before a call ``serial(*args)`` of a GEMM-signature function (optionally followed by an
    epilogue's ``ep, ep_data, row0, col0``, whose offsets each chunk shifts by its first row or column): when threads are enabled and
    the product has at least ``min_macs`` multiply-adds, run it as chunks of whole MR x NR tiles
    (along N when M <= N, since then each worker re-packs only A, else along M) on
    ``GOMP_parallel`` and return; otherwise fall through to the serial call."""
    M, N, K = args[:3]
    par, nt = thread_globals(b)
    ok = b.and_(b.icmp_unsigned("!=", par, ir.Constant(PTR, None)), b.icmp_signed(">", nt, const(1)))
    ok = b.and_(ok, b.icmp_signed(">=", b.mul(b.mul(M, N), K), const(min_macs)))
    with b.if_then(ok):
        tiles_m, tiles_n = ceil_div(b, M, mr), ceil_div(b, N, nr)
        split_n = b.or_(b.and_(b.icmp_signed("<=", M, N), b.icmp_signed(">=", tiles_n, const(2))),
                        b.icmp_signed("<", tiles_m, const(2)))
        tiles = b.select(split_n, tiles_n, tiles_m)
        chunk = b.mul(ceil_div(b, tiles, nt), b.select(split_n, const(nr), const(mr)))
        nchunks = ceil_div(b, b.select(split_n, N, M), chunk)
        with b.if_then(b.icmp_signed(">=", nchunks, const(2))):
            worker = _worker(b.module, serial)
            st = worker.data_type
            with b.goto_entry_block():
                b.position_at_start(b.function.entry_basic_block)
                data = b.alloca(st, name="par.data")
                data.type = PTR  # opaque, as everywhere else
            fields = list(args) + [const(0), nchunks, chunk, b.zext(split_n, I64)]
            for i, v in enumerate(fields):
                b.store(v, b.gep(data, [const(0, I32), const(i, I32)], source_etype=st))
            call_parallel(b, worker, data, imin(b, nt, nchunks))
            b.ret_void()


def _worker(module, serial):
    """``worker(data)``: claim chunk indices from ``data.counter`` until none are left; run
    ``serial`` on each chunk's rows (or columns) of C."""
    name = f"{serial.name}.worker"
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    ptypes = list(serial.function_type.args)
    st = ir.LiteralStructType(ptypes + [I64, I64, I64, I64])
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR]), name)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    fn.data_type = st
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    data = fn.args[0]

    def field(i):
        return b.gep(data, [const(0, I32), const(i, I32)], source_etype=st)

    vals = [b.load(field(i), typ=t) for i, t in enumerate(ptypes)]
    counter = field(len(ptypes))
    nchunks, chunk, split_n = (b.load(field(len(ptypes) + i), typ=I64) for i in (1, 2, 3))
    M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, alpha, beta = vals[:13]
    # the GEMM-with-epilogue signature adds (ep, ep_data, row0, col0): a chunk's epilogue sees global indices
    ep = vals[13:15]
    row0, col0 = vals[15:17] if len(vals) > 13 else (None, None)
    loop = fn.append_basic_block("claim")
    work = fn.append_basic_block("work")
    done = fn.append_basic_block("done")
    b.branch(loop)
    b.position_at_end(loop)
    i = b.atomic_rmw("add", counter, const(1), "monotonic")
    b.cbranch(b.icmp_signed("<", i, nchunks), work, done)
    b.position_at_end(work)
    ety = alpha.type
    lo = b.mul(i, chunk)
    by_n = b.icmp_unsigned("!=", split_n, const(0))
    with b.if_else(by_n) as (cols, rows):
        with cols:
            n = imin(b, chunk, b.sub(N, lo))
            b.call(serial, [M, n, K, A, rsa, csa, b.gep(B, [b.mul(lo, csb)], source_etype=ety), rsb, csb,
                            b.gep(C, [lo], source_etype=ety), ldc, alpha, beta]
                   + (ep + [row0, b.add(col0, lo)] if ep else []))
        with rows:
            m = imin(b, chunk, b.sub(M, lo))
            b.call(serial, [m, N, K, b.gep(A, [b.mul(lo, rsa)], source_etype=ety), rsa, csa, B, rsb, csb,
                            b.gep(C, [b.mul(lo, ldc)], source_etype=ety), ldc, alpha, beta]
                   + (ep + [b.add(row0, lo), col0] if ep else []))
    b.branch(loop)
    b.position_at_end(done)
    b.ret_void()
    return fn
