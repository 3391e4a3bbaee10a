"""The op registry and every op family (importing this package registers them all)."""
from . import registry
from . import elementwise, gemm, gemm_packed, shape  # noqa: F401  (registers ops)
from . import conv, conv_transpose, pool, norm  # noqa: F401
from . import conv_direct  # noqa: F401  (graphc.DirectConv: Conv without im2col, max pool fused)
from . import conv_grad_direct  # noqa: F401  (graphc.DirectConvGradWeight: dW without im2col)
from . import reduce  # noqa: F401
from . import grad  # noqa: F401  (graphc-domain backward helper ops)
from . import fused  # noqa: F401  (loop fusion)
from . import epilogue  # noqa: F401  (GEMM epilogue fusion)
from . import multi_fused  # noqa: F401  (multi-tensor optimizer update)
from . import loss, loss_probs  # noqa: F401
from . import random  # noqa: F401
from . import conv_lstm  # noqa: F401  (graphc.ConvLSTM and its backward op)
from . import rnn  # noqa: F401  (RNN, GRU, LSTM and their graphc variants and gradients)
from . import lrn, prelu, reduce_more, shape_extra, split  # noqa: F401
from . import rounding  # noqa: F401  (Floor, Ceil, Round, Erf)
from . import logical  # noqa: F401  (comparisons, Not/And/Or, Where)
from . import trig  # noqa: F401  (Sin, Cos, Tan, Asin, ..., Atanh)
from . import symbolic
from . import control, resize  # noqa: F401  (Loop/If expanded at import; Resize)
symbolic.install()  # symbolic shape-value rules for the ops above
from .registry import OPSET, get, has, register_op

__all__ = ["registry", "get", "has", "register_op", "OPSET"]
