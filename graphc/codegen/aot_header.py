"""The C header of a library built by ``codegen.aot``: entry points, shapes, limits, error codes."""
from __future__ import annotations

import llvmlite.binding as llvm

from .. import __version__
from .aot import C_TYPES, ERR_ARG, ERR_DIM, ERR_INDEX, OK


def _dims_text(t, sig):
    return "[" + ", ".join(sig.c_names[d] if isinstance(d, str) else str(d) for d in t.shape) + "]"


def header_text(g, entry, lib, source=None) -> str:
    sig, name = entry.sig, lib.name
    up, p = name.upper(), f"gc_{name}_"
    M = f"GC_{up}_"
    sym_args = ["int64_t batch"] if sig.chunked else [f"int64_t {sig.c_names[s]}" for s in sig.symbols]
    args = [f"{p}ctx *ctx"] + sym_args
    args += [f"const {C_TYPES[g.value(n).type.dtype]} *in{i}" for i, n in enumerate(g.inputs)]
    args += [f"{C_TYPES[g.value(n).type.dtype]} *out{i}" for i, n in enumerate(g.outputs)]
    call = ", ".join(["ctx"] + [a.split()[-1] for a in sym_args] + [f"in{i}" for i in range(len(g.inputs))]
                     + [f"out{i}" for i in range(len(g.outputs))])
    target = f"{llvm.get_process_triple()}, cpu {lib.cpu}" + (" with the host's features" if lib.features else "")
    lines = [
        f"/* {name}.h: C API of the model {g.name!r}, compiled by graphc {__version__}"
        + (f" from {source}" if source else "") + ".",
        f" * Target: {target}.",
        " * The library needs nothing at run time but libc and libm; the weights are inside it.",
        " *",
        f" *   {p}ctx *ctx = {p}create();   (NULL when out of memory)",
        f" *   int rc = {p}run({call});   ({M}OK, or a {M}ERR_* code)",
        f" *   {p}destroy(ctx);",
        " *",
        " * Arrays are dense and in C (row-major) order. A context holds the scratch memory of one call:",
        " * use one context per thread. run() checks its arguments and returns an error code without",
        " * computing anything when they are wrong.",
    ]
    if sig.chunked:
        chunk = sig.bounds[sig.symbols[0]]
        lines += [f" * batch: any size >= 0. Batches above {M}MAX_BATCH ({chunk}) run in chunks of",
                  " * that size: create() reserves memory for one chunk (graphc compile --max-batch sets it)."]
    elif sig.symbols:
        lines += [" * Symbolic dimensions (run-time arguments), each at most its maximum (graphc compile --dim):"]
        lines += [f" *   {sig.c_names[s]} ({s!r}) <= {sig.bounds[s]}" for s in sig.symbols]
    lines += [" *", " * Inputs:"]
    for i, n in enumerate(g.inputs):
        t = g.value(n).type
        rng = g.value(n).meta.get("index_range")
        extra = f", values in [{rng[0]}, {rng[1]})" if rng is not None else ""
        lines.append(f" *   in{i}  {n!r}: {t.dtype} {_dims_text(t, sig)}{extra}")
    lines.append(" * Outputs:")
    for i, n in enumerate(g.outputs):
        t = g.value(n).type
        lines.append(f" *   out{i} {n!r}: {t.dtype} {_dims_text(t, sig)}")
    lines += [" */", f"#ifndef GC_{up}_H", f"#define GC_{up}_H", "", "#include <stdint.h>", "",
              "#ifdef __cplusplus", 'extern "C" {', "#endif", "",
              f"#define {M}NUM_INPUTS {len(g.inputs)}", f"#define {M}NUM_OUTPUTS {len(g.outputs)}"]
    if sig.chunked:
        lines.append(f"#define {M}MAX_BATCH {sig.bounds[sig.symbols[0]]}")
    else:
        lines += [f"#define {M}MAX_{sig.c_names[s].upper()} {sig.bounds[s]}" for s in sig.symbols]
    lines.append("/* SHAPE: -1 marks a run-time dimension; SIZE: the product of the static dimensions (the elements")
    lines.append("   per batch item when the batch is the only run-time dimension) */")
    for kind, names in (("IN", g.inputs), ("OUT", g.outputs)):
        for i, n in enumerate(names):
            t = g.value(n).type
            shape = ", ".join("-1" if isinstance(d, str) else str(d) for d in t.shape)
            size = 1
            for d in t.shape:
                size *= 1 if isinstance(d, str) else d
            lines += [f"#define {M}{kind}{i}_RANK {t.rank}", f"#define {M}{kind}{i}_SHAPE {{{shape}}}",
                      f"#define {M}{kind}{i}_SIZE {size}"]
    lines += ["", f"#define {M}OK {OK}",
              f"#define {M}ERR_ARG {ERR_ARG}   /* NULL context, or NULL array with elements */",
              f"#define {M}ERR_DIM {ERR_DIM}   /* a run-time dimension is negative or above its maximum */",
              f"#define {M}ERR_INDEX {ERR_INDEX} /* an index input holds a value outside its valid range */", "",
              f"typedef struct {p}ctx {p}ctx;", "",
              f"{p}ctx *{p}create(void);",
              f"int {p}run({', '.join(args)});",
              f"void {p}destroy({p}ctx *ctx);", "",
              "#ifdef __cplusplus", "}", "#endif", f"#endif /* GC_{up}_H */", ""]
    return "\n".join(lines)
