"""graphc: a deep-learning graph compiler for the CPU with a Keras-compatible front end.

    from graphc import keras
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    exe = graphc.compile(model)      # the Executable; exe.graph is the optimized IR
"""
__version__ = "0.1.0"

from .errors import (CompileError, DTypeError, GraphcError, GraphError, SerializationError,  # noqa: E402
                     ShapeError, UnsupportedOpError)


def compile(model_or_graph, passes=None, print_passes=False, opt_level=3, fuse=None, memplan=None):
    """Lower (if a Keras model), optimize and JIT-compile; returns a ``runtime.Executable``.

    ``fuse=False`` (or ``GRAPHC_FUSE=0``) skips loop fusion, e.g. to compare results with and without it;
    ``memplan=False`` (or ``GRAPHC_MEMPLAN=0``) gives every temporary its own arena bytes.
    """
    from .runtime import Executable

    source, optimized = inference_graph(model_or_graph, passes, print_passes, fuse)
    return Executable(optimized, opt_level=opt_level, source_graph=source, memplan=memplan)


def inference_graph(model_or_graph, passes=None, print_passes=False, fuse=None):
    """(source graph, optimized graph) of a Keras model, an imported ONNX model or an ``ir.Graph``:
    what ``compile`` JIT-compiles and ``graphc compile`` builds into a library."""
    from .ir import Graph
    from .passes import pipeline

    if isinstance(model_or_graph, Graph):
        source = model_or_graph
    elif hasattr(model_or_graph, "_lower_inference"):
        source = model_or_graph._lower_inference()
    elif isinstance(getattr(model_or_graph, "graph", None), Graph):  # graphc.onnx.load's model
        source = model_or_graph.graph
    else:
        raise TypeError(f"graphc.compile expects a keras Model or an ir.Graph, received {type(model_or_graph).__name__}")
    if passes is None:
        from .config import fuse_default
        passes = pipeline.INFERENCE if (fuse_default() if fuse is None else fuse) else pipeline.UNFUSED
    return source, pipeline.run(source, passes, print_passes=print_passes)


def __getattr__(name):  # lazy: `graphc.keras` pulls in the front end only when used
    if name in ("keras", "ir", "ops", "passes", "codegen", "runtime", "onnx", "datasets", "io",
                "convert"):  # graphc.convert is a callable module: graphc.convert(src, dst)
        import importlib
        return importlib.import_module(f"graphc.{name}")
    raise AttributeError(f"module 'graphc' has no attribute {name!r}")


__all__ = ["compile", "inference_graph", "GraphcError", "ShapeError", "DTypeError", "GraphError", "UnsupportedOpError",
           "SerializationError", "CompileError", "__version__"]
