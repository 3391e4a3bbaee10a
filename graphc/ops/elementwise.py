"""Elementwise ops: numpy references and LLVM scalar emitters (fused into one loop by codegen)."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from .common import broadcast_infer, same_as_input
from .registry import ELEMWISE, BROADCAST, OpDef, get, register_op


class Unary(OpDef):
    infer = staticmethod(same_as_input)


class Binary(OpDef):
    infer = staticmethod(broadcast_infer)


def _unary(op_type, ref, scalar):
    cls = type(op_type, (Unary,), {"reference": lambda self, op, x: ref(op, x).astype(x.dtype),
                                   "scalar": lambda self, s, op, x: scalar(s, op, x)})
    register_op(op_type, pattern=ELEMWISE)(cls)


INT_KERNELS = ("float32", "float64", "int64", "int32")  # ops whose scalar forms also exist for ints


def _int_div(x, y):
    """ONNX integer Div: truncation toward zero; x / 0 is 0 (the kernel's answer, numpy's too)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(y == 0, 0, np.trunc(np.divide(x, np.where(y == 0, 1, y))))
    return q


def _binary(op_type, ref, scalar):
    cls = type(op_type, (Binary,), {"reference": lambda self, op, x, y: ref(x, y).astype(np.result_type(x, y)),
                                    "scalar": lambda self, s, op, x, y: scalar(s, x, y)})
    register_op(op_type, pattern=BROADCAST)(cls)


def _variadic(op_type, ref, combine):
    def scalar(self, s, op, *xs):
        acc = xs[0]
        for x in xs[1:]:
            acc = combine(s, acc, x)
        return acc if op_type != "Mean" else s.div(acc, float(len(xs)))
    cls = type(op_type, (Binary,), {"reference": lambda self, op, *xs: ref(xs).astype(xs[0].dtype),
                                    "scalar": scalar})
    register_op(op_type, pattern=BROADCAST)(cls)


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _pow(s, x, y):
    """x^y = exp(y log|x|), negated for a negative base with an odd integer exponent; a negative
    base with a non-integer exponent is NaN, and x^0 = 1 (also for x = 0, inf or NaN), as numpy."""
    mag = s.exp(s.mul(y, s.log(s.abs(x))))
    is_int = s.cmp("==", s.floor(y), y)
    half = s.mul(y, 0.5)
    odd = s.b.and_(is_int, s.cmp("!=", s.floor(half), half))
    neg = s.select(is_int, s.select(odd, s.neg(mag), mag), float("nan"))
    return s.select(s.cmp("==", y, 0.0), 1.0, s.select(s.cmp("<", x, 0.0), neg, mag))


def _elu(s, x, alpha):
    return s.select(s.cmp(">", x, 0.0), x, s.mul(s.expm1(x), alpha))


_binary("Add", np.add, lambda s, x, y: s.add(x, y))
_binary("Sub", np.subtract, lambda s, x, y: s.sub(x, y))
_binary("Mul", np.multiply, lambda s, x, y: s.mul(x, y))
_binary("Div", lambda x, y: _int_div(x, y) if np.result_type(x, y).kind in "iu" else np.divide(x, y),
        lambda s, x, y: s.div(x, y))
_binary("Pow", np.power, lambda s, x, y: _pow(s, x, y))
_variadic("Sum", lambda xs: sum(xs[1:], xs[0]), lambda s, a, x: s.add(a, x))
_variadic("Mean", lambda xs: sum(xs[1:], xs[0]) / len(xs), lambda s, a, x: s.add(a, x))
_variadic("Max", lambda xs: np.maximum.reduce(np.broadcast_arrays(*xs)), lambda s, a, x: s.max(a, x))
_variadic("Min", lambda xs: np.minimum.reduce(np.broadcast_arrays(*xs)), lambda s, a, x: s.min(a, x))

_unary("Relu", lambda op, x: np.maximum(x, 0), lambda s, op, x: s.max(x, 0.0))
_unary("LeakyRelu", lambda op, x: np.where(x >= 0, x, x * op.attrs["alpha"]),
       lambda s, op, x: s.select(s.cmp(">=", x, 0.0), x, s.mul(x, op.attrs["alpha"])))
_unary("Elu", lambda op, x: np.where(x > 0, x, op.attrs["alpha"] * np.expm1(x)),
       lambda s, op, x: _elu(s, x, op.attrs["alpha"]))
_unary("Selu", lambda op, x: op.attrs["gamma"] * np.where(x > 0, x, op.attrs["alpha"] * np.expm1(x)),
       lambda s, op, x: s.mul(_elu(s, x, op.attrs["alpha"]), op.attrs["gamma"]))
_unary("Sigmoid", lambda op, x: _sigmoid(x), lambda s, op, x: s.sigmoid(x))
_unary("HardSigmoid", lambda op, x: np.clip(op.attrs["alpha"] * x + op.attrs["beta"], 0, 1),
       lambda s, op, x: s.clip(s.fma(x, op.attrs["alpha"], op.attrs["beta"]), 0.0, 1.0))
_unary("Tanh", lambda op, x: np.tanh(x), lambda s, op, x: s.tanh(x))
_unary("Softplus", lambda op, x: np.logaddexp(x, 0), lambda s, op, x: s.softplus(x))
_unary("Softsign", lambda op, x: x / (1 + np.abs(x)), lambda s, op, x: s.div(x, s.add(s.abs(x), 1.0)))
_unary("Exp", lambda op, x: np.exp(x), lambda s, op, x: s.exp(x))
_unary("Log", lambda op, x: np.log(x), lambda s, op, x: s.log(x))
_unary("Neg", lambda op, x: -x, lambda s, op, x: s.neg(x))
_unary("Abs", lambda op, x: np.abs(x), lambda s, op, x: s.abs(x))
_unary("Sqrt", lambda op, x: np.sqrt(x), lambda s, op, x: s.sqrt(x))
_unary("Reciprocal", lambda op, x: 1 / x, lambda s, op, x: s.div(1.0, x))
_unary("Identity", lambda op, x: x.copy(), lambda s, op, x: x)


@register_op("Clip", pattern=ELEMWISE)
class Clip(OpDef):
    """Clip with optional min/max inputs (opset 11+); they broadcast as scalars."""
    infer = staticmethod(same_as_input)

    def reference(self, op, x, lo=None, hi=None):
        y = x if lo is None else np.maximum(x, lo)
        return (y if hi is None else np.minimum(y, hi)).astype(x.dtype)

    def scalar(self, s, op, x, lo=None, hi=None):
        x = x if lo is None else s.max(x, lo)
        return x if hi is None else s.min(x, hi)


# --- gradient rules (reverse mode; see passes/autodiff.py) -------------------------------
def _grad_add(ctx, op, dys):
    dy = dys[0]
    return [ctx.unbroadcast(dy, x) if n else None for x, n in zip(ctx.inputs, ctx.needs)]


def _grad_sub(ctx, op, dys):
    dy = dys[0]
    x, y = ctx.inputs
    return [ctx.unbroadcast(dy, x) if ctx.needs[0] else None,
            ctx.unbroadcast(ctx.emit("Neg", [dy]), y) if ctx.needs[1] else None]


def _grad_mul(ctx, op, dys):
    dy = dys[0]
    x, y = ctx.inputs
    return [ctx.unbroadcast(ctx.emit("Mul", [dy, y]), x) if ctx.needs[0] else None,
            ctx.unbroadcast(ctx.emit("Mul", [dy, x]), y) if ctx.needs[1] else None]


def _grad_div(ctx, op, dys):
    dy = dys[0]
    x, y = ctx.inputs
    out = ctx.outputs[0]
    return [ctx.unbroadcast(ctx.emit("Div", [dy, y]), x) if ctx.needs[0] else None,
            ctx.unbroadcast(ctx.emit("Neg", [ctx.emit("Div", [ctx.emit("Mul", [dy, out]), y])]), y)
            if ctx.needs[1] else None]


def _set_grad(op_type, rule):
    type(get(op_type)).grad = staticmethod(rule)


for _t, _rule in (("Add", _grad_add), ("Sub", _grad_sub), ("Mul", _grad_mul), ("Div", _grad_div)):
    _set_grad(_t, _rule)


# Activations: dx = graphc.<Op>Grad(dy, v), one fused loop; v is the forward output y where the
# derivative is a function of it (the input can then be freed after the forward pass), else x.
def _act(grad_op, use="y", attrs=()):
    def rule(ctx, op, dys):
        v = ctx.outputs[0] if use == "y" else ctx.inputs[0]
        return [ctx.emit(grad_op, [dys[0], v], domain="graphc", **{a: op.attrs[a] for a in attrs})]
    return rule


def _grad_leaky_relu(ctx, op, dys):  # y >= 0 <=> x >= 0 when alpha > 0
    alpha = op.attrs["alpha"]
    v = ctx.outputs[0] if alpha > 0 else ctx.inputs[0]
    return [ctx.emit("LeakyReluGrad", [dys[0], v], domain="graphc", alpha=alpha)]


def _grad_elu(ctx, op, dys):  # Elu and Selu; y > 0 <=> x > 0 when alpha >= 0 and gamma > 0
    alpha, gamma = op.attrs["alpha"], op.attrs.get("gamma", 1.0)
    from_y = alpha >= 0 and gamma > 0
    return [ctx.emit("EluGrad", [dys[0], ctx.outputs[0] if from_y else ctx.inputs[0]], domain="graphc",
                     alpha=alpha, gamma=gamma, from_output=int(from_y))]


def refuse_grad(ctx, slots, why):
    """Raise if the loss needs the gradient of an input slot this rule treats as a constant."""
    bad = [ctx.inputs[i] for i in slots if i < len(ctx.needs) and ctx.needs[i]]
    if bad:
        raise UnsupportedOpError(f"op {ctx.op.name!r} ({ctx.op.op_type}): no gradient w.r.t. {bad}: {why}")


def _grad_clip(ctx, op, dys):
    refuse_grad(ctx, (1, 2), "Clip's min/max bounds are treated as constants")
    return [ctx.emit("ClipGrad", [dys[0], *ctx.inputs], domain="graphc")]


def _grad_pow(ctx, op, dys):
    """d/dx = dy * p * x^(p-1) (finite at x = 0, unlike p*y/x); d/dp = dy * xlogy(y, x)."""
    dy, (x, p), t = dys[0], ctx.inputs, ctx.type(ctx.inputs[0])
    dx = dp = None
    if ctx.needs[0]:
        pm1 = ctx.emit("Sub", [p, ctx.const(1, t.dtype)])
        dx = ctx.unbroadcast(ctx.emit("Mul", [ctx.emit("Mul", [dy, p]), ctx.emit("Pow", [x, pm1])]), x)
    if ctx.needs[1]:
        dp = ctx.unbroadcast(ctx.emit("Mul", [dy, ctx.emit("XLogY", [ctx.outputs[0], x], domain="graphc")]), p)
    return [dx, dp]


def _grad_mean(ctx, op, dys):
    n = len(ctx.inputs)
    dy = ctx.emit("Mul", [dys[0], ctx.const(1.0 / n, ctx.type(dys[0]).dtype)]) if n > 1 else dys[0]
    return _grad_add(ctx, op, [dy])


def _grad_extremum(ctx, op, dys):
    """Max/Min: the gradient goes to the first input (in slot order) equal to the output at each
    position (ties: first wins, like numpy.argmax), then is unbroadcast to that input's shape."""
    if len(ctx.inputs) == 1:
        return [dys[0]]
    return [ctx.unbroadcast(ctx.emit("SelectFirstEqual", [dys[0], ctx.outputs[0], *ctx.inputs], domain="graphc",
                                     index=i), x) if n else None
            for i, (x, n) in enumerate(zip(ctx.inputs, ctx.needs))]


for _t, _rule in (
        ("Relu", _act("ReluGrad")), ("LeakyRelu", _grad_leaky_relu), ("Elu", _grad_elu), ("Selu", _grad_elu),
        ("Sigmoid", _act("SigmoidGrad")), ("HardSigmoid", _act("HardSigmoidGrad", attrs=("alpha",))),
        ("Tanh", _act("TanhGrad")), ("Softplus", _act("SoftplusGrad")), ("Softsign", _act("SoftsignGrad")),
        ("Abs", _act("AbsGrad", use="x")), ("Sqrt", _act("SqrtGrad")), ("Reciprocal", _act("ReciprocalGrad")),
        ("Exp", lambda ctx, op, dys: [ctx.emit("Mul", [dys[0], ctx.outputs[0]])]),
        ("Log", lambda ctx, op, dys: [ctx.emit("Div", [dys[0], ctx.inputs[0]])]),
        ("Neg", lambda ctx, op, dys: [ctx.emit("Neg", [dys[0]])]),
        ("Identity", lambda ctx, op, dys: [dys[0]]),
        ("Clip", _grad_clip), ("Pow", _grad_pow), ("Sum", _grad_add), ("Mean", _grad_mean),
        ("Max", _grad_extremum), ("Min", _grad_extremum)):
    _set_grad(_t, _rule)


# --- Sign (Keras relu's threshold: x > t <=> Relu(Sign(x - t)) == 1); its gradient is 0 -----------
_unary("Sign", lambda op, x: np.sign(x),
       lambda s, op, x: s.select(s.cmp(">", x, 0.0), 1.0, s.select(s.cmp("<", x, 0.0), -1.0, x)))
_set_grad("Sign", lambda ctx, op, dys: [ctx.emit("Mul", [dys[0], ctx.const(0.0, ctx.type(dys[0]).dtype)])])


# integer kernels: the ScalarEmitter's integer forms (see codegen/scalar.py)
for _t in ("Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Neg", "Abs", "Relu", "Identity", "Clip", "Sign"):
    type(get(_t)).dtypes = INT_KERNELS
