"""Keras's legacy HDF5 weights layout (tf.keras ``.h5`` files; Keras 3 reads it too).

Layout::

    /                      attrs: layer_names (every layer of model.layers, in order),
                                  backend, keras_version
    /<layer name>          attrs: weight_names = ["<layer>/<weight>", ...] in legacy order:
                                  the layer's trainable weights, then its non-trainable ones
    /<layer name>/<weight name>   one dataset per weight ("/" in a name nests groups)
    /top_level_model_weights      the model's own weights (usually none)

A list attribute larger than HDF5's 64 KB object-header limit is split into ``name0``,
``name1``, ... as Keras does. Loading is topological: the i-th layer *with weights* in the file
goes to the i-th layer with weights in the model, whatever their names.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from ...errors import SerializationError
from ...io import atomic_write
from ._h5 import KERAS_VERSION, assign_all, check_shape, graphc_version, keras_weights, open_for_reading, \
    read_dataset, require_built

HDF5_OBJECT_HEADER_LIMIT = 64512

__all__ = ["save_weights_to_h5", "load_weights_from_h5", "save_weights_to_hdf5_group",
           "load_weights_from_hdf5_group", "load_weights_from_hdf5_group_by_name",
           "save_attributes_to_hdf5_group", "load_attributes_from_hdf5_group", "legacy_weights"]


def legacy_weights(layer):
    """The layer's weights in the legacy order, as Keras 3 computes it: ``trainable_weights +
    non_trainable_weights`` over its weights in Keras 3's order (a frozen layer has no
    trainable weights: all of them, in that order, are non-trainable)."""
    weights = keras_weights(layer)
    if not layer.trainable:
        return weights
    return [w for w in weights if w.trainable] + [w for w in weights if not w.trainable]


def _top_level_weights(model):
    own = list(getattr(model, "_weights_list", []))
    return [w for w in own if w.trainable] + [w for w in own if not w.trainable]


# --- attributes ----------------------------------------------------------------------------
def save_attributes_to_hdf5_group(group, name, data):
    """Store the list ``data`` as attribute ``name``, split into ``name0``, ``name1``, ... when it
    exceeds HDF5's object-header limit (64512 bytes)."""
    too_big = [x for x in data if len(x) > HDF5_OBJECT_HEADER_LIMIT]
    if too_big:
        raise SerializationError(f"The following attributes cannot be saved to HDF5 file because they are larger "
                                 f"than {HDF5_OBJECT_HEADER_LIMIT} bytes: {too_big}")
    data_npy = np.asarray(data)
    num_chunks = 1
    chunks = np.array_split(data_npy, num_chunks)
    while any(c.nbytes > HDF5_OBJECT_HEADER_LIMIT for c in chunks):
        num_chunks += 1
        chunks = np.array_split(data_npy, num_chunks)
    if num_chunks > 1:
        for i, chunk in enumerate(chunks):
            group.attrs[f"{name}{i}"] = chunk
    else:
        group.attrs[name] = data


def load_attributes_from_hdf5_group(group, name):
    """The list stored by :func:`save_attributes_to_hdf5_group` (chunked or not), as str."""
    def decode(values):
        return [v.decode("utf8") if hasattr(v, "decode") else str(v) for v in np.atleast_1d(values)]

    if name in group.attrs:
        return decode(group.attrs[name])
    data, i = [], 0
    while f"{name}{i}" in group.attrs:
        data.extend(decode(group.attrs[f"{name}{i}"]))
        i += 1
    return data


# --- saving --------------------------------------------------------------------------------
def _save_subset(group, weights):
    names, seen = [], set()
    for w in weights:
        name = str(getattr(w, "path", None) or w.name)
        base, k = name, 1
        while name in seen:  # two weights with one path: keep both
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        names.append(name)
    save_attributes_to_hdf5_group(group, "weight_names", [n.encode("utf8") for n in names])
    for name, w in zip(names, weights):
        value = np.asarray(w.numpy() if hasattr(w, "numpy") else w)
        ds = group.create_dataset(name, value.shape, dtype=value.dtype)
        if value.shape:
            ds[:] = value
        else:
            ds[()] = value


def save_weights_to_hdf5_group(group, model):
    """Write ``model``'s weights into the open HDF5 group (a file, or a full-model file's
    ``model_weights`` group)."""
    layers = list(model.layers)
    names = [layer.name for layer in layers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SerializationError(f"Model {model.name!r} has several layers named {dupes}; the HDF5 weights layout "
                                 "keys layers by name, so layer names must be unique")
    save_attributes_to_hdf5_group(group, "layer_names", [n.encode("utf8") for n in names])
    group.attrs["backend"] = b"graphc"
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    group.attrs["graphc_version"] = graphc_version().encode("utf8")
    # groups in name order, so that no group name is a prefix created after a longer one
    for layer in sorted(layers, key=lambda l: l.name):
        _save_subset(group.create_group(layer.name), legacy_weights(layer))
    _save_subset(group.create_group("top_level_model_weights"), _top_level_weights(model))


def save_weights_to_h5(model, filepath):
    """Save ``model``'s weights to ``filepath`` in the legacy HDF5 layout.

    The file is written under a temporary name and renamed over ``filepath``: an interrupted
    save leaves any previous file intact.
    """
    import h5py

    require_built(model, "saving")
    path = os.fspath(filepath)
    with atomic_write(path, mode=None) as tmp:
        with h5py.File(tmp, "w") as f:
            save_weights_to_hdf5_group(f, model)


# --- loading -------------------------------------------------------------------------------
def _group(parent, name, filepath):
    import h5py
    try:
        g = parent[name]
    except (KeyError, ValueError) as e:
        raise SerializationError(f"Weights file {filepath!r} lists layer {name!r} but holds no group for it "
                                 "(corrupt file?)") from e
    if not isinstance(g, h5py.Group):
        raise SerializationError(f"Weights file {filepath!r}: {name!r} should be a group, found a "
                                 f"{type(g).__name__}")
    return g


def _load_subset(group, filepath):
    return [read_dataset(group, n, filepath) for n in load_attributes_from_hdf5_group(group, "weight_names")]


def load_weights_from_hdf5_group(group, model, skip_mismatch=False, filepath=None):
    """Topological loading: the i-th layer with weights in the file -> the i-th in the model.

    Every count and shape is checked before any weight is assigned. A shape mismatch is a
    SerializationError naming the layer, the weight and both shapes, or with
    ``skip_mismatch=True`` a warning (that weight keeps its value).
    """
    filepath = filepath or group.file.filename
    layers = [layer for layer in model.layers if legacy_weights(layer)]
    if "layer_names" not in group.attrs and "layer_names0" not in group.attrs:
        raise SerializationError(f"{filepath!r} is not a Keras HDF5 weights file: it has no `layer_names` "
                                 f"attribute (found groups {sorted(group.keys())[:10]})")
    file_names = [n for n in load_attributes_from_hdf5_group(group, "layer_names")
                  if load_attributes_from_hdf5_group(_group(group, n, filepath), "weight_names")]
    if len(file_names) != len(layers):
        raise SerializationError(
            f"Layer count mismatch when loading weights from file {filepath!r}: you are trying to load a weight "
            f"file containing {len(file_names)} layers into a model with {len(layers)} layers (counting layers "
            f"that have weights). File layers: {file_names}; model layers: {[l.name for l in layers]}")
    pairs = []
    for k, (name, layer) in enumerate(zip(file_names, layers)):
        symbolic = legacy_weights(layer)
        values = _load_subset(_group(group, name, filepath), filepath)
        if len(values) != len(symbolic):
            raise SerializationError(
                f"Weight count mismatch for layer #{k} (named {layer.name} in the current model, {name} in the "
                f"file {filepath!r}): the layer expects {len(symbolic)} weight(s) "
                f"{[w.name for w in symbolic]}, the file holds {len(values)}")
        where = f"layer #{k} (named {layer.name} in the current model, {name} in the file)"
        for var, value in zip(symbolic, values):
            check_shape(var, value, where, filepath, skip_mismatch, pairs)
    pairs += _top_level_pairs(group, model, skip_mismatch, filepath)
    assign_all(pairs)


def _top_level_pairs(group, model, skip_mismatch, filepath):
    pairs = []
    if "top_level_model_weights" in group:
        symbolic = _top_level_weights(model)
        values = _load_subset(_group(group, "top_level_model_weights", filepath), filepath)
        if len(values) != len(symbolic):
            msg = (f"Weight count mismatch for top-level weights of model {model.name!r} when loading {filepath!r}: "
                   f"the model expects {len(symbolic)} top-level weight(s), the file holds {len(values)}")
            if not skip_mismatch:
                raise SerializationError(msg)
            warnings.warn("Skipping loading top-level weights: " + msg, stacklevel=3)
            return pairs
        for var, value in zip(symbolic, values):
            check_shape(var, value, "the top-level model", filepath, skip_mismatch, pairs)
    return pairs


def load_weights_from_hdf5_group_by_name(group, model, skip_mismatch=False, filepath=None):
    """Name-based loading: each layer of the file goes to the model's layer of the same name;
    layers without a match are skipped."""
    filepath = filepath or group.file.filename
    index = {}
    for layer in model.layers:
        index.setdefault(layer.name, []).append(layer)
    pairs = []
    for k, name in enumerate(load_attributes_from_hdf5_group(group, "layer_names")):
        values = _load_subset(_group(group, name, filepath), filepath)
        for layer in index.get(name, []):
            symbolic = legacy_weights(layer)
            if len(values) != len(symbolic):
                msg = (f"Weight count mismatch for layer #{k} (named {layer.name}) in {filepath!r}: the layer "
                       f"expects {len(symbolic)} weight(s), the file holds {len(values)}")
                if skip_mismatch:
                    warnings.warn("Skipping loading of weights: " + msg, stacklevel=2)
                    continue
                raise SerializationError(msg)
            for var, value in zip(symbolic, values):
                check_shape(var, value, f"layer #{k} (named {layer.name})", filepath, skip_mismatch, pairs)
    pairs += _top_level_pairs(group, model, skip_mismatch, filepath)
    assign_all(pairs)


def load_weights_from_h5(model, filepath, skip_mismatch=False, by_name=False):
    """Load weights saved in the legacy layout, from a weights file or a full-model ``.h5``
    file (its ``model_weights`` group)."""
    require_built(model, "loading weights into")
    path = os.fspath(filepath)
    with open_for_reading(path) as f:
        group = f
        if "layer_names" not in f.attrs and "layer_names0" not in f.attrs and "model_weights" in f:
            group = _group(f, "model_weights", path)
        loader = load_weights_from_hdf5_group_by_name if by_name else load_weights_from_hdf5_group
        loader(group, model, skip_mismatch=skip_mismatch, filepath=path)
