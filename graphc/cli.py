"""The ``graphc`` command (click): a thin layer over the Python API.

    graphc compile MODEL.h5|MODEL.keras|MODEL.onnx -o OUT.so [--emit llvm-ir|asm|obj|so]
                   [--opt-level 0-3] [--cpu host|x86-64|x86-64-v2|x86-64-v3|...] [--name NAME]
                   [--max-batch N] [--dim SYMBOL=MAX]
    graphc convert SRC DST [--optimize]        (graphc.convert: .h5 / .keras <-> .onnx)

click is an optional dependency (``pip install graphc[cli]``); graphc itself never imports this module.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

MODEL_SUFFIXES = {".h5": "keras", ".hdf5": "keras", ".keras": "keras", ".onnx": "onnx"}


def load_model_file(path):
    """A model object for a ``.h5``/``.hdf5``/``.keras`` (Keras) or ``.onnx`` file, ready for inference."""
    from .errors import SerializationError
    path = Path(path)
    kind = MODEL_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise SerializationError(f"{str(path)!r}: unsupported model file extension {path.suffix!r}; expected one of "
                                 f"{', '.join(MODEL_SUFFIXES)}")
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {str(path)!r}")
    if kind == "onnx":
        from . import onnx as gonnx
        return gonnx.load(path)
    from .keras import models
    return models.load_model(path, compile=False)


def _build_cli():
    import click

    from .codegen import aot

    def _fail(e):
        raise click.ClickException(f"{type(e).__name__}: {e}") from e

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="graphc", message="graphc %(version)s")
    def cli():
        """graphc: a deep-learning graph compiler for the CPU."""

    @cli.command("compile")
    @click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
                  help="Output file (default: MODEL's name with the --emit suffix, in the current directory). "
                       "obj and so also write a C header beside it (OUT with suffix .h).")
    @click.option("--emit", type=click.Choice(aot.EMITS), default="so", show_default=True,
                  help="llvm-ir (optimized LLVM IR), asm, obj (relocatable PIC object) or so (shared library).")
    @click.option("--opt-level", "-O", type=click.IntRange(0, 3), default=3, show_default=True)
    @click.option("--cpu", default="host", show_default=True,
                  help="Target CPU: host (all its features), or a generic level for portable builds "
                       f"({', '.join(aot.GENERIC_CPUS)}), or any LLVM CPU name; non-host CPUs get only their own "
                       "features.")
    @click.option("--name", help="C name of the model: entry points are gc_<name>_create/run/destroy "
                                 "(default: the file name).")
    @click.option("--max-batch", type=click.IntRange(min=1), default=64, show_default=True,
                  help="Batch size the arena is sized for; larger batches run in chunks of this size.")
    @click.option("--dim", "dims", multiple=True, metavar="SYMBOL=MAX",
                  help="Maximum of another symbolic dimension (e.g. a sequence length), repeatable.")
    def compile_cmd(model, out, emit, opt_level, cpu, name, max_batch, dims):
        """Compile MODEL (.h5, .keras or .onnx) to a native library with a C API."""
        bounds = {}
        for d in dims:
            sym, eq, val = d.partition("=")
            if not eq or not val.strip().isdigit():
                raise click.BadParameter(f"expected SYMBOL=MAX, received {d!r}", param_hint="--dim")
            bounds[sym.strip()] = int(val)
        if name is None:
            name = aot.c_identifier(model.stem)
        if out is None:
            out = Path(model.stem + aot.SUFFIX[emit])
        import graphc
        try:
            m = load_model_file(model)
            _, graph = graphc.inference_graph(m)
            lib = aot.build_library(graph, out, emit=emit, opt_level=opt_level, cpu=cpu, name=name,
                                    max_batch=max_batch, dims=bounds, source=os.fspath(model))
        except (graphc.GraphcError, OSError, ValueError, TypeError) as e:
            _fail(e)
        sig = lib.signature
        dims_txt = ", ".join(f"{s}<={sig.bounds[s]}" for s in sig.symbols) or "static shapes"
        click.echo(f"wrote {', '.join(map(str, lib.files))} (gc_{lib.name}_*, cpu {lib.cpu}, -O{opt_level}; weights "
                   f"{lib.weight_bytes:,} B, arena {lib.arena_bytes:,} B for {dims_txt})")

    @cli.command("convert")
    @click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
    @click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--optimize", is_flag=True, help="ONNX output: export the optimized (still standard) graph.")
    def convert_cmd(src, dst, optimize):
        """Convert SRC into DST between Keras files (.h5, .keras) and ONNX (.onnx); formats from the names."""
        import graphc
        from .convert import convert
        try:
            if not src.is_file():
                raise FileNotFoundError(f"model file not found: {str(src)!r}")
            convert(src, dst, optimize=optimize)
        except (graphc.GraphcError, OSError, ValueError, TypeError) as e:
            _fail(e)
        click.echo(f"wrote {dst} (from {src})")

    return cli


def main(argv=None):
    try:
        cli = _build_cli()
    except ImportError as e:
        print(f"graphc: the command line needs click ({e}); install it with: pip install 'graphc[cli]'",
              file=sys.stderr)
        return 1
    return cli.main(args=argv, prog_name="graphc")


if __name__ == "__main__":
    sys.exit(main())
