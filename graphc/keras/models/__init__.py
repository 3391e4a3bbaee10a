"""``keras.models``: Model (functional or subclassed), Sequential."""
from .functional import Functional
from .model import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "Functional"]
