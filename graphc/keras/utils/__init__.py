"""``keras.utils``: seeding, label encoding and small array helpers (pure numpy).

graphc keeps one global ``numpy.random.Generator`` (:func:`rng`). Everything random in the
front end draws from it: unseeded initializers take their seed from it when they are
constructed (as Keras 3 takes it from Python's ``random``), and layers such as Dropout take
their seeds from it. :func:`set_random_seed` reseeds it, so a program that calls
``keras.utils.set_random_seed(s)`` before building its model is reproducible.
"""
from __future__ import annotations

import numbers
import random as _python_random

import numpy as np

__all__ = ["set_random_seed", "to_categorical", "normalize", "get_file", "Progbar", "PyDataset", "Sequence",
           "pad_sequences", "timeseries_dataset_from_array", "register_keras_serializable", "get_custom_objects",
           "custom_object_scope", "CustomObjectScope", "get_registered_name", "get_registered_object",
           "plot_model", "model_to_dot", "clear_session"]

_state = {"generator": None, "seed": None}


def rng() -> np.random.Generator:
    """The global generator graphc's front end draws from (internal; seeded by ``set_random_seed``)."""
    if _state["generator"] is None:
        _state["generator"] = np.random.default_rng()
    return _state["generator"]


def make_default_seed() -> int:
    """A fresh integer seed from the global generator (for objects created with ``seed=None``)."""
    return int(rng().integers(1, 10**9))


def get_random_seed():
    """The seed last given to :func:`set_random_seed`, or ``None`` if it was never called."""
    return _state["seed"]


def set_random_seed(seed):
    """Seed every random number generator graphc uses, as ``keras.utils.set_random_seed`` does.

    Seeds graphc's global generator (initializers, dropout), Python's ``random`` and
    numpy's legacy global state (``np.random.seed``), which data pipelines often use.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r} "
                         f"(of type {type(seed)})")
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"Expected `seed` to be in [0, 2**32), as numpy's global seed must be. "
                         f"Received: seed={seed}")
    _state["seed"] = seed
    _state["generator"] = np.random.default_rng(seed)
    _python_random.seed(seed)
    np.random.seed(seed)


def to_categorical(x, num_classes=None):
    """Convert a vector of class indices to a one-hot matrix (class axis last), dtype float32.

    As in Keras, an input of shape ``(..., 1)`` (rank > 1) is treated as ``(...)``, and
    ``num_classes`` defaults to ``max(x) + 1``.
    """
    original = x
    x = np.asarray(x)
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)):
            raise ValueError(f"to_categorical expects integer class indices; received non-finite values in {original!r}")
    elif x.dtype.kind not in "iub":
        raise ValueError(f"to_categorical expects integer class indices; received an array of dtype {x.dtype}")
    x = x.astype(np.int64)
    input_shape = x.shape
    if len(input_shape) > 1 and input_shape[-1] == 1:
        input_shape = input_shape[:-1]
    flat = x.reshape(-1)
    if num_classes is None or num_classes == 0:
        if flat.size == 0:
            raise ValueError("to_categorical cannot infer `num_classes` from an empty input; pass num_classes")
        num_classes = int(flat.max()) + 1
    num_classes = int(num_classes)
    if flat.size:
        lo, hi = int(flat.min()), int(flat.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"to_categorical: class indices must be in [0, {num_classes}) "
                             f"(num_classes={num_classes}); received values in [{lo}, {hi}]")
    out = np.zeros((flat.size, num_classes), dtype=np.float32)
    out[np.arange(flat.size), flat] = 1.0
    return out.reshape(tuple(input_shape) + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Divide ``x`` by its ``order``-norm along ``axis`` (zero norms are left as 1), as Keras does.

    Unlike Keras's numpy path, a 1-D input keeps its shape instead of gaining a leading axis.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    if axis is None:
        norm = np.asarray(np.linalg.norm(x.reshape(-1), order))
        norm = np.where(norm == 0, 1, norm)
        return x / norm
    norm = np.linalg.norm(x, order, axis, keepdims=True)
    norm = np.where(norm == 0, 1, norm)
    return x / norm


def _keras_home():
    import os
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return home if os.access(os.path.dirname(home) or ".", os.W_OK) or os.path.isdir(home) \
        else os.path.join("/tmp", ".keras")


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False):
    """The local path of a file Keras would download to its cache: ``cache_dir/cache_subdir/fname``
    (default ``$KERAS_HOME/datasets``, ``~/.keras/datasets``), checked against ``file_hash`` (sha256 or
    md5) when given.

    graphc works offline and never downloads: when the file is not in the cache the error names the
    path to put it at (the URL is ``origin``)."""
    import hashlib
    import os
    if fname is None:
        if origin is None:
            raise ValueError("get_file needs `fname` or `origin`")
        fname = os.path.basename(origin.split("?")[0])
    if os.path.isabs(fname) and os.path.exists(fname):
        path = fname
    else:
        base = os.path.expanduser(cache_dir) if cache_dir else _keras_home()
        path = os.path.join(base, cache_subdir, fname)
    if force_download or not os.path.exists(path):
        raise FileNotFoundError(
            f"keras.utils.get_file: {path!r} is not there and graphc works offline (it never downloads). "
            f"Download {origin or fname!r} yourself and save it at that path (or pass cache_dir=).")
    expected = file_hash or md5_hash
    if expected:
        algo = hash_algorithm if hash_algorithm in ("sha256", "md5") else ("md5" if len(expected) == 32 else "sha256")
        h = hashlib.new(algo)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != expected:
            raise ValueError(f"keras.utils.get_file: {path!r} is corrupt or a different file: its {algo} is "
                             f"{h.hexdigest()}, expected {expected}")
    return path


try:  # the progress bar lives next to this module (keras.utils.Progbar)
    from .progbar import Progbar  # noqa: E402
except ImportError:  # pragma: no cover - only while the training front end is being assembled
    __all__.remove("Progbar")


from .py_dataset import PyDataset, Sequence  # noqa: E402
from .sequences import pad_sequences, timeseries_dataset_from_array  # noqa: E402
from .plotting import model_to_dot, plot_model  # noqa: E402


def __getattr__(name):
    # the saving registry imports keras layers: resolved lazily (keras.utils is imported early)
    if name in ("register_keras_serializable", "get_custom_objects", "custom_object_scope", "CustomObjectScope",
                "get_registered_name", "get_registered_object"):
        from .. import saving
        return getattr(saving, name)
    if name == "clear_session":
        from ..backend import clear_session
        return clear_session
    raise AttributeError(f"module 'graphc.keras.utils' has no attribute {name!r}")
