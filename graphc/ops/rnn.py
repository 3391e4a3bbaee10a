"""Recurrent ops: ONNX RNN, GRU, LSTM (opset 18 semantics), their graphc-domain variants with
Keras masks, and the backward ops their gradient rules emit.

One implementation serves the three cell types (``Cell``): validation and shape inference,
the numpy reference (a plain loop over time, in float64) and the kernels
(codegen/kernels/rnn.py: a time loop per direction, never unrolled, with the shared GEMM for
``X W^T`` over all steps and ``h R^T`` per step, RNN/LSTM with R packed once per call:
codegen/kernels/rnn_step.py).

The graphc variants ``graphc.RNN/GRU/LSTM`` take the ONNX inputs plus two optional trailing ones:
``mask`` ([T, B] for layout 0, [B, T] for layout 1; 0 = the step is skipped: the state carries
over and the output is the previous state, or 0 with ``zero_output_for_mask=1``) and
``recurrent_mask`` ([num_directions, B, hidden], multiplied into h_{t-1} before the recurrent
products: Keras's recurrent dropout).

Gradients: every op's rule emits ``graphc.<Cell>Grad`` (forward inputs, dY, dY_h[, dY_c][, tape])
-> (dX, dW, dR, dB, dH0[, dC0, dP]), which runs backpropagation through time in generated code
(with ``skip_dx=1``, set when no gradient flows to X, the dX output is left unwritten: nothing
reads it, and its GEMM costs as much as dW's).
With ``KEEP_TAPE`` (the default) the rule also turns its forward op into the graphc variant with
attribute ``tape=1``: that op writes one more output, the tape (per direction the pre-activations
and the states each step read, see ``codegen.kernels.rnn.tape_segments``), and the gradient op
reads it instead of re-running the forward loop. Only training graphs (which hold graphc-domain
gradient ops anyway) contain such ops; inference graphs and ONNX export never see a tape. Without
a tape the gradient kernel recomputes the forward pass of each direction into a workspace.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..codegen.kernels.rnn import RecurrentKernel
from ..codegen.kernels.rnn_config import RnnConfig, tape_width, workspace_shapes
from ..codegen.kernels.rnn_acts import ACTIVATIONS
from ..errors import ShapeError, UnsupportedOpError
from ..ir import TensorType
from .registry import OPAQUE, OpDef, _schema_defaults, register_op
from .registry import get as registry_get

DOMAIN = "graphc"
FLOATS = ("float32", "float64")
# gradient rules make the forward op record its tape for the gradient op (False: the gradient op
# recomputes the forward pass; tests compare both)
KEEP_TAPE = True


@dataclass(frozen=True)
class Cell:
    name: str
    gates: int
    default_acts: tuple
    slots: tuple   # ONNX input names
    outputs: tuple

    @property
    def graphc_slots(self):
        return self.slots + ("mask", "recurrent_mask")

    @property
    def grad_outputs(self):
        return ("dX", "dW", "dR", "dB", "dH0") + (("dC0", "dP") if self.name == "LSTM" else ())

    @property
    def grad_inputs(self):
        return self.graphc_slots + ("dY", "dY_h") + (("dY_c",) if self.name == "LSTM" else ()) + ("tape",)


_BASE = ("X", "W", "R", "B", "sequence_lens", "initial_h")
CELLS = {
    "RNN": Cell("RNN", 1, ("Tanh",), _BASE, ("Y", "Y_h")),
    "GRU": Cell("GRU", 3, ("Sigmoid", "Tanh"), _BASE, ("Y", "Y_h")),
    "LSTM": Cell("LSTM", 4, ("Sigmoid", "Tanh", "Tanh"), _BASE + ("initial_c", "P"), ("Y", "Y_h", "Y_c")),
}
_TAKES_ALPHA = {n for n, (a, _) in ACTIVATIONS.items() if a is not None}
_TAKES_BETA = {n for n, (_, bt) in ACTIVATIONS.items() if bt is not None}


def _where(op):
    return f"op {op.name!r} ({(op.domain + '.') if op.domain else ''}{op.op_type})"


def _same(a, b):
    return a == b


def parse_activations(op, cell: Cell, D):
    """Per direction a tuple of (lowercase name, alpha, beta). alpha/beta values are consumed in
    the order of the activation list by the functions that take them (as onnxruntime does)."""
    a = op.attrs
    n = len(cell.default_acts)
    names = [v.decode() if isinstance(v, bytes) else str(v) for v in (a.get("activations") or [])]
    if not names or (D == 1 and names == list(cell.default_acts) * 2):  # RNN's schema default lists two
        names = list(cell.default_acts) * D
    if len(names) != n * D:
        raise ShapeError(f"{_where(op)}: activations expected {n * D} names ({n} per direction), received {names}")
    alphas = [float(np.float32(v)) for v in (a.get("activation_alpha") or [])]
    betas = [float(np.float32(v)) for v in (a.get("activation_beta") or [])]
    acts = []
    for raw in names:
        name = str(raw).lower()
        if name not in ACTIVATIONS:
            raise UnsupportedOpError(f"{_where(op)}: activation {raw!r} is not supported; supported: "
                                     f"{sorted(ACTIVATIONS)}")
        alpha, beta = ACTIVATIONS[name]
        if name in _TAKES_ALPHA and alphas:
            alpha = alphas.pop(0)
        if name in _TAKES_BETA and betas:
            beta = betas.pop(0)
        acts.append((name, alpha, beta))
    return tuple(tuple(acts[d * n:(d + 1) * n]) for d in range(D))


def rnn_config(op, cell: Cell, types: dict) -> RnnConfig:
    """Validate every input type and attribute of a recurrent op; return its static config."""
    where = _where(op)
    a = op.attrs
    direction = a.get("direction") or "forward"
    if direction not in ("forward", "reverse", "bidirectional"):
        raise UnsupportedOpError(f"{where}: direction expected forward, reverse or bidirectional, received {direction!r}")
    D = 2 if direction == "bidirectional" else 1
    layout = int(a.get("layout") or 0)
    if layout not in (0, 1):
        raise UnsupportedOpError(f"{where}: layout expected 0 or 1, received {layout}")
    x, w, r = types["X"], types["W"], types["R"]
    if x is None or w is None or r is None:
        raise ShapeError(f"{where}: inputs X, W and R are required")
    if x.dtype not in FLOATS:
        raise ShapeError(f"{where}: X expected float32 or float64, received {x}")
    if x.rank != 3:
        raise ShapeError(f"{where}: X expected rank 3 ({'[batch, seq, input]' if layout else '[seq, batch, input]'}), "
                         f"received {x}")
    T, B = (x.shape[1], x.shape[0]) if layout else (x.shape[0], x.shape[1])
    for name in ("W", "R"):
        t = types[name]
        if t.rank != 3 or not all(isinstance(v, int) for v in t.shape):
            raise ShapeError(f"{where}: {name} expected a static rank-3 shape, received {t}")
    G = cell.gates
    H = r.shape[2]
    hs = a.get("hidden_size")
    if hs is not None and hs != H:
        raise ShapeError(f"{where}: hidden_size={hs} disagrees with R {r} (hidden {H})")
    I = x.shape[2]
    if not isinstance(I, int):
        raise ShapeError(f"{where}: X's input axis must be static, received {x}")
    want = {"W": (D, G * H, I), "R": (D, G * H, H), "B": (D, 2 * G * H), "P": (D, 3 * H),
            "initial_h": (B, D, H) if layout else (D, B, H), "initial_c": (B, D, H) if layout else (D, B, H),
            "sequence_lens": (B,), "mask": (B, T) if layout else (T, B), "recurrent_mask": (D, B, H)}
    for name, t in types.items():
        if t is None or name == "X" or name not in want:
            continue
        shape = want[name]
        if len(t.shape) != len(shape) or not all(_same(p, q) for p, q in zip(t.shape, shape)):
            raise ShapeError(f"{where}: {name} expected shape {shape} (num_directions {D}, hidden {H}, input {I}, "
                             f"X {x}), received {t}")
        if name == "sequence_lens":
            if t.dtype not in ("int32", "int64"):
                raise ShapeError(f"{where}: sequence_lens expected int32, received {t}")
        elif t.dtype != x.dtype:
            raise ShapeError(f"{where}: {name} expected dtype {x.dtype} (X's), received {t}")
    clip = a.get("clip")
    if clip is not None and not clip > 0:
        raise ShapeError(f"{where}: clip expected a positive threshold, received {clip}")
    lbr = int(a.get("linear_before_reset") or 0)
    inf = int(a.get("input_forget") or 0)
    if lbr not in (0, 1) or inf not in (0, 1):
        raise ShapeError(f"{where}: linear_before_reset/input_forget expected 0 or 1")
    present = frozenset(n for n, t in types.items() if t is not None)
    return RnnConfig(cell.name, G, H, I, D, (False, True) if D == 2 else (direction == "reverse",), layout,
                     parse_activations(op, cell, D), None if clip is None else float(clip), bool(lbr), bool(inf),
                     bool(a.get("zero_output_for_mask") or 0), present)


# --- numpy reference ------------------------------------------------------------------------------
def np_act(act, x):
    name, alpha, beta = act
    with np.errstate(over="ignore"):
        return {
            "tanh": lambda: np.tanh(x), "sigmoid": lambda: 1.0 / (1.0 + np.exp(-x)), "relu": lambda: np.maximum(x, 0),
            "softsign": lambda: x / (1 + np.abs(x)), "softplus": lambda: np.logaddexp(0, x),
            "hardsigmoid": lambda: np.clip(alpha * x + beta, 0, 1),
            "leakyrelu": lambda: np.where(x >= 0, x, alpha * x),
            "elu": lambda: np.where(x >= 0, x, alpha * np.expm1(np.minimum(x, 0))),
            "affine": lambda: alpha * x + beta, "thresholdedrelu": lambda: np.where(x > alpha, x, 0),
            "scaledtanh": lambda: alpha * np.tanh(beta * x),
        }[name]()


def rnn_reference(cfg: RnnConfig, arrays: dict):
    """The recurrent op in numpy (float64), one direction and one step at a time."""
    X = arrays["X"].astype(np.float64)
    dtype = arrays["X"].dtype
    if cfg.layout:
        X = X.transpose(1, 0, 2)
    T, B, _ = X.shape
    H, G, D = cfg.hidden, cfg.gates, cfg.directions

    def get(name, shape, state=False):
        v = arrays.get(name)
        if v is None:
            return np.zeros(shape)
        v = v.astype(np.float64)
        return v.transpose(1, 0, 2) if state and cfg.layout else v

    Bias = get("B", (D, 2 * G * H))
    P = get("P", (D, 3 * H))
    h0, c0 = get("initial_h", (D, B, H), True), get("initial_c", (D, B, H), True)
    lens = np.clip(arrays["sequence_lens"].astype(np.int64), 0, T) if arrays.get("sequence_lens") is not None \
        else np.full(B, T)
    mask = arrays.get("mask")
    mask = np.ones((T, B)) if mask is None else (mask.T if cfg.layout else mask)
    rmask = get("recurrent_mask", (D, B, H)) if arrays.get("recurrent_mask") is not None else np.ones((D, B, H))
    Y = np.zeros((T, D, B, H))
    Yh, Yc = np.zeros((D, B, H)), np.zeros((D, B, H))
    clip = (lambda v: np.clip(v, -cfg.clip, cfg.clip)) if cfg.clip is not None else (lambda v: v)
    for d in range(D):
        acts = cfg.acts[d]
        f = [lambda v, a=a: np_act(a, clip(v)) for a in acts]
        if cfg.cell == "LSTM":  # the clip bounds gate inputs; h(C) sees the cell state unclipped
            f[2] = lambda v, a=acts[2]: np_act(a, v)
        W, R = arrays["W"][d].astype(np.float64), arrays["R"][d].astype(np.float64)
        wb, rb = Bias[d, :G * H], Bias[d, G * H:]
        h, c = h0[d].copy(), c0[d].copy()
        for step in range(T):
            for bb in range(B):
                if step >= lens[bb]:
                    continue
                t = lens[bb] - 1 - step if cfg.reverse[d] else step
                if mask[t, bb] == 0:
                    Y[t, d, bb] = 0 if cfg.zero_output_for_mask else h[bb]
                    continue
                hp, hm = h[bb], h[bb] * rmask[d, bb]
                xw = W @ X[t, bb] + wb
                if cfg.cell == "RNN":
                    hn = f[0](xw + R @ hm + rb)
                elif cfg.cell == "GRU":
                    hr = R[:2 * H] @ hm + rb[:2 * H]
                    z, r = f[0](xw[:H] + hr[:H]), f[0](xw[H:2 * H] + hr[H:])
                    if cfg.linear_before_reset:
                        pre = xw[2 * H:] + r * (R[2 * H:] @ hm + rb[2 * H:])
                    else:
                        pre = xw[2 * H:] + R[2 * H:] @ (r * hm) + rb[2 * H:]
                    hn = (1 - z) * f[1](pre) + z * hp
                else:
                    g = xw + R @ hm + rb
                    pi, po, pf = P[d, :H], P[d, H:2 * H], P[d, 2 * H:]
                    cp = c[bb]
                    i = f[0](g[:H] + pi * cp)
                    fg = 1 - i if cfg.input_forget else f[0](g[2 * H:3 * H] + pf * cp)
                    cn = fg * cp + i * f[1](g[3 * H:])
                    o = f[0](g[H:2 * H] + po * cn)
                    hn = o * f[2](cn)
                    c[bb] = cn
                h[bb] = hn
                Y[t, d, bb] = hn
        Yh[d], Yc[d] = h, c
        Yh[d, lens == 0] = Yc[d, lens == 0] = 0  # a sequence of length 0 has zero final states (as onnxruntime)
    if cfg.layout:
        Y, Yh, Yc = Y.transpose(2, 0, 1, 3), Yh.transpose(1, 0, 2), Yc.transpose(1, 0, 2)
    outs = (Y, Yh, Yc) if cfg.cell == "LSTM" else (Y, Yh)
    return tuple(o.astype(dtype) for o in outs)


# --- op entries -----------------------------------------------------------------------------------
class _Recurrent(OpDef):
    """Shared entry of RNN/GRU/LSTM and their graphc variants (``cell`` picks the cell)."""

    cell: Cell = None
    slots: tuple = ()
    dtypes = ("float32", "float64", "int32", "int64")  # int: sequence_lens (validated in rnn_config)

    def named(self, items):
        items = list(items) + [None] * (len(self.slots) - len(items))
        if len(items) > len(self.slots):
            raise ShapeError(f"{self.op_type}: expected at most {len(self.slots)} inputs {self.slots}, "
                             f"received {len(items)}")
        return dict(zip(self.slots, items))

    def config(self, op, in_types):
        return rnn_config(op, self.cell, self.named(in_types))

    def out_types(self, cfg, x):
        T, B = (x.shape[1], x.shape[0]) if cfg.layout else (x.shape[0], x.shape[1])
        D, H = cfg.directions, cfg.hidden
        y = (B, T, D, H) if cfg.layout else (T, D, B, H)
        st = (B, D, H) if cfg.layout else (D, B, H)
        return [TensorType(x.dtype, y)] + [TensorType(x.dtype, st)] * (len(self.cell.outputs) - 1)

    @staticmethod
    def tape_type(cfg, x):
        """The tape: per direction, T*B rows of each tape segment (opaque to everything but the kernels)."""
        T, B = (x.shape[1], x.shape[0]) if cfg.layout else (x.shape[0], x.shape[1])
        return TensorType(x.dtype, (cfg.directions, T, B, tape_width(cfg)))

    def infer(self, op, in_types, g):
        cfg = self.config(op, in_types)
        extra = [self.tape_type(cfg, in_types[0])] if op.attrs.get("tape") else []
        return self.out_types(cfg, in_types[0]) + extra

    def reference(self, op, *arrays):
        named = self.named(arrays)
        types = {n: (None if v is None else TensorType(str(v.dtype), v.shape)) for n, v in named.items()}
        cfg = rnn_config(op, self.cell, types)
        return rnn_reference(cfg, named)

    def workspace(self, op, in_types):
        cfg = self.config(op, in_types)
        x = in_types[0]
        T, B = (x.shape[1], x.shape[0]) if cfg.layout else (x.shape[0], x.shape[1])
        return [TensorType(x.dtype, shape) for _, shape in workspace_shapes(cfg, T, B, tape=bool(op.attrs.get("tape")))]

    def _kernel_args(self, k, op, names, grad):
        in_types = [t for t in k.in_types]
        full = []
        it = iter(in_types)
        for p in k.present:
            full.append(next(it) if p else None)
        named_types = dict(zip(names, full + [None] * (len(names) - len(full))))
        cfg = rnn_config(op, self.cell, {n: named_types.get(n) for n in self.cell.graphc_slots
                                         if n in named_types})
        ptrs = dict(zip(names, k.slot_inputs()))
        ins = {n: p for n, p in ptrs.items() if p is not None}
        x = named_types["X"]
        T, B = (x.shape[1], x.shape[0]) if cfg.layout else (x.shape[0], x.shape[1])
        ws = dict(zip([n for n, _ in workspace_shapes(cfg, T, B, grad, bool(op.attrs.get("tape")),
                                                      grad and bool(op.attrs.get("skip_dx")))], k.workspace))
        lens = named_types.get("sequence_lens")
        return cfg, x, ins, ws, (lens.dtype if lens is not None else "int32")

    def emit(self, k, op):
        cfg, x, ins, ws, lens_dtype = self._kernel_args(k, op, self.slots, grad=False)
        outs = dict(zip(self.cell.outputs + ("tape",), k.outputs))
        tape = outs.pop("tape", None)
        RecurrentKernel(k, cfg, x, ins, outs, ws, grad=False, lens_dtype=lens_dtype, tape=tape).emit_forward()

    def grad(self, ctx, op, dys):
        cell = self.cell
        ins = list(ctx.inputs) + [None] * (len(cell.graphc_slots) - len(ctx.inputs))
        dys = list(dys) + [None] * (len(cell.outputs) - len(dys))
        attrs = {k: v for k, v in op.attrs.items()}
        attrs.setdefault("zero_output_for_mask", 0)
        tape = [keep_tape(ctx, op, cell)] if KEEP_TAPE else []
        attrs["tape"] = int(bool(tape))
        attrs["skip_dx"] = int(not ctx.needs[0])  # X is a graph input: its product with W is not needed
        outs = ctx.emit(f"{cell.name}Grad", ins + dys + tape, n_out=len(cell.grad_outputs), domain=DOMAIN, **attrs)
        named = dict(zip(cell.grad_outputs, outs))
        result = [named["dX"], named["dW"], named["dR"], named["dB"], None, named["dH0"]]
        if cell.name == "LSTM":
            result += [named["dC0"], named["dP"]]
        return result


def keep_tape(ctx, op, cell: Cell):
    """Make the forward ``op`` (being differentiated) record its tape: it becomes the graphc variant
    with ``tape=1`` and one more output, which is returned. Its other outputs keep their values."""
    g = ctx.g
    outs = g.op_outputs(op)
    if op.attrs.get("tape"):
        return outs[len(cell.outputs)]
    in_types = [None if v is None else g.value(v).type for v in ctx.inputs]
    x = in_types[0]
    types = registry_get(cell.name, DOMAIN).infer(op, in_types, g)
    for slot in range(len(outs), len(cell.outputs)):  # absent optional outputs: the tape's slot follows them
        v = g.add_value(f"{op.name}_{cell.outputs[slot].lower()}", types[slot])
        g.nx.add_edge(op.name, v.name, slot=slot)
    op.domain = DOMAIN
    op.attrs.setdefault("zero_output_for_mask", 0)
    op.attrs["tape"] = 1
    cfg = rnn_config(op, cell, dict(zip(cell.graphc_slots, in_types)))
    tape = g.add_value(f"{op.name}_tape", _Recurrent.tape_type(cfg, x))
    g.nx.add_edge(op.name, tape.name, slot=len(cell.outputs))
    return tape.name


def _register(cell: Cell):
    onnx_cls = type(cell.name, (_Recurrent,), {"cell": cell, "slots": cell.slots,
                                               "__doc__": f"ONNX {cell.name} (opset 18): see the module docstring."})
    register_op(cell.name, pattern=OPAQUE)(onnx_cls)
    defaults, required, _, n_out, floats = _schema_defaults(cell.name, "")
    variant = type(f"Graphc{cell.name}", (_Recurrent,), {
        "cell": cell, "slots": cell.graphc_slots, "attr_defaults": {**defaults, "zero_output_for_mask": 0, "tape": 0},
        "required_attrs": required, "num_inputs": (3, len(cell.graphc_slots)),
        "num_outputs": (n_out[0], n_out[1] + 1),  # + the tape (attribute tape=1)
        "float_attrs": floats, "__doc__": f"graphc.{cell.name}: ONNX {cell.name} plus mask and recurrent_mask."})
    register_op(cell.name, pattern=OPAQUE, domain=DOMAIN, schema=False)(variant)
    grad_cls = type(f"{cell.name}Grad", (_RecurrentGrad,), {
        "cell": cell, "slots": cell.grad_inputs, "attr_defaults": {**defaults, "zero_output_for_mask": 0, "tape": 0, "skip_dx": 0},
        "required_attrs": required, "num_inputs": (3, len(cell.grad_inputs)),
        "num_outputs": (len(cell.grad_outputs),) * 2, "float_attrs": floats,
        "__doc__": f"graphc.{cell.name}Grad(forward inputs, dY, dY_h[, dY_c]) -> {', '.join(cell.grad_outputs)}."})
    register_op(f"{cell.name}Grad", pattern=OPAQUE, domain=DOMAIN, schema=False)(grad_cls)


class _RecurrentGrad(_Recurrent):
    """Backpropagation through time for one recurrent op (the forward op's attributes)."""

    def config(self, op, in_types):
        named = self.named(in_types)
        cfg = rnn_config(op, self.cell, {n: named[n] for n in self.cell.graphc_slots})
        fwd = self.out_types(cfg, named["X"])
        for name, want in zip(("dY", "dY_h", "dY_c"), fwd):
            t = named.get(name)
            if t is not None and (t.dtype != want.dtype or len(t.shape) != len(want.shape)
                                  or not all(_same(p, q) for p, q in zip(t.shape, want.shape))):
                raise ShapeError(f"{_where(op)}: {name} expected {want} (the forward output), received {t}")
        t, want = named.get("tape"), self.tape_type(cfg, named["X"])
        if bool(op.attrs.get("tape")) != (t is not None):
            raise ShapeError(f"{_where(op)}: attribute tape={op.attrs.get('tape')} but the tape input is "
                             f"{'absent' if t is None else 'given'}")
        if t is not None and (t.dtype != want.dtype or t.shape != want.shape):
            raise ShapeError(f"{_where(op)}: tape expected {want} (the forward op's tape output), received {t}")
        return cfg

    def infer(self, op, in_types, g):
        cfg = self.config(op, in_types)
        named = self.named(in_types)
        x = named["X"]
        T, B = (x.shape[1], x.shape[0]) if cfg.layout else (x.shape[0], x.shape[1])
        D, H, GH = cfg.directions, cfg.hidden, cfg.gh
        st = (B, D, H) if cfg.layout else (D, B, H)
        shapes = [x.shape, (D, GH, cfg.input_size), (D, GH, H), (D, 2 * GH), st]
        if self.cell.name == "LSTM":
            shapes += [st, (D, 3 * H)]
        return [TensorType(x.dtype, s) for s in shapes]

    def reference(self, op, *arrays):
        raise NotImplementedError(f"{self.op_type}: tested against finite differences of the forward op")

    def workspace(self, op, in_types):
        cfg = self.config(op, in_types)
        x = in_types[0]
        T, B = (x.shape[1], x.shape[0]) if cfg.layout else (x.shape[0], x.shape[1])
        return [TensorType(x.dtype, shape) for _, shape in workspace_shapes(cfg, T, B, True, bool(op.attrs.get("tape")),
                                                                             bool(op.attrs.get("skip_dx")))]

    def emit(self, k, op):
        cfg, x, ins, ws, lens_dtype = self._kernel_args(k, op, self.slots, grad=True)
        outs = dict(zip(self.cell.grad_outputs, k.outputs))
        tape = ins.pop("tape", None)
        if op.attrs.get("skip_dx"):
            outs.pop("dX")
        RecurrentKernel(k, cfg, x, ins, outs, ws, grad=True, lens_dtype=lens_dtype, tape=tape).emit_backward()

    grad = None


for _cell in CELLS.values():
    _register(_cell)
