"""Saving and loading weights in Keras's HDF5 layouts.

``save_weights(model, filepath, overwrite=True)`` and ``load_weights(model, filepath,
skip_mismatch=False)`` are written to become ``Model.save_weights`` / ``Model.load_weights``:

* ``*.weights.h5``: Keras 3's layout (``model.save_weights`` in Keras 3), see ``weights_h5``;
* any other ``*.h5`` / ``*.hdf5``: the legacy tf.keras layout, see ``legacy_h5`` (Keras 3
  only reads it; graphc writes it too).

Files are written under a temporary name and renamed, so an interrupted save never destroys
the previous file. Loading checks every count and shape before assigning anything.

Whole models (``model.save`` / ``keras.models.load_model``, ``.keras`` and legacy ``.h5``) are in
``model_saving``; custom classes are found through ``object_registration``.
"""
from __future__ import annotations

import os

from ..utils.progbar import print_msg
from .legacy_h5 import (load_attributes_from_hdf5_group, load_weights_from_h5, load_weights_from_hdf5_group,
                        load_weights_from_hdf5_group_by_name, save_attributes_to_hdf5_group, save_weights_to_h5,
                        save_weights_to_hdf5_group)
from .weights_h5 import load_weights_from_weights_h5, save_weights_to_weights_h5, saveable_paths

__all__ = ["save_weights", "load_weights", "save_weights_to_h5", "load_weights_from_h5",
           "save_weights_to_weights_h5", "load_weights_from_weights_h5", "save_weights_to_hdf5_group",
           "load_weights_from_hdf5_group", "load_weights_from_hdf5_group_by_name",
           "save_attributes_to_hdf5_group", "load_attributes_from_hdf5_group", "saveable_paths"]


def _ask_to_proceed_with_overwrite(filepath):
    answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if answer == "n":
        return False
    print_msg("[TIP] Next time specify overwrite=True!")
    return True


def save_weights(model, filepath, overwrite=True):
    """``model.save_weights(filepath)``: ``.weights.h5`` -> Keras 3 layout, ``.h5``/``.hdf5`` ->
    legacy layout. With ``overwrite=False`` an existing file is only replaced after a yes at
    the prompt, as in Keras."""
    path = os.fspath(filepath)
    if not path.endswith((".weights.h5", ".h5", ".hdf5")):
        raise ValueError(f"The filename must end in `.weights.h5` (or `.h5` for the legacy HDF5 layout). "
                         f"Received: filepath={path}")
    if os.path.exists(path) and not overwrite and not _ask_to_proceed_with_overwrite(path):
        return
    if path.endswith(".weights.h5"):
        save_weights_to_weights_h5(model, path)
    else:
        save_weights_to_h5(model, path)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """``model.load_weights(filepath)`` from a ``.weights.h5`` file, a legacy ``.h5``/``.hdf5``
    file (weights-only or a full model's) or the weights of a ``.keras`` archive.

    The layout is taken from the file's content when it disagrees with its name. ``by_name=True``
    (legacy files only) matches layers by name instead of by position.
    """
    by_name = kwargs.pop("by_name", None)
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    path = os.fspath(filepath)
    if not path.endswith((".weights.h5", ".h5", ".hdf5", ".keras")):
        raise ValueError(f"File format not supported: filepath={path}. graphc loads `.weights.h5` files, legacy "
                         "H5 format files (`.h5` or `.hdf5`) and the weights of `.keras` files.")
    layout = _layout(path)
    if layout == "legacy":
        load_weights_from_h5(model, path, skip_mismatch=skip_mismatch, by_name=bool(by_name))
        return
    if by_name:
        raise ValueError(f"`by_name` only supports loading legacy '.h5' or '.hdf5' files. Received: {path}")
    load_weights_from_weights_h5(model, path, skip_mismatch=skip_mismatch)


def _layout(path):
    """"legacy" or "v3", from the file's content (legacy files carry ``layer_names``)."""
    from ._h5 import open_for_reading
    if path.endswith(".keras"):
        return "v3"
    with open_for_reading(path) as f:
        if "layer_names" in f.attrs or "layer_names0" in f.attrs or "model_weights" in f:
            return "legacy"
        if "vars" in f or "layers" in f:
            return "v3"
    if path.endswith(".weights.h5"):
        return "v3"
    return "legacy"


from .model_saving import load_model, save_model  # noqa: E402
from .object_registration import (CustomObjectScope, custom_object_scope, get_custom_objects,  # noqa: E402
                                  get_registered_name, get_registered_object, register_keras_serializable)

__all__ += ["save_model", "load_model", "CustomObjectScope", "custom_object_scope", "get_custom_objects",
            "register_keras_serializable", "get_registered_name", "get_registered_object"]
