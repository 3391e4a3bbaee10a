"""model.summary(): Keras 3's table (name (type), output shape, param #, totals)."""
from __future__ import annotations

import numpy as np

from ..engine.node import flatten


def readable_memory_size(nbytes):
    for unit in ["B", "KB", "MB", "GB", "TB"]:
        if nbytes / 1024 < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.2f} PB"


def _shape_str(outputs):
    shapes = [t.shape for t in flatten(outputs)]
    fmt = [f"({', '.join(str(d) for d in s)}{',' if len(s) == 1 else ''})" for s in shapes]
    return fmt[0] if len(fmt) == 1 else "[" + ", ".join(fmt) + "]"


def _model_nodes(model):
    """layer -> its nodes inside this model (a shared layer has several)."""
    functional = getattr(model, "_functional", None) or model
    nodes = {}
    for node in getattr(functional, "_nodes", []):
        nodes.setdefault(node.layer, []).append(node)
    return nodes


def _table(rows, headers, widths, aligns):
    def line(l, m, r, fill="─"):
        return l + m.join(fill * (w + 2) for w in widths) + r

    def row(cells):
        out = []
        for c, w, a in zip(cells, widths, aligns):
            c = c if len(c) <= w else c[:w - 1] + "…"
            out.append(" " + (c.rjust(w) if a == "r" else c.ljust(w)) + " ")
        return "│" + "│".join(out) + "│"

    lines = [line("┏", "┳", "┓", "━"), row(headers).replace("│", "┃"), line("┡", "╇", "┩", "━")]
    for i, r in enumerate(rows):
        if i:
            lines.append(line("├", "┼", "┤"))
        lines.append(row(r))
    lines.append(line("└", "┴", "┘"))
    return lines


def summary_lines(model, line_length=None, show_trainable=False):
    functional = hasattr(model, "_layers") and not hasattr(model, "_seq_layers")
    nodes = _model_nodes(model)
    rows = []
    for layer in getattr(model, "operations", model.layers):  # keras.ops nodes have rows too
        layer_nodes = nodes.get(layer, [])
        shape = _shape_str(layer_nodes[0].outputs) if layer_nodes else "?"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        row = [f"{layer.name} ({type(layer).__name__})", shape, params]
        if functional:
            parents = [f"{t._history[0].name}[{t._history[1]}][{t._history[2]}]"
                       for node in layer_nodes for t in node.input_tensors]
            row.append(", ".join(parents) if parents else "-")
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        rows.append(row)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else []) + \
              (["Trainable"] if show_trainable else [])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    widths[0], widths[1], widths[2] = max(widths[0], 31), max(widths[1], 22), max(widths[2], 13)
    lines = [f'Model: "{model.name}"'] + _table(rows, headers, widths, ["l", "l", "r", "l", "l"])
    # Keras 3 counts every weight of the model (also those the computation does not read, such as
    # Normalization's count) and sizes them by their own dtype
    weights = model.weights if model.built else []
    t = sum(int(np.prod(w.shape)) for w in weights if w.trainable)
    nt = sum(int(np.prod(w.shape)) for w in weights if not w.trainable)
    tb = sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in weights if w.trainable)
    ntb = sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in weights if not w.trainable)
    lines += [f" Total params: {t + nt:,} ({readable_memory_size(tb + ntb)})",
              f" Trainable params: {t:,} ({readable_memory_size(tb)})",
              f" Non-trainable params: {nt:,} ({readable_memory_size(ntb)})"]
    return lines


def print_summary(model, line_length=None, print_fn=None, show_trainable=False):
    lines = summary_lines(model, line_length, show_trainable)
    if print_fn is None:
        print("\n".join(lines))
    else:
        for line in lines:
            print_fn(line)
