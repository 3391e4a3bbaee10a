"""``keras.ops``: Keras's op functions, traced into graphc IR ops.

Inside a layer's ``call`` the arguments are SymbolicValues (or Variables, or numpy
constants) and each function adds ONNX ops to the active graph. Conv/pool functions take
Keras's channels_last layout and kernel shapes; they lower to ONNX's NCHW ops between
Transposes, which the layout pass cancels between consecutive layers.

Families: core.py (arithmetic, matmul, shapes, basic reductions), math_ext.py (trigonometric,
hyperbolic and other numpy ufuncs), reduce_ext.py (more reductions, cumulative ops, sorting),
array_ext.py (creation, indexing, splitting, tiling, einsum/tensordot), misc_ext.py (quantiles, searching,
segments/scatters, attention, depthwise/separable conv, windows), signal_ext.py (sliding windows,
adaptive pooling, NaN-skipping quantiles), nn.py and nn_ext.py
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
from .signal_ext import *  # noqa: F401,F403
from .unsupported import *  # noqa: F401,F403
from . import core, nn, logic, math_ext, reduce_ext, array_ext, nn_ext, misc_ext, signal_ext, unsupported

__all__ = [n for m in (core, nn, logic, math_ext, reduce_ext, array_ext, nn_ext, misc_ext, signal_ext,
                                  unsupported) for n in m.__all__]


def _namespace(name, names, doc):
    """Keras's ``keras.ops.<name>`` sub-namespaces: the same functions under a second path."""
    import types
    mod = types.ModuleType(f"{__name__}.{name}", doc)
    for n in names:
        setattr(mod, n, globals()[n])
    mod.__all__ = list(names)
    return mod


# keras.ops.nn lists every neural-network function (graphc's nn module holds the original ones)
_NN = ("hard_shrink", "hard_tanh", "glu", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "tanh_shrink",
       "soft_shrink", "threshold", "normalize", "layer_normalization", "rms_normalization", "multi_hot", "moments",
       "psnr", "dot_product_attention", "depthwise_conv", "separable_conv", "space_to_depth", "depth_to_space",
       "ctc_loss", "ctc_decode", "adaptive_average_pool", "adaptive_max_pool", "unfold")
for _n in _NN:
    setattr(nn, _n, globals()[_n])
linalg = _namespace("linalg", ["norm"] + [n for n in ("cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv",
                                                      "jvp", "lstsq", "lu_factor", "matrix_rank", "pinv", "qr",
                                                      "solve", "solve_triangular", "svd")],
                    "keras.ops.linalg: norm (the decompositions and solvers raise NotImplementedError)")
numpy = _namespace("numpy", [n for m in (core, logic, math_ext, reduce_ext, array_ext, misc_ext, signal_ext)
                             for n in m.__all__
                             if n not in ("convert_to_tensor", "cast", "logsumexp", "rsqrt", "erf", "moments",
                                          "top_k", "in_top_k", "segment_sum", "segment_max", "segment_min",
                                          "segment_prod", "norm", "stop_gradient", "convert_to_numpy", "shape",
                                          "slice", "slice_update", "is_tensor", "saturate_cast", "psnr",
                                          "dot_product_attention", "depthwise_conv", "separable_conv",
                                          "space_to_depth", "depth_to_space", "scatter", "scatter_update",
                                          "extract_sequences", "unfold", "adaptive_average_pool",
                                          "adaptive_max_pool")],
                   "keras.ops.numpy: the numpy-style functions of keras.ops")
__all__ += ["linalg", "numpy"]
del _n
