"""``keras.backend``: the Keras 2 names tutorials still use."""
from .config import epsilon, floatx, image_data_format, set_epsilon, set_floatx, set_image_data_format  # noqa: F401


def clear_session(free_memory=True):
    """Reset automatic layer names (dense, dense_1, ...) as Keras does."""
    from .engine import naming
    naming.reset()


def backend():
    return "graphc"
