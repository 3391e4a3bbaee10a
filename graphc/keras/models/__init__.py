"""``keras.models``: Model (functional or subclassed), Sequential."""
from .functional import Functional
from .model import Model
from .sequential import Sequential



def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """``keras.models.load_model``: a model saved with ``model.save`` (``.keras`` or legacy ``.h5``)."""
    from ..saving import load_model as _load_model
    return _load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


__all__ = ["Model", "Sequential", "Functional", "load_model"]
