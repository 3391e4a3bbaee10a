"""``keras.ops``: Keras's op functions, traced into graphc IR ops.

Inside a layer's ``call`` the arguments are SymbolicValues (or Variables, or numpy
constants) and each function adds ONNX ops to the active graph. Conv/pool functions take
Keras's channels_last layout and kernel shapes; they lower to ONNX's NCHW ops between
Transposes, which the layout pass cancels between consecutive layers.

Families: core.py (arithmetic, matmul, shapes, basic reductions), math_ext.py (trigonometric,
hyperbolic and other numpy ufuncs), reduce_ext.py (more reductions, cumulative ops, sorting),
array_ext.py (creation, indexing, splitting, tiling, einsum/tensordot), misc_ext.py (quantiles, searching,
segments/scatters, attention, depthwise/separable conv, windows), nn.py and nn_ext.py
(activations, normalization, conv/pool, losses), logic.py (comparisons, where), unsupported.py
(the Keras names graphc does not implement, each raising NotImplementedError with an alternative).
"""
from .core import *  # noqa: F401,F403
from .nn import *  # noqa: F401,F403
from .logic import *  # noqa: F401,F403
from .math_ext import *  # noqa: F401,F403
from .reduce_ext import *  # noqa: F401,F403
from .array_ext import *  # noqa: F401,F403
from .nn_ext import *  # noqa: F401,F403
from .misc_ext import *  # noqa: F401,F403
from .unsupported import *  # noqa: F401,F403
from . import core, nn, logic, math_ext, reduce_ext, array_ext, nn_ext, misc_ext, unsupported

__all__ = [n for m in (core, nn, logic, math_ext, reduce_ext, array_ext, nn_ext, misc_ext, unsupported) for n in m.__all__]
