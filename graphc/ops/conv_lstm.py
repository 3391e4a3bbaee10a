"""graphc.ConvLSTM: a 2-D convolutional LSTM over a sequence of NCHW images (Keras ConvLSTM2D).

``ConvLSTM(X, W, R, B?, initial_h?, initial_c?, mask?) -> Y, Y_h, Y_c``

- X [B, T, C, H, W]; W [4F, C, kh, kw] (the input convolution: attrs strides, dilations, pads or
  auto_pad, as Conv); R [4F, F, rh, rw] (the recurrent convolution over h_{t-1}: stride 1,
  'same' padding with the odd pad element last, as Keras); B [4F]; initial_h / initial_c
  [B, F, Ho, Wo]; mask [B, T] (1 = the step runs; 0 = h and c carry over and the output is
  h_{t-1}, or 0 with ``zero_output_for_mask=1``: Keras 3's rnn on JAX).
- Gates i, f, c, o (Keras order), F filters each: ``z = W*x_t + R*h_{t-1} + B``,
  ``c_t = ra(z_f) c_{t-1} + ra(z_i) a(z_c)``, ``h_t = ra(z_o) a(c_t)`` with ``a`` =
  ``activation`` and ``ra`` = ``recurrent_activation`` (tanh, sigmoid, relu, hard_sigmoid
  (Keras 3: relu6(x + 3) / 6), linear).
- ``reverse=1`` processes the steps from the last to the first (Keras go_backwards); Y lists
  the outputs in processing order, as Keras does.
- Y [B, T, F, Ho, Wo]; Y_h, Y_c [B, F, Ho, Wo].

The kernel (codegen/kernels/conv_lstm.py) computes the input convolution of all B*T images up
front (im2col + the shared GEMM) and loops over time in generated code. The gradient rule emits
``graphc.ConvLSTMGrad`` (forward inputs, dY?, dY_h?, dY_c?) -> dX, dW, dR, dB, dH0, dC0, whose
kernel recomputes the forward pass into a workspace tape and runs backpropagation through time.
"""
from __future__ import annotations

import numpy as np

from ..codegen.kernels.conv_lstm import ACTIVATIONS, ConvLstmConfig, emit_backward, emit_forward, workspace_shapes
from ..errors import ShapeError, UnsupportedOpError
from ..ir import TensorType
from .conv import Window, conv_reference, window_geometry
from .registry import OPAQUE, OpDef, register_op

DOMAIN = "graphc"
_ATTRS = {"strides": None, "dilations": None, "pads": None, "auto_pad": "NOTSET", "activation": "tanh",
          "recurrent_activation": "sigmoid", "reverse": 0, "zero_output_for_mask": 0}
_SLOTS = ("X", "W", "R", "B", "initial_h", "initial_c", "mask")


def _where(op):
    return f"op {op.name!r} (graphc.{op.op_type})"


def _same_shape(a, b):
    return len(a) == len(b) and all(p == q for p, q in zip(a, b))


def recurrent_window(out, kernel):
    """'same' padding, stride 1 over the (Ho, Wo) state: total pad k - 1, the odd element last."""
    pb = tuple((k - 1) // 2 for k in kernel)
    pe = tuple(k - 1 - p for k, p in zip(kernel, pb))
    return Window(tuple(out), tuple(kernel), (1, 1), (1, 1), pb, pe, tuple(out))


def conv_lstm_config(op, types) -> tuple:
    """Validate the forward inputs (a dict slot name -> TensorType or None); returns
    (ConvLstmConfig, B, T, Ho, Wo)."""
    where = _where(op)
    a = op.attrs
    x, w, r = types["X"], types["W"], types["R"]
    if x is None or w is None or r is None:
        raise ShapeError(f"{where}: inputs X, W and R are required")
    if x.dtype not in ("float32", "float64"):
        raise ShapeError(f"{where}: X expected float32 or float64, received {x}")
    for name, t in types.items():
        if t is not None and t.dtype != x.dtype:
            raise ShapeError(f"{where}: {name} expected dtype {x.dtype} (X's), received {t}")
    if x.rank != 5:
        raise ShapeError(f"{where}: X expected rank 5 [batch, time, channels, height, width], received {x}")
    if not all(isinstance(d, int) for d in x.shape[2:]):
        raise ShapeError(f"{where}: X channels and spatial dimensions must be static, received {x}")
    if w.rank != 4 or not all(isinstance(d, int) for d in w.shape) or w.shape[0] % 4 or w.shape[1] != x.shape[2]:
        raise ShapeError(f"{where}: W expected static shape [4*filters, {x.shape[2]}, kh, kw], received {w}")
    F = w.shape[0] // 4
    if r.rank != 4 or not all(isinstance(d, int) for d in r.shape) or r.shape[:2] != (4 * F, F):
        raise ShapeError(f"{where}: R expected static shape [{4 * F}, {F}, kh, kw], received {r}")
    for name in ("activation", "recurrent_activation"):
        if a[name] not in ACTIVATIONS:
            raise UnsupportedOpError(f"{where}: {name} expected one of {sorted(ACTIVATIONS)}, received {a[name]!r}")
    B, T = x.shape[0], x.shape[1]
    geo = window_geometry(op, TensorType(x.dtype, (1,) + x.shape[2:]), w.shape[2:])
    Ho, Wo = geo.out
    if types["B"] is not None and tuple(types["B"].shape) != (4 * F,):
        raise ShapeError(f"{where}: B expected shape ({4 * F},), received {types['B']}")
    for name in ("initial_h", "initial_c"):
        t = types[name]
        if t is not None and not _same_shape(t.shape, (B, F, Ho, Wo)):
            raise ShapeError(f"{where}: {name} expected shape {(B, F, Ho, Wo)}, received {t}")
    mt = types["mask"]
    if mt is not None and not _same_shape(mt.shape, (B, T)):
        raise ShapeError(f"{where}: mask expected shape {(B, T)} [batch, time], received {mt}")
    cfg = ConvLstmConfig(x.dtype, x.shape[2], F, Ho * Wo, geo, recurrent_window(geo.out, r.shape[2:]),
                         a["activation"], a["recurrent_activation"], bool(a["reverse"]),
                         bool(a["zero_output_for_mask"]))
    return cfg, B, T, Ho, Wo


def _types(in_types, names):
    return {n: (in_types[i] if i < len(in_types) else None) for i, n in enumerate(names)}


_NP_ACTS = {
    "tanh": np.tanh, "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)), "relu": lambda x: np.maximum(x, 0.0),
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0), "linear": lambda x: x,
}


def conv_lstm_reference(op, x, w, r, bias=None, h0=None, c0=None, mask=None):
    """numpy ConvLSTM in float64: a plain loop over time of Conv references."""
    t = TensorType(str(x.dtype), x.shape)
    cfg, B, T, Ho, Wo = conv_lstm_config(op, {**dict.fromkeys(_SLOTS), "X": t, "W": TensorType(str(w.dtype), w.shape),
                                              "R": TensorType(str(r.dtype), r.shape)})
    F = cfg.F
    act, ract = _NP_ACTS[cfg.activation], _NP_ACTS[cfg.recurrent_activation]
    xw = conv_reference(x.reshape((B * T,) + x.shape[2:]).astype(np.float64), w.astype(np.float64),
                        None if bias is None else bias.astype(np.float64), cfg.geo, 1).reshape(B, T, 4 * F, Ho, Wo)
    h = np.zeros((B, F, Ho, Wo)) if h0 is None else h0.astype(np.float64)
    c = np.zeros((B, F, Ho, Wo)) if c0 is None else c0.astype(np.float64)
    ys = []
    for step in range(T):
        tin = T - 1 - step if cfg.reverse else step
        z = xw[:, tin] + conv_reference(h, r.astype(np.float64), None, cfg.rgeo, 1)
        i, f, g, o = ract(z[:, :F]), ract(z[:, F:2 * F]), act(z[:, 2 * F:3 * F]), ract(z[:, 3 * F:])
        cn = f * c + i * g
        hn = o * act(cn)
        m = np.ones(B) if mask is None else (mask[:, tin] > 0.5).astype(np.float64)
        m = m[:, None, None, None]
        ys.append(m * hn + (1 - m) * (0.0 if cfg.zero_output_for_mask else h))
        h, c = m * hn + (1 - m) * h, m * cn + (1 - m) * c
    y = np.stack(ys, 1) if ys else np.zeros((B, 0, F, Ho, Wo))
    return tuple(v.astype(x.dtype) for v in (y, h, c))


@register_op("ConvLSTM", pattern=OPAQUE, domain=DOMAIN, schema=False)
class ConvLSTM(OpDef):
    num_inputs = (3, 7)
    num_outputs = (3, 3)
    attr_defaults = dict(_ATTRS)

    def infer(self, op, in_types, g):
        _, B, T, Ho, Wo = conv_lstm_config(op, _types(in_types, _SLOTS))
        x = in_types[0]
        F = in_types[1].shape[0] // 4
        return [TensorType(x.dtype, (B, T, F, Ho, Wo)), TensorType(x.dtype, (B, F, Ho, Wo)),
                TensorType(x.dtype, (B, F, Ho, Wo))]

    def reference(self, op, *arrays):
        return conv_lstm_reference(op, *arrays)

    def workspace(self, op, in_types):
        cfg, B, T, _, _ = conv_lstm_config(op, _types(in_types, _SLOTS))
        return [TensorType(cfg.dtype, s) for s in workspace_shapes(cfg, B, T, grad=False)]

    def emit(self, k, op):
        types = _types([t for t in k.in_types], [n for n, p in zip(_SLOTS, k.present) if p])
        types = {n: types.get(n) for n in _SLOTS}
        cfg, B, T, _, _ = conv_lstm_config(op, types)
        x_t = k.in_types[0]
        emit_forward(k, cfg, k.dim(x_t, 0), k.dim(x_t, 1))

    def grad(self, ctx, op, dys):
        ins = list(ctx.inputs) + [None] * (7 - len(ctx.inputs))
        dy = list(dys) + [None] * (3 - len(dys))
        if all(d is None for d in dy):
            return [None] * len(ctx.inputs)
        outs = ctx.emit("ConvLSTMGrad", ins + dy, n_out=6, domain=DOMAIN, **op.attrs)
        needs = list(ctx.needs) + [False] * (7 - len(ctx.needs))
        res = [outs[0], outs[1], outs[2], outs[3], outs[4], outs[5], None]
        return [r if (i < len(ctx.inputs) and ins[i] is not None and needs[i]) else None for i, r in enumerate(res)][
            :len(ctx.inputs)]


_GRAD_SLOTS = _SLOTS + ("dY", "dY_h", "dY_c")


@register_op("ConvLSTMGrad", pattern=OPAQUE, domain=DOMAIN, schema=False)
class ConvLSTMGrad(OpDef):
    """ConvLSTMGrad(X, W, R, B?, initial_h?, initial_c?, mask?, dY?, dY_h?, dY_c?) ->
    dX, dW, dR, dB, dH0, dC0 (absent output gradients count as zero)."""
    num_inputs = (3, 10)
    num_outputs = (6, 6)
    attr_defaults = dict(_ATTRS)

    def _config(self, op, in_types):
        types = _types(in_types, _GRAD_SLOTS)
        cfg, B, T, Ho, Wo = conv_lstm_config(op, {n: types.get(n) for n in _SLOTS})
        x = types["X"]
        want = {"dY": (B, T, cfg.F, Ho, Wo), "dY_h": (B, cfg.F, Ho, Wo), "dY_c": (B, cfg.F, Ho, Wo)}
        for name, shape in want.items():
            t = types.get(name)
            if t is not None and (t.dtype != x.dtype or not _same_shape(t.shape, shape)):
                raise ShapeError(f"{_where(op)}: {name} expected {x.dtype} {shape}, received {t}")
        return cfg, B, T

    def infer(self, op, in_types, g):
        self._config(op, in_types)
        x, w, r = in_types[:3]
        F = w.shape[0] // 4
        state = TensorType(x.dtype, (x.shape[0], F) + self._config(op, in_types)[0].geo.out)
        return [x, w, r, TensorType(x.dtype, (4 * F,)), state, state]

    def reference(self, op, *arrays):
        raise NotImplementedError("ConvLSTMGrad: checked against finite differences of ConvLSTM")

    def workspace(self, op, in_types):
        cfg, B, T = self._config(op, in_types)
        return [TensorType(cfg.dtype, s) for s in workspace_shapes(cfg, B, T, grad=True)]

    def emit(self, k, op):
        names = [n for n, p in zip(_GRAD_SLOTS, k.present) if p]
        types = dict(zip(names, k.in_types))
        cfg, B, T = self._config(op, [types.get(n) for n in _GRAD_SLOTS])
        x_t = k.in_types[0]
        emit_backward(k, cfg, k.dim(x_t, 0), k.dim(x_t, 1))

