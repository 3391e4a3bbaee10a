"""Trigonometric and hyperbolic elementwise ops (ONNX Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh,
Asinh, Acosh, Atanh): float kernels from ScalarEmitter's polynomials (codegen/scalar.py: argument
reduction + Taylor series, no libm calls, so the loops vectorize and fuse) and their derivatives,
written with registry ops so second-order graphs stay differentiable:

sin' = cos, cos' = -sin, tan' = 1 + tan^2, asin' = 1/sqrt(1 - x^2), acos' = -1/sqrt(1 - x^2),
atan' = 1/(1 + x^2), sinh' = cosh, cosh' = sinh, asinh' = 1/sqrt(x^2 + 1), acosh' = 1/sqrt(x^2 - 1),
atanh' = 1/(1 - x^2).
"""
from __future__ import annotations

import numpy as np

from .elementwise import _set_grad, _unary

_FUNCS = {"Sin": np.sin, "Cos": np.cos, "Tan": np.tan, "Asin": np.arcsin, "Acos": np.arccos, "Atan": np.arctan,
          "Sinh": np.sinh, "Cosh": np.cosh, "Asinh": np.arcsinh, "Acosh": np.arccosh, "Atanh": np.arctanh}


def _ref(fn):
    def ref(op, x):
        with np.errstate(all="ignore"):
            return fn(x)
    return ref


for _t, _fn in _FUNCS.items():
    _unary(_t, _ref(_fn), (lambda m: lambda s, op, x: getattr(s, m)(x))(_t.lower()))


def _c(ctx, v):
    return ctx.const(v, ctx.type(ctx.inputs[0]).dtype)


def _x2(ctx):
    x = ctx.inputs[0]
    return ctx.emit("Mul", [x, x])


def _times(ctx, dy, f):
    return [ctx.emit("Mul", [dy, f])]


def _over(ctx, dy, d):
    return [ctx.emit("Div", [dy, d])]


_RULES = {
    "Sin": lambda ctx, dy: _times(ctx, dy, ctx.emit("Cos", [ctx.inputs[0]])),
    "Cos": lambda ctx, dy: _times(ctx, dy, ctx.emit("Neg", [ctx.emit("Sin", [ctx.inputs[0]])])),
    "Tan": lambda ctx, dy: _times(ctx, dy, ctx.emit("Add", [ctx.emit("Mul", [ctx.outputs[0], ctx.outputs[0]]),
                                                             _c(ctx, 1.0)])),
    "Asin": lambda ctx, dy: _over(ctx, dy, ctx.emit("Sqrt", [ctx.emit("Sub", [_c(ctx, 1.0), _x2(ctx)])])),
    "Acos": lambda ctx, dy: _over(ctx, ctx.emit("Neg", [dy]),
                                  ctx.emit("Sqrt", [ctx.emit("Sub", [_c(ctx, 1.0), _x2(ctx)])])),
    "Atan": lambda ctx, dy: _over(ctx, dy, ctx.emit("Add", [_x2(ctx), _c(ctx, 1.0)])),
    "Sinh": lambda ctx, dy: _times(ctx, dy, ctx.emit("Cosh", [ctx.inputs[0]])),
    "Cosh": lambda ctx, dy: _times(ctx, dy, ctx.emit("Sinh", [ctx.inputs[0]])),
    "Asinh": lambda ctx, dy: _over(ctx, dy, ctx.emit("Sqrt", [ctx.emit("Add", [_x2(ctx), _c(ctx, 1.0)])])),
    "Acosh": lambda ctx, dy: _over(ctx, dy, ctx.emit("Sqrt", [ctx.emit("Sub", [_x2(ctx), _c(ctx, 1.0)])])),
    "Atanh": lambda ctx, dy: _over(ctx, dy, ctx.emit("Sub", [_c(ctx, 1.0), _x2(ctx)])),
}

for _t, _rule in _RULES.items():
    _set_grad(_t, (lambda r: lambda ctx, op, dys: r(ctx, dys[0]))(_rule))


# --- graphc-domain unary math ONNX lacks: Expm1, Log1p (accurate near 0, where Exp(x) - 1 and Log(1 + x)
# cancel) and StopGradient (identity forward, no gradient: keras.ops.stop_gradient) ---------------------
def _graphc_unary(name, ref, scalar, doc):
    from .common import same_as_input
    from .registry import ELEMWISE, OpDef, register_op
    cls = type(name, (OpDef,), {"__doc__": doc, "attr_defaults": {}, "num_inputs": (1, 1),
                                "infer": staticmethod(same_as_input),
                                "reference": lambda self, op, x: _ref(ref)(op, x).astype(x.dtype),
                                "scalar": lambda self, s, op, x: scalar(s, x)})
    register_op(name, pattern=ELEMWISE, domain="graphc", schema=False)(cls)


_graphc_unary("Expm1", np.expm1, lambda s, x: s.expm1(x), "Expm1(x) = exp(x) - 1, accurate near 0.")
_graphc_unary("Log1p", np.log1p, lambda s, x: s.log1p(x), "Log1p(x) = log(1 + x), accurate near 0.")
_graphc_unary("StopGradient", lambda x: x.copy(), lambda s, x: x,
              "StopGradient(x) = x; the gradient does not flow through it (keras.ops.stop_gradient).")


def _graphc_grad(op_type, rule):
    from .registry import get
    type(get(op_type, "graphc")).grad = staticmethod(rule)


_graphc_grad("Expm1", lambda ctx, op, dys: [ctx.emit("Mul", [dys[0], ctx.emit("Exp", [ctx.inputs[0]])])])
_graphc_grad("Log1p", lambda ctx, op, dys: [ctx.emit("Div", [dys[0], ctx.emit("Add", [ctx.inputs[0],
                                                                                       _c(ctx, 1.0)])])])
_graphc_grad("StopGradient", lambda ctx, op, dys: [None])
