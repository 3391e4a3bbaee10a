"""Ahead-of-time compilation: an optimized graph -> one object file or shared library with a C API.

The module is the JIT's (``program.build_module``: the kernels and ``gc_program``, here with
internal linkage) plus:

- every param, state and const as a constant global (the weights live in the library);
- ``gc_<name>_create()``: one ``aligned_alloc`` holding the pointer table, the symbol values, the
  arena (``codegen.memplan.plan_arena`` at the symbols' maxima, so the library lays memory out
  exactly as the JIT runtime does; a buffer only shrinks with a smaller size, so every smaller
  binding fits the same offsets), a copy of every buffer the program updates in place and the
  ``cached`` results of the hoisted weight-only ops, which create computes once (``gc_prologue``);
- ``gc_<name>_run(ctx, [batch | dims...], inputs..., outputs...)``: checks its arguments (NULL
  pointers, dimension bounds, the index range of Embedding-style inputs) and returns an error code
  instead of running on bad input, then calls ``gc_program``. When the only symbolic dimension is
  the batch axis of every input and output, any batch size runs, in chunks of ``max_batch`` (the
  arena is sized for one chunk; ``predict`` chunks the same way);
- ``gc_<name>_destroy(ctx)``.

The object needs nothing but libc (``aligned_alloc``, ``free``, ``memcpy``) and libm; it is
compiled with the PIC relocation model and linked with the system C compiler (``cc -shared``).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from llvmlite import ir

from .. import __version__
from ..errors import CompileError, GraphError
from ..io import atomic_write, current_umask
from ..ir import np_dtype
from .kernel import PTR
from .llvm import _init, host_cpu, new_target_machine, optimize, parse
from .loops import I1, I32, I64, const, for_range, imin, product
from .memplan import lifetimes, plan_arena
from .program import PROGRAM, PROLOGUE, build_module, buffer_plan

EMITS = ("llvm-ir", "asm", "obj", "so")
SUFFIX = {"llvm-ir": ".ll", "asm": ".s", "obj": ".o", "so": ".so"}
GENERIC_CPUS = ("x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4")
_ALIGN = 64
I8 = ir.IntType(8)
C_TYPES = {"float32": "float", "float64": "double", "int64": "int64_t", "int32": "int32_t", "bool": "uint8_t"}
# run()'s return codes (the header defines them as GC_<NAME>_OK, ..._ERR_ARG, ...)
OK, ERR_ARG, ERR_DIM, ERR_INDEX = 0, 1, 2, 3


def c_identifier(text: str) -> str:
    """A C identifier made from ``text`` (model or file name): other characters become ``_``."""
    s = re.sub(r"\W", "_", text, flags=re.ASCII).strip("_") or "model"
    return s if not s[0].isdigit() else "m" + s


def resolve_cpu(cpu: str | None) -> tuple[str, str]:
    """(LLVM cpu name, feature string) for ``--cpu``: ``host`` (default) is the host CPU with all its
    features; any other name (a generic level such as ``x86-64-v3``, or ``skylake``) gets exactly the
    features LLVM defines for that CPU, never the host's, so the code runs on every such machine."""
    if cpu in (None, "", "host", "native"):
        return host_cpu()
    _init()
    # An unknown CPU makes LLVM print a warning at TargetMachine creation and abort at code generation
    # ("64-bit code requested on a subtarget that doesn't support it"): catch the warning first.
    with tempfile.TemporaryFile() as log:
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            new_target_machine(cpu, "", 0, reloc="pic", codemodel="default")
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        complaint = log.read().decode(errors="replace")
    if "not a recognized processor" in complaint:
        raise CompileError(f"--cpu {cpu!r} is not a CPU LLVM knows for this target; expected 'host' (the default), "
                           f"a generic level ({', '.join(GENERIC_CPUS)}) or an LLVM CPU name such as 'skylake'")
    return cpu, ""


@dataclass
class Signature:
    """How the graph's symbolic dimensions appear in the C API."""

    symbols: list            # graph symbols, in ``dims`` order
    bounds: dict             # symbol -> maximum the arena is sized for
    c_names: dict            # symbol -> C parameter name
    chunked: bool            # the only symbol is the batch axis of every input and output

    @classmethod
    def of(cls, g, max_batch: int, dims: dict | None = None):
        symbols = g.symbols()
        types = [g.value(n).type for n in list(g.inputs) + list(g.outputs)]
        in_types = [g.value(n).type for n in g.inputs]
        unbound = [s for s in symbols if not any(s in t.shape for t in in_types)]
        if unbound:
            raise GraphError(f"symbolic dims {unbound} are not fixed by any graph input")
        batch = in_types[0].shape[0] if in_types and in_types[0].rank and isinstance(in_types[0].shape[0], str) \
            else None
        chunked = (symbols == [batch] and batch is not None
                   and all(t.rank and t.shape[0] == batch and batch not in t.shape[1:] for t in types))
        dims = dict(dims or {})
        unknown = [s for s in dims if s not in symbols]
        if unknown:
            raise GraphError(f"--dim {unknown}: the model has no such symbolic dimension; its symbols are {symbols}")
        bounds, c_names, taken = {}, {}, set()
        for s in symbols:
            bound = dims.get(s, max_batch if s == batch else None)
            if bound is None:
                raise GraphError(f"symbolic dimension {s!r} (of input(s) "
                                 f"{[n for n in g.inputs if s in g.value(n).type.shape]}) needs a maximum to size the "
                                 f"arena: pass --dim {s}=MAX (dims={{{s!r}: MAX}} in Python)")
            if int(bound) < 1:
                raise GraphError(f"the maximum of symbolic dimension {s!r} must be >= 1, received {bound}")
            bounds[s] = int(bound)
            name = "batch" if s == batch else "dim_" + c_identifier(s)
            while name in taken:
                name += "_"
            taken.add(name)
            c_names[s] = name
        return cls(symbols, bounds, c_names, chunked)


@dataclass
class Library:
    """What ``build_library`` wrote, and the facts the C header states."""

    path: Path
    header: Path | None
    name: str
    emit: str
    cpu: str
    features: str
    signature: Signature
    arena_bytes: int
    weight_bytes: int
    inputs: list = field(default_factory=list)    # [(name, TensorType)] in run()'s order
    outputs: list = field(default_factory=list)
    files: list = field(default_factory=list)

    def load(self) -> "NativeModel":
        """The built ``.so`` loaded into this process through ctypes (for tests and demos)."""
        if self.emit != "so":
            raise ValueError(f"only a shared library can be loaded; this build emitted {self.emit!r}")
        return NativeModel(self)


class NativeModel:
    """Calls a library built by ``build_library`` through ctypes: ``model(x0, x1, ...) -> [outputs]``.

    Arguments are checked in Python like ``Executable.validate``; run()'s own checks are the backstop
    (a non-zero return code raises).
    """

    def __init__(self, lib: Library):
        import ctypes
        self.lib, self._c = lib, ctypes
        self._dll = ctypes.CDLL(os.fspath(Path(lib.path).resolve()))
        p = f"gc_{lib.name}_"
        self._create, self._run, self._destroy = (getattr(self._dll, p + f) for f in ("create", "run", "destroy"))
        sig = lib.signature
        self._n_sym = 1 if sig.chunked else len(sig.symbols)
        self._create.restype = ctypes.c_void_p
        self._run.restype = ctypes.c_int
        self._run.argtypes = ([ctypes.c_void_p] + [ctypes.c_int64] * self._n_sym
                              + [ctypes.c_void_p] * (len(lib.inputs) + len(lib.outputs)))
        self._destroy.argtypes = [ctypes.c_void_p]
        self._ctx = self._create()
        if not self._ctx:
            raise MemoryError(f"gc_{lib.name}_create() returned NULL")

    def __call__(self, *xs) -> list:
        from ..errors import ShapeError
        lib, sig = self.lib, self.lib.signature
        if len(xs) != len(lib.inputs):
            raise ShapeError(f"expected {len(lib.inputs)} input(s) {[n for n, _ in lib.inputs]}, received {len(xs)}")
        arrays, bind = [], {}
        for (name, t), x in zip(lib.inputs, xs):
            x = np.ascontiguousarray(x, dtype=np_dtype(t.dtype))
            if x.ndim != t.rank or any(not isinstance(d, str) and d != n for d, n in zip(t.shape, x.shape)):
                raise ShapeError(f"input {name!r}: expected shape {t.shape}, received {x.shape}")
            for d, n in zip(t.shape, x.shape):
                if isinstance(d, str) and bind.setdefault(d, n) != n:
                    raise ShapeError(f"input {name!r}: dimension {d!r} is {n} here and {bind[d]} in another input")
            arrays.append(x)
        outs = [np.empty(t.concrete(bind), dtype=np_dtype(t.dtype)) for _, t in lib.outputs]
        syms = [bind[s] for s in sig.symbols][:self._n_sym]
        rc = self._run(self._ctx, *syms, *[a.ctypes.data for a in arrays + outs])
        if rc != OK:
            raise ValueError(f"gc_{lib.name}_run returned error code {rc} "
                             f"({ {ERR_ARG: 'ERR_ARG', ERR_DIM: 'ERR_DIM', ERR_INDEX: 'ERR_INDEX'}.get(rc, '?') })")
        return outs

    def close(self):
        if getattr(self, "_ctx", None):
            self._destroy(self._ctx)
            self._ctx = None

    __del__ = close


# --- the module --------------------------------------------------------------------------------
def _global_bytes(mod, name, data: bytes):
    arr = ir.ArrayType(I8, len(data))
    gv = ir.GlobalVariable(mod, arr, name)
    gv.initializer = ir.Constant(arr, bytearray(data))
    gv.global_constant = True
    gv.linkage = "internal"
    gv.align = _ALIGN
    return gv


def _declare(mod, name, ret, args):
    fn = mod.globals.get(name)
    return fn if fn is not None else ir.Function(mod, ir.FunctionType(ret, args), name)


class _Entry:
    """Builds create / run / destroy into ``mod`` for graph ``g``."""

    def __init__(self, mod, g, sig: Signature, prefix: str):
        self.mod, self.g, self.sig, self.prefix = mod, g, sig, prefix
        self.plan = buffer_plan(g)
        self.slot = {b.name: i for i, b in enumerate(self.plan)}
        arena = plan_arena(lifetimes(g, self.plan), sig.bounds, align=_ALIGN)
        self.offsets, self.arena_bytes = arena.offsets, arena.size
        header = len(self.plan) * 8 + max(len(sig.symbols), 1) * 8
        self.dims_off = len(self.plan) * 8
        self.arena_off = _round(header)
        mutable = set(g.aliases.values())  # params/states the program updates in place
        self.state_off, self.cached_off, end = {}, {}, self.arena_off + _round(self.arena_bytes)
        for i, b in enumerate(self.plan):
            if b.kind in ("param", "state", "const") and b.name in mutable:
                self.state_off[i] = end
                end += _round(b.type.numel() * np_dtype(b.type.dtype).itemsize)
            elif b.kind == "cached":  # results of the hoisted weight-only ops: computed once by create
                self.cached_off[i] = end
                end += _round(b.type.numel() * np_dtype(b.type.dtype).itemsize)
        self.total = max(end, _ALIGN)
        self.memcpy = _declare(mod, "llvm.memcpy.p0.p0.i64", ir.VoidType(), [PTR, PTR, I64, I1])
        self.weights, self.weight_bytes = {}, 0
        for i, b in enumerate(self.plan):
            if b.kind in ("param", "state", "const"):
                data = self.g.value(b.name).data
                if data is None:
                    raise GraphError(f"{b.kind} {b.name!r} has no data bound")
                raw = np.ascontiguousarray(data, dtype=np_dtype(b.type.dtype)).tobytes()
                self.weights[i] = _global_bytes(mod, f"{prefix}w{i}", raw)
                self.weight_bytes += len(raw)

    # helpers
    def _table_slot(self, b, table, i):
        return b.gep(table, [const(i)], source_etype=PTR)

    def create(self):
        fn = ir.Function(self.mod, ir.FunctionType(PTR, []), f"{self.prefix}create")
        alloc = _declare(self.mod, "aligned_alloc", PTR, [I64, I64])
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        ctx = b.call(alloc, [const(_ALIGN), const(self.total)], name="ctx")
        fail, ok = fn.append_basic_block("fail"), fn.append_basic_block("ok")
        b.cbranch(b.icmp_unsigned("==", ctx, ir.Constant(PTR, None)), fail, ok)
        b.position_at_end(fail)
        b.ret(ir.Constant(PTR, None))
        b.position_at_end(ok)
        for i, buf in enumerate(self.plan):
            if i in self.weights:
                ptr = self.weights[i]
                if i in self.state_off:  # updated in place: each context gets its own copy
                    dst = b.gep(ctx, [const(self.state_off[i])], source_etype=I8)
                    b.call(self.memcpy, [dst, ptr, const(len(ptr.initializer.constant)), ir.Constant(I1, 0)])
                    ptr = dst
            elif i in self.offsets:
                ptr = b.gep(ctx, [const(self.arena_off + self.offsets[i])], source_etype=I8)
            elif i in self.cached_off:
                ptr = b.gep(ctx, [const(self.cached_off[i])], source_etype=I8)
            else:
                ptr = ir.Constant(PTR, None)  # inputs and outputs: set by run
            b.store(ptr, self._table_slot(b, ctx, i))
        prologue = self.mod.globals.get(PROLOGUE)
        if prologue is not None:  # the weights never change in a library: the hoisted ops run once, here
            dims_ptr = b.gep(ctx, [const(self.dims_off)], source_etype=I8)
            for k, s in enumerate(self.sig.symbols):
                b.store(const(self.sig.bounds[s]), b.gep(dims_ptr, [const(k)], source_etype=I64))
            b.call(prologue, [ctx, dims_ptr])
        b.ret(ctx)

    def destroy(self):
        fn = ir.Function(self.mod, ir.FunctionType(ir.VoidType(), [PTR]), f"{self.prefix}destroy")
        free = _declare(self.mod, "free", ir.VoidType(), [PTR])
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        b.call(free, [fn.args[0]])
        b.ret_void()

    def run(self):
        g, sig = self.g, self.sig
        n_in, n_out = len(g.inputs), len(g.outputs)
        n_sym = 1 if sig.chunked else len(sig.symbols)
        fn = ir.Function(self.mod, ir.FunctionType(I32, [PTR] + [I64] * n_sym + [PTR] * (n_in + n_out)),
                         f"{self.prefix}run")
        ctx, syms = fn.args[0], list(fn.args[1:1 + n_sym])
        ins, outs = fn.args[1 + n_sym:1 + n_sym + n_in], fn.args[1 + n_sym + n_in:]
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        program = self.mod.get_global(PROGRAM)

        def fail_if(cond, code):
            bad, good = fn.append_basic_block("bad"), fn.append_basic_block("good")
            b.cbranch(cond, bad, good)
            b.position_at_end(bad)
            b.ret(ir.Constant(I32, code))
            b.position_at_end(good)

        fail_if(b.icmp_unsigned("==", ctx, ir.Constant(PTR, None)), ERR_ARG)
        for s, v in zip(sig.symbols, syms):
            too_big = b.icmp_signed(">", v, const(sig.bounds[s])) if not sig.chunked else ir.Constant(I1, 0)
            fail_if(b.or_(b.icmp_signed("<", v, const(0)), too_big), ERR_DIM)
        full = dict(zip(sig.symbols, syms))
        names = list(g.inputs) + list(g.outputs)
        for name, p in zip(names, list(ins) + list(outs)):  # NULL is fine only for an empty array
            n = self._numel(b, g.value(name).type, full)
            fail_if(b.and_(b.icmp_signed(">", n, const(0)), b.icmp_unsigned("==", p, ir.Constant(PTR, None))), ERR_ARG)
        for name, p in zip(g.inputs, ins):
            rng = g.value(name).meta.get("index_range")
            if rng is not None:
                self._check_range(b, fn, p, g.value(name).type, full, rng[:2])
        table = ctx
        dims_ptr = b.gep(ctx, [const(self.dims_off)], source_etype=I8)
        if not sig.chunked:
            for k, v in enumerate(syms):
                b.store(v, b.gep(dims_ptr, [const(k)], source_etype=I64))
            self._call(b, program, table, dims_ptr, ins, outs, full, start=None)
            b.ret(ir.Constant(I32, OK))
            return
        batch, chunk = syms[0], const(sig.bounds[sig.symbols[0]])
        with for_range(b, batch, step=chunk, name="start") as start:
            n = imin(b, b.sub(batch, start), chunk)
            b.store(n, dims_ptr)
            self._call(b, program, table, dims_ptr, ins, outs, {sig.symbols[0]: n}, start=start)
        b.ret(ir.Constant(I32, OK))

    def _numel(self, b, t, dims):
        return product(b, [dims[d] if isinstance(d, str) else const(d) for d in t.shape])

    def _sample(self, t):
        """(elements per batch item, its LLVM element type) for chunk offsets."""
        return int(np.prod([d for d in t.shape[1:]], dtype=np.int64)), ir.IntType(8 * np_dtype(t.dtype).itemsize)

    def _call(self, b, program, table, dims_ptr, ins, outs, dims, start):
        g = self.g

        def at(p, t):
            if start is None:
                return p
            per, ety = self._sample(t)
            return b.gep(p, [b.mul(start, const(per))], source_etype=ety)

        for name, p in zip(g.inputs, ins):
            b.store(at(p, g.value(name).type), self._table_slot(b, table, self.slot[name]))
        copies, owned = [], set()
        for name, p in zip(g.outputs, outs):
            i, t = self.slot[name], g.value(name).type
            if self.plan[i].kind == "output" and i not in owned:
                owned.add(i)
                b.store(at(p, t), self._table_slot(b, table, i))
            else:  # an input/param/const, or a repeated output: copied after the call
                copies.append((i, at(p, t), t))
        b.call(program, [table, dims_ptr])
        for i, dst, t in copies:
            src = b.load(self._table_slot(b, table, i), typ=PTR)
            nbytes = b.mul(self._numel(b, t, dims), const(np_dtype(t.dtype).itemsize))
            b.call(self.memcpy, [dst, src, nbytes, ir.Constant(I1, 0)])

    def _check_range(self, b, fn, p, t, dims, rng):
        """Return ERR_INDEX when an index input holds a value outside [lo, hi) (Embedding ids)."""
        lo, hi = int(rng[0]), int(rng[1])
        ity = ir.IntType(8 * np_dtype(t.dtype).itemsize)
        bad = fn.append_basic_block("index_bad")
        with for_range(b, self._numel(b, t, dims), name="idx") as k:
            v = b.load(b.gep(p, [k], source_etype=ity), typ=ity)
            out = b.or_(b.icmp_signed("<", v, ir.Constant(ity, lo)), b.icmp_signed(">=", v, ir.Constant(ity, hi)))
            nxt = fn.append_basic_block("index_ok")
            b.cbranch(out, bad, nxt)
            b.position_at_end(nxt)
        after = b.block
        b.position_at_end(bad)
        b.ret(ir.Constant(I32, ERR_INDEX))
        b.position_at_end(after)


def _round(n):
    return -(-n // _ALIGN) * _ALIGN


def build_aot_module(g, name: str, tm, max_batch: int = 64, dims: dict | None = None):
    """(ir.Module with the kernels, gc_program and the C entry points; _Entry with the layout facts)."""
    sig = Signature.of(g, max_batch, dims)
    mod = build_module(g, tm.triple, str(tm.target_data))
    for fname in (PROGRAM, PROLOGUE):  # two models' libraries in one process must not clash
        if fname in mod.globals:
            mod.get_global(fname).linkage = "internal"
    entry = _Entry(mod, g, sig, f"gc_{name}_")
    entry.create()
    entry.run()
    entry.destroy()
    return mod, entry


# --- files -------------------------------------------------------------------------------------
def find_c_compiler() -> str:
    """``$CC`` or the first of cc, gcc, clang on PATH; CompileError if there is none."""
    for cand in [os.environ.get("CC")] + ["cc", "gcc", "clang"]:
        if cand:
            exe = shutil.which(cand.split()[0])
            if exe:
                return exe
    raise CompileError("no C compiler found to link the shared library (looked for $CC, cc, gcc, clang on PATH); "
                       "install one, or use --emit obj and link the object yourself")


def link_shared(obj_path, out_path, cc: str | None = None, soname: str | None = None):
    """``cc -shared`` the object into ``out_path`` (its file name is the soname, so a program linked with
    ``./lib.so`` finds it by name and rpath); every symbol must resolve to libc/libm."""
    cc = cc or find_c_compiler()
    cmd = [cc, "-shared", "-o", os.fspath(out_path), os.fspath(obj_path), "-Wl,--no-undefined",
           "-Wl,-z,noexecstack", f"-Wl,-soname,{soname or Path(out_path).name}", "-lm"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CompileError(f"linking with {cc} failed: {e}") from e
    if res.returncode != 0:
        raise CompileError(f"linking the shared library failed ({' '.join(cmd)}):\n{res.stderr.strip()}")


def build_library(graph, out, emit: str = "so", opt_level: int = 3, cpu: str | None = None, name: str | None = None,
                  max_batch: int = 64, dims: dict | None = None, source: str | None = None) -> Library:
    """Compile an optimized, shape-inferred graph ahead of time and write ``out`` (plus ``out``'s
    ``.h`` header for ``obj`` and ``so``), atomically. ``emit`` is one of ``EMITS``."""
    if emit not in EMITS:
        raise ValueError(f"emit must be one of {list(EMITS)}, received {emit!r}")
    if not 0 <= int(opt_level) <= 3:
        raise ValueError(f"opt_level must be 0, 1, 2 or 3, received {opt_level}")
    name = name or c_identifier(graph.name)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"name must be a C identifier (letters, digits, _; not starting with a digit), "
                         f"received {name!r}")
    cpu_name, features = resolve_cpu(cpu)
    tm = new_target_machine(cpu_name, features, int(opt_level), reloc="pic", codemodel="default")
    mod, entry = build_aot_module(graph, name, tm, max_batch, dims)
    llmod = parse(str(mod))
    optimize(llmod, tm, int(opt_level))
    out = Path(out)
    if not out.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(out)!r}: directory {str(out.parent)!r} does not exist")
    header = out.with_suffix(".h") if emit in ("obj", "so") else None
    if header is not None and header == out:
        raise ValueError(f"the output {out} would be overwritten by its C header; give it a .so/.o suffix")
    lib = Library(out, header, name, emit, cpu_name, features, entry.sig, entry.arena_bytes, entry.weight_bytes,
                  [(n, graph.value(n).type) for n in graph.inputs], [(n, graph.value(n).type) for n in graph.outputs])
    if emit == "llvm-ir":
        with atomic_write(out, "w") as f:
            f.write(str(llmod))
    elif emit == "asm":
        with atomic_write(out, "w") as f:
            f.write(tm.emit_assembly(llmod))
    elif emit == "obj":
        with atomic_write(out) as f:
            f.write(tm.emit_object(llmod))
    else:
        cc = find_c_compiler()
        with tempfile.TemporaryDirectory(prefix="graphc-aot-") as tmp:
            obj = Path(tmp) / f"{name}.o"
            obj.write_bytes(tm.emit_object(llmod))
            with atomic_write(out, None) as tmp_out:
                link_shared(obj, tmp_out, cc, soname=out.name)
                os.chmod(tmp_out, 0o777 & ~current_umask())
    if header is not None:
        from .aot_header import header_text
        with atomic_write(header, "w") as f:
            f.write(header_text(graph, entry, lib, source))
    lib.files = [p for p in (out, header) if p is not None]
    return lib


__all__ = ["build_library", "build_aot_module", "resolve_cpu", "find_c_compiler", "link_shared", "c_identifier",
           "Library", "NativeModel", "Signature", "EMITS", "SUFFIX", "GENERIC_CPUS"]
