"""``keras.ops``: Keras's op functions, traced into graphc IR ops.

Inside a layer's ``call`` the arguments are SymbolicValues (or Variables, or numpy
constants) and each function adds ONNX ops to the active graph. Conv/pool functions take
Keras's channels_last layout and kernel shapes; they lower to ONNX's NCHW ops between
Transposes, which the layout pass cancels between consecutive layers.
"""
from .core import *  # noqa: F401,F403
from .nn import *  # noqa: F401,F403
from .logic import *  # noqa: F401,F403
from .core import __all__ as _core_all
from .nn import __all__ as _nn_all
from .logic import __all__ as _logic_all

__all__ = list(_core_all) + list(_nn_all) + list(_logic_all)
