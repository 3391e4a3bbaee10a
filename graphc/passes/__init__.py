"""Graph passes: plain functions ``pass(g) -> g``, ordered in ``pipeline``."""
from .infer_shapes import infer_shapes
from .fold_constants import fold_constants
from .eliminate_dead import eliminate_dead
from .count_params import count_params
from .cancel_transposes import cancel_transposes
from .fuse_elementwise import fuse_elementwise

__all__ = ["infer_shapes", "fold_constants", "eliminate_dead", "count_params", "cancel_transposes", "fuse_elementwise"]
