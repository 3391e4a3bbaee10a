"""``keras.models``: Model (functional or subclassed), Sequential."""
from .functional import Functional
from .model import Model
from .sequential import Sequential



def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """``keras.models.load_model``: a model saved with ``model.save`` (``.keras`` or legacy ``.h5``)."""
    from ..saving import load_model as _load_model
    return _load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    """``keras.models.save_model``: the same as ``model.save(filepath)``."""
    return model.save(filepath, overwrite=overwrite, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """A new model (freshly initialized weights) from ``model.to_json()``'s architecture."""
    import json

    from ..saving.model_saving import model_from_config
    return model_from_config(json.loads(json_string), custom_objects=custom_objects, path="<json>")


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """A new model with the same architecture and freshly initialized weights (Keras's ``clone_model``);
    ``clone_function(layer)`` may return a replacement layer for each layer of a Sequential model."""
    from ..saving.model_saving import model_from_config, serialize_model_config
    if input_tensors is not None or call_function is not None:
        raise NotImplementedError("clone_model: input_tensors and call_function are not supported by graphc; "
                                  "build the new model with the functional API instead")
    if clone_function is not None:
        if not isinstance(model, Sequential):
            raise NotImplementedError("clone_model: clone_function is supported for Sequential models in graphc")
        from ..layers import InputLayer
        first = [InputLayer(batch_shape=model._input_layer.batch_shape)] if model._input_layer is not None else []
        return Sequential(first + [clone_function(layer) for layer in model._seq_layers], name=model.name)
    return model_from_config(serialize_model_config(model))


__all__ = ["Model", "Sequential", "Functional", "load_model", "save_model", "model_from_json", "clone_model"]
