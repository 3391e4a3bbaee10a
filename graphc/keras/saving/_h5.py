"""Helpers shared by the two HDF5 weight layouts: opening files, reading safely, assigning."""
from __future__ import annotations

import contextlib
import io
import os
import warnings
import zipfile

import numpy as np

from ...errors import SerializationError

# The Keras API level graphc's files declare in ``keras_version`` (Keras only reads it to
# convert Keras 1 files); graphc's own version goes in ``graphc_version``.
KERAS_VERSION = "3.0.0"


def graphc_version():
    try:
        from importlib.metadata import version
        return version("graphc")
    except Exception:  # pragma: no cover - running from a source tree that is not installed
        return "0.1.0"


@contextlib.contextmanager
def open_for_reading(filepath):
    """An open ``h5py.File`` for ``filepath`` (or the weights inside a ``.keras`` archive).

    A missing file is FileNotFoundError; anything that is not a readable HDF5 file (truncated,
    corrupt, another format) is a SerializationError that names the file.
    """
    import h5py

    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such weights file: {path!r}")
    if os.path.isdir(path):
        raise SerializationError(f"Cannot load weights from {path!r}: it is a directory, not an HDF5 file")
    try:
        if path.endswith(".keras"):
            with zipfile.ZipFile(path) as archive:
                data = io.BytesIO(archive.read("model.weights.h5"))
            f = h5py.File(data, "r")
        else:
            f = h5py.File(path, "r")
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        raise SerializationError(f"Cannot read weights file {path!r}: it is not a valid HDF5 weights file "
                                 f"(truncated or corrupt?): {e}") from e
    try:
        yield f
    except (OSError, RuntimeError) as e:  # h5py's errors on damaged data while reading
        raise SerializationError(f"Cannot read weights file {path!r}: damaged data ({e})") from e
    finally:
        with contextlib.suppress(Exception):
            f.close()


def read_dataset(group, name, filepath):
    """The array stored at ``group[name]``; a missing or non-dataset entry is a SerializationError."""
    import h5py

    try:
        link = group.get(name, default=None, getclass=True, getlink=True)
    except (KeyError, ValueError):
        link = None
    if link in (h5py.ExternalLink, h5py.SoftLink):
        raise SerializationError(f"Weights file {filepath!r}: {group.name}/{name} is a link, which weight files "
                                 "may not contain")
    try:
        ds = group[name]
    except (KeyError, ValueError) as e:
        raise SerializationError(f"Weights file {filepath!r} lists weight {name!r} under {group.name!r}, but "
                                 f"holds no such dataset (corrupt file?)") from e
    if not isinstance(ds, h5py.Dataset):
        raise SerializationError(f"Weights file {filepath!r}: {ds.name!r} should be a dataset, found a "
                                 f"{type(ds).__name__}")
    if ds.external or ds.is_virtual:
        raise SerializationError(f"Weights file {filepath!r}: {ds.name!r} is an external or virtual dataset, "
                                 "which weight files may not contain")
    try:
        return np.asarray(ds[()])
    except (OSError, RuntimeError, ValueError) as e:
        raise SerializationError(f"Cannot read {ds.name!r} from weights file {filepath!r}: {e}") from e


def own_variables(layer):
    """A layer's own variables in Keras's store order: declared-trainable ones, then the others
    (Keras keeps this order when a layer is frozen later)."""
    own = list(getattr(layer, "_weights_list", []))
    declared = [getattr(v, "_declared_trainable", v.trainable) for v in own]
    return [v for v, t in zip(own, declared) if t] + [v for v, t in zip(own, declared) if not t]


def keras_weights(layer):
    """``layer.weights`` in Keras 3's order: the layer's own variables in store order, then its
    sublayers' (each once). graphc's ``Layer.weights`` keeps creation order instead, which only
    differs for a layer that creates a non-trainable weight before a trainable one."""
    out, seen = [], set()
    from ..models.model import Model
    subs = layer.layers if isinstance(layer, Model) else getattr(layer, "_sublayers", [])
    for v in own_variables(layer) + [w for sub in subs for w in keras_weights(sub)]:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def assign_all(pairs):
    """Assign every (variable, value) pair; called only after every check passed, so a failed
    load leaves the model as it was."""
    for var, value in pairs:
        var.assign(np.asarray(value).astype(var.dtype, copy=False))


def check_shape(var, value, where, filepath, skip_mismatch, pairs):
    """Queue ``value`` for ``var`` if the shapes agree; else warn (skip_mismatch) or raise."""
    expected, received = tuple(var.shape), tuple(np.shape(value))
    if expected == received:
        pairs.append((var, value))
        return
    msg = (f"Shape mismatch in {where} for weight {getattr(var, 'path', var.name)}: weight expects shape "
           f"{expected}. Received saved weight with shape {received} (file {filepath!r})")
    if skip_mismatch:
        warnings.warn("Skipping loading weights: " + msg, stacklevel=4)
        return
    raise SerializationError(msg)


def require_built(model, action):
    if not getattr(model, "built", False):
        raise ValueError(f"You are {action} a model that has not yet been built (model {model.name!r}). Try building "
                         "the model first by calling it on some data or by using `build()`.")
