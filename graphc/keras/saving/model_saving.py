"""Whole-model saving: ``model.save(path)`` and ``keras.models.load_model(path)``.

Two formats, both as Keras 3 writes them:

* ``.h5`` / ``.hdf5`` (legacy): root attributes ``model_config`` (JSON ``{"class_name",
  "config"}``), ``training_config`` (when compiled), ``keras_version``, ``backend``; the weights
  in a ``model_weights`` group in the legacy weights layout.
* ``.keras``: a zip holding ``config.json`` (the serialized model, with ``compile_config``),
  ``metadata.json`` and ``model.weights.h5`` (Keras 3's weights layout, optimizer included).

Both are written under a temporary name and renamed, so an interrupted save leaves the previous
file intact. Loading rebuilds the model from its config through a registry of
``graphc.keras.layers`` by class name (plus ``custom_objects``), loads the weights (every
shape checked first) and, with ``compile=True``, compiles it as it was saved.
"""
from __future__ import annotations

import datetime
import inspect
import json
import os
import threading
import zipfile

from ...errors import SerializationError
from ...io import atomic_write
from ._h5 import KERAS_VERSION, graphc_version, open_for_reading

__all__ = ["save_model", "load_model", "serialize_model_config", "model_from_config"]


# --- serializing ---------------------------------------------------------------------------
def _layer_registry():
    from .. import layers as layers_mod
    from ..engine.layer import Layer
    from ..models import Functional, Sequential
    reg = {name: obj for name, obj in vars(layers_mod).items()
           if inspect.isclass(obj) and issubclass(obj, Layer)}
    reg.update({"Sequential": Sequential, "Functional": Functional, "Model": Functional})
    return reg


def _is_builtin(cls):
    return _layer_registry().get(cls.__name__) is cls


def _json_ready(obj, where):
    """Configs hold tuples and numpy scalars: make them plain JSON values."""
    import numpy as np
    if isinstance(obj, dict):
        return {str(k): _json_ready(v, where) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(v, where) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, slice):  # a GetItem key, as Keras 3 serializes it
        return {"class_name": "__slice__", "config": {"start": _json_ready(obj.start, where),
                                                      "stop": _json_ready(obj.stop, where),
                                                      "step": _json_ready(obj.step, where)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if callable(obj) and hasattr(obj, "__name__"):
        return obj.__name__
    raise SerializationError(f"Cannot serialize the config of {where}: value {obj!r} of type "
                             f"{type(obj).__name__} is not JSON-serializable (override get_config)")


def _serialize_layer(layer):
    cls = type(layer)
    from ..models import Functional, Sequential
    if isinstance(layer, (Sequential, Functional)):
        config = _model_config(layer)
    else:
        config = _json_ready(layer.get_config(), f"layer {layer.name!r}")
        # The model's InputLayer entry carries the input shape; Keras 3's layers do not take
        # `batch_input_shape` (graphc's layers record it from `input_shape=` / `input_dim=`).
        from ..layers import InputLayer
        if not isinstance(layer, InputLayer):
            config.pop("batch_input_shape", None)
    if getattr(layer, "is_operation", False):  # a keras.ops node: Keras 3's Operation entry
        return {"module": layer.keras_module, "class_name": cls.__name__, "config": config,
                "registered_name": cls.__name__}
    builtin = _is_builtin(cls)
    if isinstance(layer, (Sequential, Functional)) and builtin:  # nested models, named as Keras names them
        if isinstance(layer, Sequential):
            return {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None}
        return {"module": "keras.src.models.functional", "class_name": "Functional", "config": config,
                "registered_name": "Functional"}
    from .object_registration import get_registered_name
    return {"module": "keras.layers" if builtin else cls.__module__, "class_name": cls.__name__,
            "config": config, "registered_name": None if builtin else get_registered_name(cls)}


def _model_config(model):
    from ..models import Functional, Sequential
    if isinstance(model, Sequential):
        model._require_built("config")
        entries = [_serialize_layer(model._input_layer)] + [_serialize_layer(l) for l in model.layers]
        return {"name": model.name, "trainable": model.trainable, "layers": entries,
                "build_input_shape": list(model._input_layer.batch_shape)}
    if isinstance(model, Functional):
        return _functional_config(model)
    raise SerializationError(f"Cannot save model {model.name!r} of class {type(model).__name__}: graphc saves "
                             "Sequential and Functional models (subclassed models: use save_weights)")


def _functional_config(model):
    from ..engine.keras_tensor import KerasTensor
    from ..engine.node import map_structure
    model_nodes = {id(n) for n in model._nodes}
    reindex = {}  # id(node) -> index of the node among its layer's nodes in this model
    for layer in model.operations:
        k = 0
        for node in layer._inbound_nodes:
            if id(node) in model_nodes:
                reindex[id(node)] = k
                k += 1

    def history(t):
        layer, node_index, tensor_index = t._history
        return [layer.name, reindex.get(id(layer._inbound_nodes[node_index]), 0), tensor_index]

    def arg(x):
        if isinstance(x, KerasTensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(x.shape), "dtype": x.dtype, "keras_history": history(x)}}
        return _json_ready(x, "a layer call argument")

    entries = []
    for layer in model.operations:
        entry = _serialize_layer(layer)
        entry["name"] = layer.name
        nodes = [n for n in layer._inbound_nodes if id(n) in model_nodes and not n.is_input]
        entry["inbound_nodes"] = [{"args": map_structure(arg, list(n.call_args)),
                                   "kwargs": map_structure(arg, dict(n.call_kwargs))} for n in nodes]
        entries.append(entry)
    def io_history(t):
        # Keras 3 numbers a nested functional model's nodes from 1 in input_layers/output_layers (its
        # loader subtracts the "built-in node"), but from 0 in the inbound nodes' arguments
        name, node_index, tensor_index = history(t)
        from ..models import Functional
        return [name, node_index + (1 if isinstance(t._history[0], Functional) else 0), tensor_index]

    return {"name": model.name, "trainable": model.trainable, "layers": entries,
            "input_layers": map_structure(io_history, model._nested_inputs),
            "output_layers": map_structure(io_history, model._nested_outputs)}


def serialize_model_config(model):
    """``{"class_name", "config"}`` of a Sequential or Functional model (Keras 3's layout)."""
    from ..models import Sequential
    return {"class_name": "Sequential" if isinstance(model, Sequential) else "Functional",
            "config": _model_config(model)}


def _serialize_compile_arg(value, kind):
    from .. import losses as losses_mod
    from .. import metrics as metrics_mod
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: _serialize_compile_arg(v, kind) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_compile_arg(v, kind) for v in value]
    try:
        if kind == "loss":
            return losses_mod.serialize(value)
        return metrics_mod.serialize(value)
    except ValueError:
        if kind == "metric":
            return losses_mod.serialize(value)
        raise


def _compile_config(model):
    """The compile arguments as Keras 3 saves them, or None when the model is not compiled."""
    cfg = getattr(model, "_compile_cfg", None)
    if cfg is None:
        return None
    from .. import optimizers as optimizers_mod
    loss, loss_weights, metrics, weighted_metrics = cfg.metric_args
    return {"optimizer": optimizers_mod.serialize(cfg.optimizer),
            "loss": _serialize_compile_arg(loss, "loss"), "loss_weights": _json_ready(loss_weights, "loss_weights"),
            "metrics": _serialize_compile_arg(metrics, "metric"),
            "weighted_metrics": _serialize_compile_arg(weighted_metrics, "metric"),
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


# Keras 3's legacy-HDF5 loader deserializes a loss string through keras.losses.deserialize, which
# rejects these aliases (ValueError "Could not deserialize 'keras.metrics.mse'") though compile()
# accepts them: the .h5 training_config names the function instead. Metric aliases deserialize.
_LOSS_ALIASES = {"bce": "binary_crossentropy", "kld": "kl_divergence", "mae": "mean_absolute_error",
                 "mse": "mean_squared_error", "mape": "mean_absolute_percentage_error",
                 "msle": "mean_squared_logarithmic_error"}


def _legacy_compile_arg(value, kind):
    """One loss/metric entry of a compile config in the legacy .h5 ``training_config`` form:
    a function is its name (as Keras's h5 writer saves it; Keras's metric deserializer rejects the
    ``builtins.function`` dict of the .keras format) and a loss alias is the function's name."""
    if isinstance(value, dict) and value.get("class_name") == "function" and isinstance(value.get("config"), str):
        value = value["config"]
    if isinstance(value, str):
        return _LOSS_ALIASES.get(value.lower(), value) if kind == "loss" else value
    if isinstance(value, dict) and "class_name" in value:
        return value
    if isinstance(value, dict):
        return {k: _legacy_compile_arg(v, kind) for k, v in value.items()}
    if isinstance(value, list):
        return [_legacy_compile_arg(v, kind) for v in value]
    return value


def _legacy_training_config(compile_cfg):
    """``training_config`` of a legacy .h5 file from the compile config."""
    kinds = {"loss": "loss", "metrics": "metric", "weighted_metrics": "metric"}
    return {k: _legacy_compile_arg(v, kinds[k]) if k in kinds else v for k, v in compile_cfg.items()
            if k != "optimizer"}


def _check_saveable(model, path):
    from ..models import Functional, Sequential
    if not isinstance(model, (Sequential, Functional)):
        raise SerializationError(f"Cannot save model {model.name!r} to {path!r}: graphc saves Sequential and "
                                 f"Functional models; for a subclassed model ({type(model).__name__}) use "
                                 "save_weights")
    if not model.built:
        raise ValueError(f"Cannot save model {model.name!r}: it has not been built yet (call it on data or give "
                         "it an input shape)")


def save_model(model, filepath, overwrite=True):
    """``model.save(filepath)``: ``.keras`` archive or legacy ``.h5``/``.hdf5`` file, written atomically."""
    from . import _ask_to_proceed_with_overwrite
    path = os.fspath(filepath)
    if not path.endswith((".keras", ".h5", ".hdf5")):
        raise ValueError("Invalid filepath extension for saving. Please add either a `.keras` extension for the "
                         f"native Keras format (recommended) or a `.h5` extension. Received: filepath={path}")
    _check_saveable(model, path)
    if os.path.exists(path) and not overwrite and not _ask_to_proceed_with_overwrite(path):
        return
    if path.endswith(".keras"):
        _save_keras(model, path)
    else:
        _save_h5(model, path)


def _save_h5(model, path):
    import h5py
    from .legacy_h5 import save_weights_to_hdf5_group
    config = json.dumps(serialize_model_config(model))
    compile_cfg = _compile_config(model)
    with atomic_write(path, mode=None) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["keras_version"] = KERAS_VERSION
            f.attrs["backend"] = "graphc"
            f.attrs["graphc_version"] = graphc_version()
            f.attrs["model_config"] = config
            if compile_cfg is not None:
                training = _legacy_training_config(compile_cfg)
                opt = compile_cfg["optimizer"]
                training["optimizer_config"] = {"class_name": opt["class_name"], "config": opt["config"]}
                f.attrs["training_config"] = json.dumps(training)
            save_weights_to_hdf5_group(f.create_group("model_weights"), model)
            _save_optimizer_weights(f, model)


def _save_optimizer_weights(f, model):
    """``optimizer_weights`` as Keras writes it: datasets at each variable's path, listed in the
    group's ``weight_names`` (only once the optimizer has state)."""
    from .legacy_h5 import _save_subset
    opt = getattr(model, "optimizer", None) if getattr(model, "_compile_cfg", None) is not None else None
    if opt is None or not getattr(opt, "built", False):
        return
    variables = list(opt.variables() if callable(opt.variables) else opt.variables)
    if variables:
        _save_subset(f.create_group("optimizer_weights"), variables)


def _save_keras(model, path):
    from .weights_h5 import save_weights_to_weights_h5
    from ..models import Sequential
    config = serialize_model_config(model)
    entry = {"module": "keras" if isinstance(model, Sequential) else "keras.src.models.functional",
             "class_name": config["class_name"], "config": config["config"],
             "registered_name": None if isinstance(model, Sequential) else "Functional",
             "build_config": {"input_shape": list(model.inputs[0].shape) if len(model.inputs) == 1 else None}}
    compile_cfg = _compile_config(model)
    if compile_cfg is not None:
        entry["compile_config"] = compile_cfg
    metadata = {"keras_version": KERAS_VERSION, "graphc_version": graphc_version(),
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    with atomic_write(path, mode=None) as tmp:
        weights_tmp = tmp + ".weights.h5"
        try:
            save_weights_to_weights_h5(model, weights_tmp)
            with zipfile.ZipFile(tmp, "w") as archive:
                archive.writestr("metadata.json", json.dumps(metadata))
                archive.writestr("config.json", json.dumps(entry))
                archive.write(weights_tmp, "model.weights.h5")
        finally:
            if os.path.exists(weights_tmp):
                os.unlink(weights_tmp)


# --- deserializing -------------------------------------------------------------------------
def _unknown(name, path):
    return SerializationError(
        f"Unknown layer: '{name}' (in {path!r}). Please ensure you are using a `keras.utils.custom_object_scope` "
        f"and that this object is included in the scope, or pass it as `custom_objects={{'{name}': {name}}}` to "
        "`load_model`.")


def _accepted_kwargs(cls):
    from ..engine.layer import _BASE_KWARGS, Layer
    names = set(_BASE_KWARGS)
    for klass in cls.__mro__:
        if klass is Layer or klass is object:
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters
        names |= {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names


def _clean_layer_config(cls, config, builtin):
    """Keras-written configs: dtype policies become dtype names; options graphc's built-in layers
    do not have (quantization, LoRA, ...) are left out when they hold their default (None/False)."""
    config = dict(config)
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        config["dtype"] = (dtype.get("config") or {}).get("name", "float32")
    if builtin:
        accepted = _accepted_kwargs(cls)
        for key in [k for k in config if k not in accepted]:
            value = config.pop(key)
            if value not in (None, False, 0, [], {}) and key not in ("build_config",):
                raise SerializationError(f"graphc's {cls.__name__} does not support option {key}={value!r}")
    return config


def _is_op_name(class_name):
    from ..ops.dispatch import op_class
    return op_class(class_name) is not None


def _resolve_class(entry, custom_objects, path):
    from .object_registration import all_custom_objects
    name = entry.get("class_name")
    module = str(entry.get("module") or "")
    # a keras.ops node (Keras 3 Operation). Keras's legacy .h5 drops the module: an Operation's config is
    # then told from a layer's (Add the op vs Add the merge layer) by having no `trainable` entry
    if module.startswith("keras.src.ops") or (not module and "trainable" not in (entry.get("config") or {})
                                              and _is_op_name(name)):
        from ..ops.dispatch import op_class
        cls = op_class(name)
        if cls is None:
            raise SerializationError(f"{path!r}: the model uses the operation {name} ({entry.get('module')}), "
                                     "which graphc's keras.ops does not have")
        return cls, False
    custom = all_custom_objects(custom_objects)
    cls = custom.get(name) or (custom.get(entry.get("registered_name")) if entry.get("registered_name") else None)
    registry = _layer_registry()
    if cls is None:
        cls = registry.get(name)
    if cls is None and entry.get("registered_name"):
        short = str(entry["registered_name"]).split(">")[-1]
        cls = custom.get(short) or registry.get(short)
    if cls is None:
        raise _unknown(name, path)
    return cls, registry.get(cls.__name__) is cls


def _deserialize_layer(entry, custom_objects, path):
    from ..models import Functional, Sequential
    cls, builtin = _resolve_class(entry, custom_objects, path)
    config = entry.get("config") or {}
    if isinstance(cls, type) and issubclass(cls, (Sequential, Functional)) and builtin:
        return _model_from(cls, config, custom_objects, path)
    config = _clean_layer_config(cls, config, builtin)
    kwargs = {}
    try:
        params = inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        params = {}
    if "safe_mode" in params:  # Lambda: its function's bytecode only loads with safe_mode=False
        from .. import config as _config
        kwargs["safe_mode"] = getattr(_SAFE_MODE, "value", True) and _config.in_safe_mode()
    if "custom_objects" in params:
        kwargs["custom_objects"] = custom_objects
    try:
        return cls.from_config(config, **kwargs)
    except (TypeError, ValueError) as e:
        raise SerializationError(f"Could not rebuild layer {config.get('name')!r} of class {entry.get('class_name')} "
                                 f"from {path!r}: {e}") from e


def _model_from(cls, config, custom_objects, path):
    from ..models import Sequential
    if issubclass(cls, Sequential):
        return _sequential_from(config, custom_objects, path)
    return _functional_from(config, custom_objects, path)


def _sequential_from(config, custom_objects, path):
    from ..layers import InputLayer
    from ..models import Sequential
    layers = [_deserialize_layer(e, custom_objects, path) for e in config.get("layers", [])]
    model = Sequential(layers, name=config.get("name"), trainable=config.get("trainable", True))
    if not model.built and config.get("build_input_shape") is not None and \
            not any(isinstance(l, InputLayer) for l in layers):
        model.build(tuple(config["build_input_shape"]))
    return model


def _is_ref(x):
    return isinstance(x, (list, tuple)) and len(x) == 3 and isinstance(x[0], str) and \
        isinstance(x[1], int) and isinstance(x[2], int)


def _functional_from(config, custom_objects, path):
    from ..engine.node import flatten
    from ..layers import InputLayer
    from ..models import Functional
    layers, pending, tensors = [], {}, {}
    for entry in config.get("layers", []):
        layer = _deserialize_layer(entry, custom_objects, path)
        name = entry.get("name", layer.name)
        layers.append((name, layer))
        if isinstance(layer, InputLayer):
            tensors[(name, 0, 0)] = layer._output
        pending[name] = list(entry.get("inbound_nodes") or [])
    done = {name: 0 for name, _ in layers}

    def is_tensor(x):
        return isinstance(x, dict) and x.get("class_name") == "__keras_tensor__"

    def ref(x):
        h = x["config"]["keras_history"]
        return (h[0], int(h[1]), int(h[2]))

    def leaves(x):
        if is_tensor(x):
            return [ref(x)]
        if isinstance(x, dict):
            return [r for v in x.values() for r in leaves(v)]
        if isinstance(x, (list, tuple)):
            return [r for v in x for r in leaves(v)]
        return []

    def materialize(x):
        if is_tensor(x):
            return tensors[ref(x)]
        if isinstance(x, dict) and x.get("class_name") == "__slice__":
            c = x.get("config") or {}
            return slice(c.get("start"), c.get("stop"), c.get("step"))
        if isinstance(x, dict) and x.get("class_name") == "__ellipsis__":
            return Ellipsis
        if isinstance(x, dict):
            return {k: materialize(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [materialize(v) for v in x]
        return x

    progress = True
    while progress and any(pending.values()):
        progress = False
        for name, layer in layers:
            while pending[name]:
                node = pending[name][0]
                if isinstance(node, list):  # Keras 2 style node: [[name, node, tensor, kwargs], ...]
                    node = {"args": [[{"class_name": "__keras_tensor__", "config": {"keras_history": r[:3]}}
                                      for r in node]] if len(node) > 1 else
                            [{"class_name": "__keras_tensor__", "config": {"keras_history": node[0][:3]}}],
                            "kwargs": node[0][3] if len(node) == 1 and len(node[0]) > 3 else {}}
                if not all(r in tensors for r in leaves(node)):
                    break
                args = materialize(node.get("args", []))
                kwargs = materialize(node.get("kwargs", {}))
                out = layer(*args, **kwargs)
                for i, t in enumerate(flatten(out)):
                    tensors[(name, done[name], i)] = t
                done[name] += 1
                pending[name].pop(0)
                progress = True
    if any(pending.values()):
        stuck = sorted(n for n, v in pending.items() if v)
        raise SerializationError(f"Cannot rebuild the functional model in {path!r}: the inputs of layers {stuck} "
                                 "are never produced (corrupt model_config?)")

    by_name = dict(layers)

    def lookup(r):
        key = (r[0], int(r[1]), int(r[2]))
        if isinstance(by_name.get(r[0]), Functional) and key[1] >= 1:  # Keras's "built-in node" offset
            key = (key[0], key[1] - 1, key[2])
        if key not in tensors:
            raise SerializationError(f"Model config in {path!r} refers to tensor {list(r)}, which no layer "
                                     "produces")
        return tensors[key]

    def structure(spec):
        if _is_ref(spec):
            return lookup(spec)
        if isinstance(spec, dict):
            return {k: structure(v) for k, v in spec.items()}
        return [structure(s) for s in spec]

    inputs = structure(config["input_layers"])
    outputs = structure(config["output_layers"])
    return Functional(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))


def model_from_config(config, custom_objects=None, path="<config>"):
    """A Sequential or Functional model from ``{"class_name", "config"}``."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise SerializationError(f"{path!r}: the model config is not a {{'class_name', 'config'}} dict")
    from ..models import Functional, Sequential
    cls, builtin = _resolve_class(config, custom_objects, path)
    if builtin and issubclass(cls, (Sequential, Functional)):
        return _model_from(cls, config.get("config") or {}, custom_objects, path)
    return _deserialize_layer(config, custom_objects, path)


def _compile_from(model, cfg, custom_objects):
    """Compile ``model`` with the saved optimizer, loss, metrics and loss weights."""
    from .. import losses as losses_mod
    from .. import metrics as metrics_mod
    from .. import optimizers as optimizers_mod

    def obj(value, mod):
        if isinstance(value, dict) and "class_name" in value:
            return mod.deserialize(value, custom_objects=custom_objects)
        if isinstance(value, dict):
            return {k: obj(v, mod) for k, v in value.items()}
        if isinstance(value, list):
            return [obj(v, mod) for v in value]
        if isinstance(value, str) and custom_objects and value in custom_objects:
            return custom_objects[value]
        return value

    opt = cfg.get("optimizer")
    if opt is None and "optimizer_config" in cfg:
        opt = cfg["optimizer_config"]
    optimizer = optimizers_mod.deserialize(opt, custom_objects=custom_objects) if isinstance(opt, dict) else \
        (opt or "rmsprop")
    model.compile(optimizer=optimizer, loss=obj(cfg.get("loss"), losses_mod), loss_weights=cfg.get("loss_weights"),
                  metrics=obj(cfg.get("metrics"), metrics_mod),
                  weighted_metrics=obj(cfg.get("weighted_metrics"), metrics_mod))


def _json_attr(f, name, path):
    value = f.attrs.get(name)
    if value is None:
        return None
    if hasattr(value, "decode"):
        value = value.decode("utf8")
    try:
        return json.loads(value)
    except ValueError as e:
        raise SerializationError(f"{path!r}: attribute {name!r} is not valid JSON ({e})") from e


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """``keras.models.load_model``: a model saved by ``model.save`` (graphc or Keras 3), as
    ``.keras`` or legacy ``.h5``/``.hdf5``."""
    from .object_registration import all_custom_objects
    custom_objects = all_custom_objects(custom_objects)
    previous = getattr(_SAFE_MODE, "value", True)
    _SAFE_MODE.value = bool(safe_mode)
    try:
        return _load_model(filepath, custom_objects, compile)
    finally:
        _SAFE_MODE.value = previous


_SAFE_MODE = threading.local()  # load_model's safe_mode, for the layers that read it (Lambda)


def _load_model(filepath, custom_objects, compile):
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"File not found: filepath={path}. Please ensure the file is an accessible `.keras` "
                                "zip file.")
    if path.endswith(".keras") or zipfile.is_zipfile(path):
        return _load_keras(path, custom_objects, compile)
    if path.endswith((".h5", ".hdf5")):
        return _load_h5(path, custom_objects, compile)
    raise ValueError(f"File format not supported: filepath={path}. graphc's load_model supports `.keras` files "
                     "and legacy `.h5`/`.hdf5` files.")


def _load_h5(path, custom_objects, compile):
    from .legacy_h5 import _group, _load_subset, load_weights_from_hdf5_group
    with open_for_reading(path) as f:
        config = _json_attr(f, "model_config", path)
        if config is None:
            raise SerializationError(f"No model config found in the file at {path!r}: it holds weights only (use "
                                     "model.load_weights) or is not a Keras model file")
        model = model_from_config(config, custom_objects, path)
        if "model_weights" not in f:
            raise SerializationError(f"{path!r} has a model config but no `model_weights` group (truncated or "
                                     "corrupt file?)")
        load_weights_from_hdf5_group(_group(f, "model_weights", path), model, filepath=path)
        training = _json_attr(f, "training_config", path) if compile else None
        opt_values = None
        if training is not None and "optimizer_weights" in f:
            opt_values = _load_subset(_group(f, "optimizer_weights", path), path)
    if training is not None:
        _compile_from(model, training, custom_objects)
        if opt_values is not None:
            _set_optimizer_weights(model, opt_values, path)
    return model


def _set_optimizer_weights(model, values, path):
    """The saved optimizer state, when it fits the rebuilt optimizer; else a warning (as Keras)."""
    import warnings

    import numpy as np
    opt = model.optimizer
    try:
        opt.build(model.trainable_weights)
        variables = list(opt.variables() if callable(opt.variables) else opt.variables)
        if len(values) < len(variables) and len(values) <= 2 and \
                [getattr(v, "name", "") for v in variables[:2]] == ["iteration", "learning_rate"][:2]:
            # saved before the optimizer had state (compiled, never trained): iterations and the
            # learning rate only
            for var, value in zip(variables, values):
                if tuple(var.shape) != tuple(np.shape(value)):
                    raise ValueError(f"optimizer variable {var.name!r} has shape {tuple(var.shape)}, the file "
                                     f"holds shape {tuple(np.shape(value))}")
            for var, value in zip(variables, values):
                var.assign(np.asarray(value).astype(var.dtype))
            if len(values) == 2 and hasattr(opt, "_uses_lr_variable") and opt._uses_lr_variable():
                opt.learning_rate = float(np.asarray(values[1]))
            return
        opt.set_weights(values)
    except ValueError as e:
        warnings.warn(f"Error in loading the saved optimizer state from {path!r}: {e}. As a result, your model is "
                      "starting with a freshly initialized optimizer.", stacklevel=3)


def _load_keras(path, custom_objects, compile):
    from .weights_h5 import load_weights_from_weights_h5
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = {"config.json", "model.weights.h5"} - names
            if missing:
                raise SerializationError(f"{path!r} is not a complete `.keras` archive: missing {sorted(missing)}")
            raw = archive.read("config.json")
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise SerializationError(f"Cannot read {path!r}: not a valid `.keras` zip archive (truncated or "
                                 f"corrupt?): {e}") from e
    try:
        config = json.loads(raw)
    except ValueError as e:
        raise SerializationError(f"{path!r}: config.json is not valid JSON ({e})") from e
    model = model_from_config(config, custom_objects, path)
    compile_cfg = config.get("compile_config") if compile else None
    if compile_cfg:
        _compile_from(model, compile_cfg, custom_objects)
        opt = getattr(model, "optimizer", None)
        # build the optimizer's state when the file has some (more than iterations and the
        # learning rate: an optimizer saved before training has no state yet)
        if opt is not None and _archive_optimizer_variables(path) > 2:
            opt.build(model.trainable_weights)
    load_weights_from_weights_h5(model, path)
    return model


def _archive_optimizer_variables(path):
    with open_for_reading(path) as f:
        group = f.get("optimizer/vars")
        return len(group) if group is not None else 0

