"""Keras 3's ``.weights.h5`` layout (``keras.src.saving.saving_lib``'s H5IOStore).

Every saveable object (the model, its layers, nested layers, the optimizer) has a group at
its *path* in the object tree, holding ``vars`` (attr ``name`` = the object's name) with one
dataset per own variable, named ``"0"``, ``"1"``, ... in the object's store order (variables
created trainable first, then the others)::

    /vars                                    the model itself (attrs: name)
    /layers/dense/vars/0, /layers/dense/vars/1
    /layers/dense_1/vars/...                 the second Dense of the model's layers
    /layers/sequential/layers/dense/vars/... a nested model
    /optimizer/vars/0 ...                    iterations, learning_rate, then the slots

Paths are built as Keras 3 builds them: a Sequential or Functional model lists its layers
under ``layers``; inside such a list an object is named by its snake_case class name made
unique (``dense``, ``dense_1``, ...), never by its (session-dependent) layer name; other
layers and subclassed models list their attributes in sorted order (private ones last),
and an object reached twice is stored once, at the first path.
"""
from __future__ import annotations

import os
import re
import warnings

import numpy as np

from ...errors import SerializationError
from ...io import atomic_write
from ._h5 import assign_all, check_shape, open_for_reading, own_variables, read_dataset, require_built

__all__ = ["save_weights_to_weights_h5", "load_weights_from_weights_h5", "saveable_paths"]


def _snake(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def _name_key(name):
    return f"~{name}" if name.startswith("_") else name


_INTERNAL_CACHE = {}


def _internal_attributes():
    """Attributes graphc's own Layer/Model machinery sets: never part of the object tree."""
    if "attrs" not in _INTERNAL_CACHE:
        from ..engine.layer import Layer
        from ..models.model import Model
        ref = Layer(name="__graphc_reference_layer__")  # named: no auto-name counter is touched
        attrs = set(dir(Layer)) | set(vars(ref)) | set(dir(Model))
        attrs |= {"_exe", "_subclass_inputs", "_compile_cfg", "_compile_args", "_train_programs", "_test_programs",
                  "_loss_tracker", "_output_loss_trackers", "compiled", "optimizer", "history", "stop_training",
                  "_input_layer", "_seq_layers", "_functional", "_nodes", "_layers", "_inputs", "_outputs",
                  "_nested_inputs", "_nested_outputs", "_eager_cache", "_inbound_nodes", "_weights_list"}
        attrs.discard("layers")
        _INTERNAL_CACHE["attrs"] = attrs
    return _INTERNAL_CACHE["attrs"]


def _is_layer(obj):
    from ..engine.layer import Layer
    return isinstance(obj, Layer)


def _is_container_model(obj):
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    return isinstance(obj, (Sequential, Functional))


def _tracked_layers(obj):
    """A subclassed model's layers in the order they were assigned (lists inline), as Keras tracks them."""
    out = []

    def add(v):
        if _is_layer(v):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            for x in v:
                add(x)
        elif isinstance(v, dict):
            for x in v.values():
                add(x)

    internal = _internal_attributes()
    for k, v in vars(obj).items():
        if k not in internal:
            add(v)
    return out


def _children(obj):
    """(attribute name, child) pairs of ``obj`` in Keras 3's walk order."""
    if _is_container_model(obj):
        yield "layers", list(obj.layers)
        return
    from ..models.model import Model
    internal = _internal_attributes()
    attrs = {k: v for k, v in vars(obj).items() if k not in internal}
    if isinstance(obj, Model):
        attrs["layers"] = _tracked_layers(obj)
    for k in sorted(attrs, key=_name_key):
        yield k, attrs[k]


def saveable_paths(model):
    """``[(path, layer), ...]`` for the model and every layer reachable from it, in Keras's order."""
    out, visited = [], set()

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        out.append((path, obj))
        for attr, child in _children(obj):
            sub = f"{path}/{attr}" if path else attr
            if _is_layer(child):
                visit(child, sub)
            elif isinstance(child, (list, tuple, dict)):
                container(child, sub, set())

    def container(items, path, seen):
        if id(items) in seen:
            return
        seen.add(id(items))
        used = {}
        for item in (items.values() if isinstance(items, dict) else items):
            if _is_layer(item):
                visit(item, f"{path}/{_unique(_snake(type(item).__name__), used)}")
            elif isinstance(item, (list, tuple, dict)):
                container(item, f"{path}/{_unique('container', used)}", seen)

    visit(model, "")
    return out


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _vars_path(path):
    return f"{path}/vars" if path else "vars"


def _optimizer(model):
    opt = getattr(model, "optimizer", None)
    variables = getattr(opt, "variables", None) if opt is not None else None
    if callable(variables):
        variables = variables()
    return opt, (list(variables) if variables is not None else None)


# --- saving --------------------------------------------------------------------------------
def _write_vars(f, path, name, variables):
    group = f.create_group(_vars_path(path))
    group.attrs["name"] = name
    for i, v in enumerate(variables):
        group[str(i)] = np.asarray(v.numpy() if hasattr(v, "numpy") else v)


def save_weights_to_weights_h5(model, filepath):
    """Save ``model``'s weights (and its optimizer's state, when compiled) to ``filepath`` in
    Keras 3's ``.weights.h5`` layout, through a temporary file renamed over ``filepath``."""
    import h5py

    require_built(model, "saving")
    path = os.fspath(filepath)
    entries = saveable_paths(model)
    opt, opt_vars = _optimizer(model)
    with atomic_write(path, mode=None) as tmp:
        with h5py.File(tmp, "w") as f:
            for p, layer in entries:
                _write_vars(f, p, layer.name, own_variables(layer))
            if opt_vars is not None:
                _write_vars(f, "optimizer", getattr(opt, "name", type(opt).__name__.lower()), opt_vars)


# --- loading -------------------------------------------------------------------------------
def _read_vars(f, path, filepath):
    """The datasets "0", "1", ... under ``path/vars`` (empty if the file has no such group)."""
    import h5py
    vp = _vars_path(path)
    if vp not in f:
        return None
    group = f[vp]
    if not isinstance(group, h5py.Group):
        raise SerializationError(f"Weights file {filepath!r}: {vp!r} should be a group, found a "
                                 f"{type(group).__name__}")
    keys = list(group.keys())
    expected = [str(i) for i in range(len(keys))]
    if sorted(keys, key=lambda k: (len(k), k)) != expected:
        raise SerializationError(f"Weights file {filepath!r}: {vp!r} should hold datasets named 0..{len(keys) - 1}, "
                                 f"found {sorted(keys)}")
    return [read_dataset(group, k, filepath) for k in expected]


def load_weights_from_weights_h5(model, filepath, skip_mismatch=False):
    """Load a Keras 3 ``.weights.h5`` file into ``model`` (same architecture; layer names may differ).

    Every layer's variable count and every shape are checked before anything is assigned;
    a mismatch is a SerializationError naming the layer, the weight and both shapes, or with
    ``skip_mismatch=True`` a warning (the layer or weight keeps its value). Groups in the file
    that the model does not have are ignored, as in Keras.
    """
    require_built(model, "loading weights into")
    path = os.fspath(filepath)
    pairs = []
    with open_for_reading(path) as f:
        if "vars" not in f and "layers" not in f:
            raise SerializationError(f"{path!r} is not a Keras 3 `.weights.h5` file: it has neither a `vars` nor "
                                     f"a `layers` group (found {sorted(f.keys())[:10]}, attributes "
                                     f"{sorted(f.attrs.keys())[:10]})")
        for p, layer in saveable_paths(model):
            variables = own_variables(layer)
            values = _read_vars(f, p, path)
            values = values or []
            if len(values) != len(variables):
                where = f"/{p}" if p else "/ (the model itself)"
                msg = (f"Layer {layer.name!r} (group {where} in {path!r}) expected {len(variables)} variables "
                       f"{[v.name for v in variables]}, but the file holds {len(values)} variables there")
                if not skip_mismatch:
                    raise SerializationError(msg)
                warnings.warn("Skipping loading weights: " + msg, stacklevel=2)
                continue
            for var, value in zip(variables, values):
                check_shape(var, value, f"layer {layer.name!r} (group /{p})", path, skip_mismatch, pairs)
        opt, opt_vars = _optimizer(model)
        opt_pairs = []
        if opt_vars is not None:
            values = _read_vars(f, "optimizer", path) or []
            if len(values) != len(opt_vars):
                msg = (f"Skipping variable loading for optimizer '{getattr(opt, 'name', opt)}', because it has "
                       f"{len(opt_vars)} variables whereas the saved optimizer has {len(values)} variables. ")
                if len(opt_vars) == 0:
                    msg += "This is likely because the optimizer has not been called/built yet."
                warnings.warn(msg, stacklevel=2)
            else:
                for var, value in zip(opt_vars, values):
                    check_shape(var, value, f"optimizer {getattr(opt, 'name', '')!r}", path, skip_mismatch,
                                opt_pairs)
    assign_all(pairs + opt_pairs)
    _resync_learning_rate(opt, [v for v, _ in opt_pairs])


def _resync_learning_rate(opt, assigned):
    """A loaded learning-rate variable becomes the optimizer's learning rate (its setter keeps
    the value the compiled step reads)."""
    for var in assigned:
        if getattr(var, "name", None) == "learning_rate":
            try:
                opt.learning_rate = float(np.asarray(var.numpy() if hasattr(var, "numpy") else var))
            except (TypeError, ValueError, AttributeError):  # a schedule: not settable
                pass
