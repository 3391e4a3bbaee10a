"""``keras.utils.model_to_dot`` / ``plot_model``: the layer graph as a pydot graph or an image
(pydot + graphviz are the optional ``plot`` extra; the core never imports them)."""
from __future__ import annotations

import os


def _pydot():
    try:
        import pydot
    except ImportError as e:
        raise ImportError("model_to_dot/plot_model need pydot (pip install pydot) and graphviz (apt install "
                          "graphviz): they are optional extras of graphc") from e
    return pydot


def _shape_text(shape):
    return str(tuple(shape)) if shape is not None else "?"


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, **kwargs):
    """A ``pydot.Dot`` with one node per layer and an edge per connection, as Keras draws it."""
    pydot = _pydot()
    dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=dpi)
    dot.set_node_defaults(shape="record")
    layers = model.layers
    ids = {id(layer): str(i) for i, layer in enumerate(layers)}
    for layer in layers:
        label = f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__
        if show_layer_activations and getattr(layer, "activation", None) is not None:
            label += f"|activation: {getattr(layer.activation, '__name__', layer.activation)}"
        if show_trainable:
            label += f"|trainable: {layer.trainable}"
        if show_dtype:
            label += f"|dtype: {layer.dtype}"
        if show_shapes:
            label += f"|output: {_shape_text(_output_shape(layer))}"
        dot.add_node(pydot.Node(ids[id(layer)], label="{" + label.replace("{", "(").replace("}", ")") + "}"))
    for src, dst in _edges(model):
        if id(src) in ids and id(dst) in ids:
            dot.add_edge(pydot.Edge(ids[id(src)], ids[id(dst)]))
    return dot


def _output_shape(layer):
    try:
        return layer.output.shape
    except Exception:  # noqa: BLE001 - a layer used several times has no single output shape
        return None


def _edges(model):
    """(producer layer, consumer layer) pairs, from the functional graph (or the Sequential order)."""
    layers = model.layers
    edges = []
    for layer in layers:
        for node in getattr(layer, "_inbound_nodes", []) or []:
            for t in node.input_tensors:
                if t._history:
                    edges.append((t._history[0], layer))
    if not edges:  # a Sequential stack (or layers without recorded nodes): consecutive layers
        edges = list(zip(layers, layers[1:]))
    return edges


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draw the model with graphviz into ``to_file`` (format from its extension), written atomically."""
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, dpi=dpi, show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable)
    ext = os.path.splitext(to_file)[1][1:] or "png"
    try:
        data = dot.to_string().encode() if ext in ("dot", "gv") else dot.create(format=ext)
    except Exception as e:  # noqa: BLE001 - pydot raises plain Exceptions when graphviz's dot is missing
        raise ImportError(f"plot_model could not run graphviz's `dot` to write {to_file!r} ({e}); install "
                          f"graphviz (apt install graphviz)") from e
    from ...io import atomic_write
    with atomic_write(to_file, "wb") as f:
        f.write(data)
    return to_file
