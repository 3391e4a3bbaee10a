"""ONNX LSTM / GRU / RNN -> Keras LSTM / GRU / SimpleRNN (and Bidirectional) for ``graphc.convert``.

An ONNX recurrent node is time-major (layout 0: X (T, N, I), Y (T, D, N, H), Y_h/Y_c (D, N, H)) or
batch-major (layout 1: X (N, T, I), Y (N, T, D, H), Y_h/Y_c (N, D, H)), while a Keras tensor always has
the batch axis first. So a layout-0 node is converted together with the ops around it that exporters
emit: the Transpose(1, 0, 2) before X, the Squeeze (or Slice + Squeeze, or Transpose(0, 2, 1, 3) +
Reshape) that drops the direction axis of Y, the Concat of directions, the Transpose back to batch-major,
the Squeeze / Gather / Slice that picks a direction of Y_h, and the selection of the last time step.
The values between are described as *parts* (which direction of which node, in which time order), and
only the batch-major ends become Keras tensors:

* Y (any step) -> ``return_sequences=True``; Y_h / Y_c -> ``return_state=True``; only Y_h used -> the
  layer's output with ``return_sequences=False``. The step of Y that holds the final state (the last one
  forward, the first one in input order for a reverse direction) is the final state.
* direction ``reverse`` -> ``go_backwards=True`` (its Y is read in reversed time order, which is Keras's
  output order, or beside a forward node over the same input: the pair becomes one ``Bidirectional``);
  ``bidirectional`` -> ``Bidirectional(merge_mode=None)`` (directions concatenated by a Concatenate).
* initial_h / initial_c: zeros (however computed: ConstantOfShape, Expand, ...) -> no initial state;
  a model tensor unsqueezed to (1, N, H) -> ``initial_state``.
* weights: ONNX W (D, G*H, I) -> Keras kernel (I, G*H) per direction, gates reordered (ONNX LSTM i, o,
  f, c; Keras i, f, c, o; GRU z, r, h in both); LSTM and SimpleRNN biases are Wb + Rb; GRU
  ``linear_before_reset=1`` -> ``reset_after=True`` with bias (2, 3H) = [Wb, Rb], 0 -> ``reset_after=False``
  with bias Wb + Rb (the recurrent bias adds linearly there).

Forms Keras cannot express raise ``UnsupportedOpError`` naming the node, the op and the attribute: clip,
input_forget, peepholes P, sequence_lens, activations without a Keras counterpart (or LSTM's g != h),
non-zero initial states that are not model tensors, and a reverse direction's outputs in input time
order outside a Bidirectional pair.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError, UnsupportedOpError
from .registry import is_op

RECURRENT = ("LSTM", "GRU", "RNN")
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
KERAS_GATES = {"LSTM": (0, 2, 3, 1), "GRU": (0, 1, 2), "RNN": (0,)}  # Keras's gate k is ONNX gate KERAS_GATES[k]
LAYERS = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "SimpleRNN"}
_SEE_THROUGH = ("Identity", "Dropout")
_ELEMENTWISE = ("Add", "Sub", "Mul", "Div", "Max", "Min", "Mean", "Sum", "Relu", "Sigmoid", "Tanh", "Softplus",
                "Softsign", "Exp", "Selu", "HardSigmoid", "LeakyRelu", "Elu", "Clip")


def _recurrent(op):
    return op is not None and any(is_op(op, t) for t in RECURRENT)


def _kind(op):
    return next(t for t in RECURRENT if is_op(op, t))


def _attr(op, name, default=None):
    v = op.attrs.get(name)
    return default if v is None else v


def _shape(ctx, v):
    return tuple(ctx.g.value(v).type.shape)


def _direction(op):
    d = _attr(op, "direction", "forward")
    return d.decode() if isinstance(d, bytes) else d


def _dirs(op):
    return 2 if _direction(op) == "bidirectional" else 1


def _reverse(op, d):
    """Whether direction ``d`` of ``op`` runs from the last step to the first."""
    return _direction(op) == "reverse" or (_direction(op) == "bidirectional" and d == 1)


def _axes(ctx, op, rank):
    axes = ctx.const(ctx.input(op, 1)) if ctx.input(op, 1) else _attr(op, "axes")
    return None if axes is None else sorted(int(a) % rank for a in np.ravel(axes))


def _slice(ctx, op):
    """{axis: indices taken} of a Slice with constant parameters over static axes, or None."""
    shape = _shape(ctx, ctx.input(op, 0))
    consts = [ctx.const(ctx.input(op, i)) if ctx.input(op, i) else None for i in range(1, 5)]
    if any(c is None for c in consts[:2]) or any(ctx.input(op, i) and consts[i - 1] is None for i in (3, 4)):
        return None
    starts, ends = np.ravel(consts[0]).tolist(), np.ravel(consts[1]).tolist()
    axes = range(len(starts)) if consts[2] is None else np.ravel(consts[2]).tolist()
    steps = [1] * len(starts) if consts[3] is None else np.ravel(consts[3]).tolist()
    out = {}
    for a, s, e, st in zip(axes, starts, ends, steps):
        a = int(a) % len(shape)
        if isinstance(shape[a], str):
            if (int(s), int(st)) != (0, 1) or int(e) < 2 ** 31 - 1:
                return None
            continue
        out[a] = list(range(int(shape[a])))[slice(int(s), int(e), int(st))]
    return out


def _index(ctx, op):
    """The scalar index of a Gather, or None."""
    i = ctx.const(ctx.input(op, 1))
    return None if i is None or np.ndim(i) != 0 else int(i)


# --- parts: what a time-major or batch-major sequence value is made of ----------------------------
# A part is ("rnn", node name, direction, flipped) or ("keras", value name, flipped); flipped: the time
# axis runs in reversed order relative to the recurrent node's input.

def _y_dirs(ctx, v):
    """(node, [directions]) if ``v`` is a layout-0 node's Y (T, D, N, H), or a Slice of its direction axis."""
    p = ctx.g.producer(v)
    if _recurrent(p) and ctx.g.op_outputs(p).index(v) == 0 and not int(_attr(p, "layout", 0)):
        return p, list(range(_dirs(p)))
    if is_op(p, "Slice"):
        taken = _slice(ctx, p)
        inner = _y_dirs(ctx, ctx.input(p, 0))
        if inner and taken is not None and set(taken) <= {1}:
            return inner[0], [inner[1][i] for i in taken.get(1, range(len(inner[1])))]
    if p is not None and any(is_op(p, t) for t in _SEE_THROUGH):
        return _y_dirs(ctx, ctx.input(p, 0))
    return None


def _flip(parts):
    return [pt[:-1] + (not pt[-1],) for pt in parts]


def _memo(fn):
    """Cache ``fn(ctx, v)`` per value (the walks revisit shared inputs)."""
    def cached(ctx, v):
        memo = ctx.memo.setdefault(fn.__name__, {})
        if v not in memo:
            memo[v] = fn(ctx, v)
        return memo[v]
    cached.__name__, cached.__doc__ = fn.__name__, fn.__doc__
    return cached


@_memo
def _time_parts(ctx, v):
    """Parts of a time-major (T, N, F) value, or None when it is not made of recurrent outputs."""
    p = ctx.g.producer(v)
    shape = _shape(ctx, v)
    if p is None or len(shape) != 3:
        return None
    if is_op(p, "Transpose") and list(p.attrs.get("perm") or []) == [1, 0, 2]:
        return _batch_parts(ctx, ctx.input(p, 0))
    if is_op(p, "Squeeze") and _axes(ctx, p, 4) == [1] or is_op(p, "Reshape"):
        src = ctx.input(p, 0)
        if is_op(p, "Reshape"):  # (T, 1, N, H) -> (T, N, H), or the directions of (T, N, D, H) side by side
            t = ctx.g.producer(src)
            if is_op(t, "Transpose") and list(t.attrs.get("perm") or []) == [0, 2, 1, 3]:
                src = ctx.input(t, 0)
            elif len(_shape(ctx, src)) != 4 or _shape(ctx, src)[1] != 1:
                return None
        y = _y_dirs(ctx, src)
        if y is not None and (is_op(p, "Squeeze") or shape[2] == len(y[1]) * int(_shape(ctx, src)[-1])):
            return [("rnn", y[0].name, d, False) for d in y[1]]
        return None
    if is_op(p, "Concat") and int(p.attrs["axis"]) % 3 == 2:
        return _concat_parts(ctx, p, _time_parts)
    if is_op(p, "Slice"):
        taken = _slice(ctx, p)
        inner = _time_parts(ctx, ctx.input(p, 0))
        t = _shape(ctx, ctx.input(p, 0))[0]
        if inner and taken is not None and set(taken) == {0} and not isinstance(t, str) \
                and taken[0] == list(range(t))[::-1]:
            return _flip(inner)
        return None
    if any(is_op(p, t) for t in _SEE_THROUGH):
        return _time_parts(ctx, ctx.input(p, 0))
    if any(is_op(p, t) for t in _ELEMENTWISE) and all(ctx.const(x) is not None or _time_parts(ctx, x) is not None
                                                      for x in ctx.g.op_inputs(p) if x is not None):
        return [("swapped", v, False)]  # a transpose commutes with it (graphc's cancel_transposes moved one)
    return None


@_memo
def _batch_parts(ctx, v):
    """Parts of a batch-major (N, T, F) value; a value not built from recurrent outputs is one "keras" part."""
    p = ctx.g.producer(v)
    if p is not None and len(_shape(ctx, v)) == 3:
        if is_op(p, "Transpose") and list(p.attrs.get("perm") or []) == [1, 0, 2]:
            inner = _time_parts(ctx, ctx.input(p, 0))
            if inner is not None:
                return inner
        if is_op(p, "Concat") and int(p.attrs["axis"]) % 3 == 2:
            parts = _concat_parts(ctx, p, _batch_parts)
            if _has_rnn(parts):
                return parts
        if is_op(p, "Slice"):
            taken = _slice(ctx, p)
            t = _shape(ctx, v)[1]
            if taken is not None and set(taken) == {1} and not isinstance(t, str) and taken[1] == list(range(t))[::-1]:
                inner = _batch_parts(ctx, ctx.input(p, 0))
                if _has_rnn(inner):
                    return _flip(inner)
        if any(is_op(p, t) for t in _SEE_THROUGH):
            return _batch_parts(ctx, ctx.input(p, 0))
    return [("keras", v, False)]


def _concat_parts(ctx, op, of):
    parts = []
    for v in ctx.g.op_inputs(op):
        if v is None:
            continue
        inner = of(ctx, v)
        if inner is None:
            return None if of is _time_parts else [("keras", ctx.g.op_outputs(op)[0], False)]
        parts += inner
    return parts


def _has_rnn(parts):
    return parts is not None and any(pt[0] != "keras" for pt in parts)


def _swapped(ctx, v):
    """The batch-major Keras tensor of an elementwise op's time-major output ``v``: the op's converter
    applied to its inputs read batch-major."""
    memo = ctx.memo.setdefault("rnn_swapped", {})
    if v not in memo:
        from .to_keras import converter
        op = ctx.g.producer(v)
        memo[v] = converter(op)(_TimeSwapped(ctx), op)
    return memo[v]


class _TimeSwapped:
    """The KerasBuilder as an elementwise op on time-major values sees it: inputs read batch-major, output
    shapes not checked against the (time-major) ONNX types."""

    def __init__(self, ctx):
        self._ctx = ctx

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def tensor(self, v):
        parts = _time_parts(self._ctx, v)
        return self._ctx.tensor(v) if parts is None else _assemble(self._ctx, self._ctx.g.producer(v), parts)

    def apply(self, op, layer, inputs, weights=None, check=True, suffix=""):
        return self._ctx.apply(op, layer, inputs, weights, check=False, suffix=suffix)


def _assemble(ctx, op, parts):
    """The batch-major Keras tensor (input time order unless every part is flipped) of ``parts``."""
    memo = ctx.memo.setdefault("rnn_sequences", {})
    if tuple(parts) not in memo:
        memo[tuple(parts)] = _build_sequence(ctx, op, parts)
    return memo[tuple(parts)]


def _build_sequence(ctx, op, parts):
    tensors, i = [], 0
    while i < len(parts):
        pt = parts[i]
        if pt[0] != "rnn":
            if pt[2]:
                ctx.fail(op, "it reverses the time axis of a tensor that is not a recurrent layer's output (Keras "
                             "has no layer that reverses time)")
            tensors.append(ctx.tensor(pt[1]) if pt[0] == "keras" else _swapped(ctx, pt[1]))
            i += 1
            continue
        node = ctx.g.op(pt[1])
        nxt = parts[i + 1] if i + 1 < len(parts) else None
        if (_direction(node) != "bidirectional" and not _reverse(node, 0) and nxt and nxt[0] == "rnn"
                and not pt[3] and not nxt[3] and _direction(ctx.g.op(nxt[1])) == "reverse"
                and _pairs(ctx, node, ctx.g.op(nxt[1]))):
            group = _layer(ctx, (node, ctx.g.op(nxt[1])))
            tensors += [group.seq(ctx, op, 0), group.seq(ctx, op, 1)]
            i += 2
            continue
        reverse, bidi = _reverse(node, pt[2]), _direction(node) == "bidirectional"
        partner = _partner(ctx, node) if reverse and not pt[3] and not bidi else None
        if bidi and not pt[3]:
            tensors.append(_layer(ctx, (node,)).seq(ctx, op, pt[2]))
        elif not bidi and reverse == pt[3]:  # go_backwards returns the reversed sequence, as ONNX's flipped Y
            tensors.append(_layer(ctx, (node,)).seq(ctx, op, 0))
        elif partner is not None:  # the backward half of a Bidirectional returns input time order
            tensors.append(_layer(ctx, (partner, node)).seq(ctx, op, 1))
        else:
            ctx.fail(op, f"it reads direction {pt[2]} of recurrent node {node.name!r} ({_direction(node)}) in "
                         f"{'reversed' if pt[3] else 'input'} time order; Keras returns a forward layer's sequence "
                         "in input order and a go_backwards layer's reversed (Keras has no layer that reverses time; "
                         "a reverse node becomes the backward half of a Bidirectional only beside a forward node of "
                         "the same configuration over the same input)")
        i += 1
    if len(tensors) == 1:
        return tensors[0]
    layer = ctx.keras.layers.Concatenate(axis=-1, name=ctx.layer_name(op))
    return layer(tensors)


def _state_of_step(ctx, op, parts, t):
    """The (N, F) Keras tensor of time step ``t`` (input order, flips applied) of ``parts``: final states
    where the step holds them, else the step cut out of the whole sequence."""
    steps = []
    for pt in parts:
        if pt[0] != "rnn":
            break
        node = ctx.g.op(pt[1])
        T = _shape(ctx, ctx.input(node, 0))[1 if int(_attr(node, "layout", 0)) else 0]
        last = t in (-1, T - 1 if not isinstance(T, str) else -1)
        first = t == 0 or (not isinstance(T, str) and t == -T)
        if not ((last and _reverse(node, pt[2]) == pt[3]) or (first and _reverse(node, pt[2]) != pt[3])):
            break
        steps.append(_layer(ctx, (node,)).state(ctx, op, 0, pt[2]))
    else:
        if len(steps) == 1:
            return steps[0]
        return ctx.keras.layers.Concatenate(axis=-1, name=ctx.layer_name(op))(steps)
    seq = _assemble(ctx, op, parts)
    T = seq.shape[1]
    if T is None:
        ctx.fail(op, f"it selects time step {t} of a sequence with a dynamic number of steps that is not a final "
                     "state (Keras's Cropping1D needs a static length)")
    t = t % T
    cut = ctx.keras.layers.Cropping1D((t, T - 1 - t), name=ctx.layer_name(op, "_step"))(seq)
    return ctx.keras.layers.Reshape((int(seq.shape[2]),), name=ctx.layer_name(op))(cut)


# --- final states ----------------------------------------------------------------------------------

def _state_ref(ctx, v):
    """(node, output slot 1|2, [directions]) if ``v`` is a layout-0 Y_h/Y_c (D, N, H) or a Slice of it."""
    p = ctx.g.producer(v)
    if _recurrent(p) and ctx.g.op_outputs(p).index(v) > 0 and not int(_attr(p, "layout", 0)):
        return p, ctx.g.op_outputs(p).index(v), list(range(_dirs(p)))
    if is_op(p, "Slice"):
        taken, inner = _slice(ctx, p), _state_ref(ctx, ctx.input(p, 0))
        if inner and taken is not None and set(taken) <= {0}:
            return inner[0], inner[1], [inner[2][i] for i in taken.get(0, range(len(inner[2])))]
    if p is not None and any(is_op(p, t) for t in _SEE_THROUGH):
        return _state_ref(ctx, ctx.input(p, 0))
    return None


# --- converters of the ops around recurrent nodes (fall back to the plain converters) ---------------

def _squeeze(base):
    """Squeeze (and a Reshape that only drops a leading axis of size 1) of recurrent outputs."""
    def convert(ctx, op):
        src = ctx.input(op, 0)
        rank = len(_shape(ctx, src))
        if is_op(op, "Reshape"):
            dropped = _shape(ctx, src)[0] == 1 and _shape(ctx, src)[1:] == _shape(ctx, ctx.g.op_outputs(op)[0])
            if not dropped:
                return base(ctx, op)
            axes = [0]
        else:
            axes = _axes(ctx, op, rank)
            if axes is None:  # every axis of size 1
                axes = [i for i, d in enumerate(_shape(ctx, src)) if d == 1]
        ref = _state_ref(ctx, src)
        if ref is not None and axes == [0] and len(ref[2]) == 1:
            return _layer(ctx, (ref[0],)).state(ctx, op, ref[1] - 1, ref[2][0])
        if rank == 3 and axes == [0]:  # one step of a time-major sequence
            parts, t = _step_slice(ctx, src)
            if _has_rnn(parts):
                return _state_of_step(ctx, op, parts, t)
        if rank == 4 and axes == [1] or rank == 3 and axes == [0]:
            for what in (_y_dirs(ctx, src), ref):
                if what is not None:
                    ctx.fail(op, f"it drops the direction axis of recurrent node {what[0].name!r}'s output without "
                                 "moving the batch axis first (a time-major tensor has no Keras form)")
        return base(ctx, op)
    return convert


def _step_slice(ctx, v):
    """(parts, step) if ``v`` (1, N, F) is a one-step Slice of a time-major recurrent sequence."""
    p = ctx.g.producer(v)
    if is_op(p, "Slice"):
        taken = _slice(ctx, p)
        if taken is not None and set(taken) == {0} and len(taken[0]) == 1:
            return _time_parts(ctx, ctx.input(p, 0)), taken[0][0]
        if taken is None:  # a dynamic length: only [-1:] (the last step) is recognised
            starts, ends = (ctx.const(ctx.input(p, i)) for i in (1, 2))
            axes = ctx.const(ctx.input(p, 3)) if ctx.input(p, 3) else np.zeros(1)
            if starts is not None and axes is not None and np.ravel(starts).tolist() == [-1] \
                    and np.ravel(axes).tolist() == [0] and not ctx.input(p, 4) and ends is not None \
                    and int(np.ravel(ends)[0]) >= 2 ** 31 - 1:
                return _time_parts(ctx, ctx.input(p, 0)), -1
    return None, None


def gather(ctx, op):
    src = ctx.input(op, 0)
    rank, axis, i = len(_shape(ctx, src)), int(_attr(op, "axis", 0)), _index(ctx, op)
    if i is not None and rank == 3:
        axis %= rank
        ref = _state_ref(ctx, src) if axis == 0 else None
        if ref is not None:
            return _layer(ctx, (ref[0],)).state(ctx, op, ref[1] - 1, ref[2][i])
        parts = _time_parts(ctx, src) if axis == 0 else _batch_parts(ctx, src) if axis == 1 else None
        if _has_rnn(parts):
            return _state_of_step(ctx, op, parts, i)
    ctx.fail(op, "no Keras layer corresponds to Gather except where it picks a final state or a time step of a "
                 "recurrent layer's output")


def slice_(ctx, op):
    parts = _batch_parts(ctx, ctx.g.op_outputs(op)[0])
    if _has_rnn(parts):
        return _assemble(ctx, op, parts)
    ctx.fail(op, "no Keras layer corresponds to Slice except where it reverses the time axis of a recurrent "
                 "layer's output (go_backwards)")


def _sequence_view(base):
    """Transpose / Concat converters that first read recurrent sequences."""
    def convert(ctx, op):
        parts = _batch_parts(ctx, ctx.g.op_outputs(op)[0])
        if _has_rnn(parts):
            return _assemble(ctx, op, parts)
        return base(ctx, op)
    return convert


def recurrent(ctx, op, name=None):
    """A recurrent node's own output (layout 1, batch-major): Y (N, T, D, H), Y_h / Y_c (N, D, H)."""
    slot = ctx.g.op_outputs(op).index(name or ctx.g.op_outputs(op)[0])
    if not int(_attr(op, "layout", 0)):
        ctx.fail(op, f"its time-major output {ctx.g.op_outputs(op)[slot]!r} is read by ops graphc does not map to "
                     "Keras (the patterns mapped: Squeeze/Slice of the direction axis, then Transpose to batch-major, "
                     "Gather/Squeeze of a final state, the last time step)")
    if slot == 0 and _direction(op) == "reverse":
        ctx.fail(op, "its output Y holds the reverse direction in input time order; Keras's go_backwards returns it "
                     "reversed and Keras has no layer that reverses time")
    group = _layer(ctx, (op,))
    D = _dirs(op)
    if slot == 0:
        pieces = [group.seq(ctx, op, d) for d in range(D)]
        shape = _shape(ctx, ctx.g.op_outputs(op)[0])
        if isinstance(shape[1], str):
            ctx.fail(op, "layout=1 with a dynamic number of time steps (Keras's Reshape needs it static)")
        target = (int(shape[1]), D, int(shape[3]))
    else:
        pieces = [group.state(ctx, op, slot - 1, d) for d in range(D)]
        target = (D, int(_shape(ctx, ctx.g.op_outputs(op)[slot])[2]))
    x = pieces[0] if D == 1 else ctx.keras.layers.Concatenate(axis=-1, name=ctx.layer_name(op, "_dirs"))(pieces)
    return ctx.keras.layers.Reshape(target, name=ctx.layer_name(op, f"_out{slot}"))(x)


recurrent.any_output = True


# --- building the Keras layer ----------------------------------------------------------------------

def _pairs(ctx, fwd, rev):
    """Whether a forward node and a reverse node form one Bidirectional (same cell, sizes, activations,
    input)."""
    same = (_kind(fwd) == _kind(rev) and _attr(fwd, "hidden_size") == _attr(rev, "hidden_size")
            and int(_attr(fwd, "layout", 0)) == int(_attr(rev, "layout", 0)) == 0
            and int(_attr(fwd, "linear_before_reset", 0)) == int(_attr(rev, "linear_before_reset", 0))
            and bool(ctx.input(fwd, 3)) == bool(ctx.input(rev, 3)))
    return same and _spec(ctx, fwd)["acts"][0] == _spec(ctx, rev)["acts"][0] and \
        _input(ctx, fwd) is _input(ctx, rev)


def _partner(ctx, rev):
    """A forward node over the same input as the reverse node ``rev`` with the same configuration."""
    for op in ctx.g.ops():
        if (_recurrent(op) and _direction(op) == "forward" and _kind(op) == _kind(rev)
                and _attr(op, "hidden_size") == _attr(rev, "hidden_size") and _pairs(ctx, op, rev)):
            return op
    return None


def _input(ctx, op):
    x = ctx.input(op, 0)
    if int(_attr(op, "layout", 0)):
        return ctx.tensor(x)
    parts = _time_parts(ctx, x)
    if parts is None:
        ctx.fail(op, f"its input X {x!r} is time-major (layout=0) but not a Transpose(1, 0, 2) of a model tensor or "
                     "another recurrent node's sequence, so it has no batch-major Keras form")
    return _assemble(ctx, op, parts)


_KERAS_ACTS = None


def _keras_activation(name, alpha, beta):
    global _KERAS_ACTS
    if _KERAS_ACTS is None:
        from ..keras.layers.rnn.cells import _ONNX_ACTIVATIONS
        _KERAS_ACTS = {}
        for k, (onnx_name, a, b) in _ONNX_ACTIVATIONS.items():
            _KERAS_ACTS.setdefault(onnx_name.lower(), []).append((k, a, b))
    for k, a, b in _KERAS_ACTS.get(name, []):
        if all(x is None or y is None or np.isclose(x, y, rtol=1e-6, atol=1e-7) for x, y in ((a, alpha), (b, beta))):
            return k
    return None


def _spec(ctx, op):
    """Validated Keras configuration and weights of one recurrent node."""
    memo = ctx.memo.setdefault("rnn_spec", {})
    if op.name in memo:
        return memo[op.name]
    from .rnn import CELLS, parse_activations
    kind, D = _kind(op), _dirs(op)
    if _attr(op, "clip") is not None:
        ctx.fail(op, f"attribute 'clip' = {_attr(op, 'clip')}: Keras's {LAYERS[kind]} does not clip its gate inputs")
    if int(_attr(op, "input_forget", 0)):
        ctx.fail(op, "attribute 'input_forget' = 1: Keras's LSTM has no coupled input and forget gates")
    if int(_attr(op, "layout", 0)) not in (0, 1):
        ctx.fail(op, f"attribute 'layout' = {_attr(op, 'layout')}")
    if kind == "LSTM" and ctx.input(op, 7):
        p = ctx.const(ctx.input(op, 7))
        if p is None or np.any(p):
            ctx.fail(op, "input 'P' (peephole weights): Keras's LSTM has no peephole connections")
    layout = int(_attr(op, "layout", 0))
    if ctx.input(op, 4):
        lens, T = ctx.const(ctx.input(op, 4)), _shape(ctx, ctx.input(op, 0))[1 if layout else 0]
        if lens is None or isinstance(T, str) or np.any(lens != T):
            ctx.fail(op, "input 'sequence_lens' (per-example lengths): Keras's recurrent layers take a mask, not "
                         "lengths; only lengths equal to the number of steps convert")
    try:
        per_dir = parse_activations(op, CELLS[kind], D)
    except (ShapeError, UnsupportedOpError) as e:  # an unknown activation name: the op's own message
        ctx.fail(op, f"attribute 'activations': {e}")
    acts = []
    for d, fns in enumerate(per_dir):
        names = [_keras_activation(*f) for f in fns]
        if None in names or (kind == "LSTM" and fns[1] != fns[2]):
            ctx.fail(op, f"attribute 'activations' = {[f[0] for f in fns]} (alpha/beta {[f[1:] for f in fns]}) in "
                         f"direction {d}: Keras's {LAYERS[kind]} takes "
                         + ("recurrent_activation f and one activation for both g and h" if kind == "LSTM" else
                            "recurrent_activation f and activation g" if kind == "GRU" else "one activation")
                         + " among tanh, sigmoid, relu, hard_sigmoid (alpha 1/6, beta 0.5), linear, softsign, "
                         "softplus, elu (alpha 1), leaky_relu (alpha 0.2)")
        acts.append(tuple(names))
    w, r = ctx.const(ctx.input(op, 1)), ctx.const(ctx.input(op, 2))
    b = ctx.const(ctx.input(op, 3)) if ctx.input(op, 3) else None
    if w is None or r is None or (ctx.input(op, 3) and b is None):
        ctx.fail(op, "inputs W, R and B must be initializers (or computed from initializers only)")
    G, order = GATES[kind], list(KERAS_GATES[kind])
    H = int(_attr(op, "hidden_size") or r.shape[-1])

    def keras_order(m):  # (G*H, ...) in ONNX gate order -> Keras gate order
        return m.reshape((G, H) + m.shape[1:])[order].reshape(m.shape)

    weights, reset_after = [], bool(int(_attr(op, "linear_before_reset", 0))) if kind == "GRU" else None
    for d in range(D):
        ws = [keras_order(w[d]).T, keras_order(r[d]).T]
        if b is not None:
            wb, rb = keras_order(b[d][:G * H]), keras_order(b[d][G * H:])
            ws.append(np.stack([wb, rb]) if reset_after else wb + rb)
        weights.append(ws)
    memo[op.name] = spec = {"kind": kind, "units": H, "acts": acts, "weights": weights, "use_bias": b is not None,
                            "reset_after": reset_after}
    return spec


def _initial(ctx, op, slot, D):
    """None (zero initial state) or the D per-direction (N, H) Keras tensors of initial_h/initial_c."""
    v = ctx.input(op, slot)
    if v is None or _zeros(ctx, v):
        return None
    layout = int(_attr(op, "layout", 0))
    pieces = _state_pieces(ctx, v, 1 if layout else 0)
    if pieces is None or len(pieces) != D:
        ctx.fail(op, f"input {('initial_h', 'initial_c')[slot - 5]!r} is neither zeros nor model tensors of shape "
                     "(N, hidden_size) stacked on the direction axis (Keras's initial_state takes (batch, units) "
                     "tensors)")
    return [ctx.tensor(p) for p in pieces]


def _state_pieces(ctx, v, axis):
    p = ctx.g.producer(v)
    if is_op(p, "Unsqueeze") and _axes(ctx, p, 3) == [axis]:
        return [ctx.input(p, 0)]
    if is_op(p, "Concat") and int(p.attrs["axis"]) % 3 == axis:
        pieces = [_state_pieces(ctx, x, axis) for x in ctx.g.op_inputs(p) if x is not None]
        return None if any(x is None for x in pieces) else sum(pieces, [])
    return None


_ZERO_PRESERVING = ("Unsqueeze", "Squeeze", "Reshape", "Slice", "Cast", "Identity", "Transpose", "Expand", "Tile",
                    "Gather", "Flatten")


def _zeros(ctx, v):
    """Whether ``v`` is all zeros whatever the model's input (a constant, or zeros shaped like it)."""
    c = ctx.const(v)
    if c is not None:
        return not np.any(c)
    p = ctx.g.producer(v)
    if is_op(p, "ConstantOfShape"):
        from .shape import tensor_attr
        return not np.any(tensor_attr(p.attrs.get("value"), np.zeros(1, np.float32)))
    if p is not None and any(is_op(p, t) for t in _ZERO_PRESERVING):
        return _zeros(ctx, ctx.input(p, 0))
    if is_op(p, "Concat"):
        return all(_zeros(ctx, x) for x in ctx.g.op_inputs(p) if x is not None)
    return False


class _Group:
    """One Keras layer (a recurrent layer, or a Bidirectional) computing one bidirectional node, one
    single-direction node, or a forward node and a reverse node over the same input; called once."""

    def __init__(self, ctx, nodes):
        self.nodes, self.bidi = nodes, len(nodes) == 2 or _dirs(nodes[0]) == 2
        specs = [_spec(ctx, n) for n in nodes]
        spec = specs[0]
        if self.bidi and len(nodes) == 1 and spec["acts"][0] != spec["acts"][1]:
            ctx.fail(nodes[0], f"attribute 'activations' differs between the directions ({spec['acts']}); graphc "
                               "builds one Bidirectional from one Keras layer config")
        used = [bool(ctx.g.consumers(o)) or o in ctx.g.outputs for n in nodes for o in ctx.g.op_outputs(n)[:1]]
        used_states = [bool(ctx.g.consumers(o)) or o in ctx.g.outputs for n in nodes for o in ctx.g.op_outputs(n)[1:]]
        self.rs = any(used)
        self.rst = self.rs or (any(used_states[1::2]) if spec["kind"] == "LSTM" else False) or self.bidi
        L = ctx.keras.layers
        kw = dict(activation=spec["acts"][0][-1], use_bias=spec["use_bias"], return_sequences=self.rs,
                  return_state=self.rst)
        if spec["kind"] != "RNN":
            kw["recurrent_activation"] = spec["acts"][0][0]
        if spec["kind"] == "GRU":
            kw["reset_after"] = spec["reset_after"]
        node = nodes[0]
        x = _input(ctx, node)
        weights = [w for s in specs for d in s["weights"] for w in d]
        cls = getattr(L, LAYERS[spec["kind"]])
        layer = cls(spec["units"], go_backwards=not self.bidi and _reverse(node, 0),
                    name=ctx.layer_name(node, "_fwd" if self.bidi else ""), **kw)
        if self.bidi:
            layer = L.Bidirectional(layer, merge_mode=None, name=ctx.layer_name(node))
        slots = (5, 6) if spec["kind"] == "LSTM" else (5,)
        init = {(n.name, s): _initial(ctx, n, s, _dirs(n)) for n in nodes for s in slots}
        states = None
        if any(i is not None for i in init.values()):
            if any(i is None for i in init.values()):
                ctx.fail(node, "one initial state is zeros and another a model tensor (Keras's initial_state takes "
                               "all of the states)")
            states = [init[n.name, s][d] for n in nodes for d in range(_dirs(n)) for s in slots]
        out = layer(x, initial_state=states) if states is not None else layer(x)
        try:
            layer.set_weights([np.asarray(w, dtype=layer.dtype) for w in weights])
        except ValueError as e:
            ctx.fail(node, f"its weights do not fit Keras layer {type(layer).__name__}: {e}")
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        n_states = 2 if spec["kind"] == "LSTM" else 1
        if self.bidi:
            self.seqs = out[:2] if self.rs else None
            finals = out[2:] if self.rst else None
            self.finals = None if finals is None else [finals[:n_states], finals[n_states:]]
        else:
            self.seqs = [out[0]] if self.rs else None
            self.finals = [out[1:]] if self.rst else [[out[0]]]

    def seq(self, ctx, op, d):
        return self.seqs[d]

    def state(self, ctx, op, which, d):
        """Final h (``which`` 0) or c (1) of direction ``d``."""
        return self.finals[d][which]


def _layer(ctx, nodes):
    """The (cached) group of ``nodes``; a node already built alone or in a pair is reused."""
    memo = ctx.memo.setdefault("rnn_groups", {})
    key = tuple(n.name for n in nodes)
    if key not in memo:
        if len(nodes) == 1 and any(nodes[0].name in k for k in memo):
            k = next(k for k in memo if nodes[0].name in k)
            return _Direction(memo[k], k.index(nodes[0].name))
        memo[key] = _Group(ctx, nodes)
    return memo[key]


class _Direction:
    """One node of a pair built as a Bidirectional: its direction ``d`` of the group."""

    def __init__(self, group, d):
        self.group, self.d, self.bidi = group, d, False

    def seq(self, ctx, op, d):
        if self.d == 0:
            return self.group.seq(ctx, op, 0)
        node = self.group.nodes[1]  # a reverse node's own order (go_backwards): a layer of its own
        memo = ctx.memo["rnn_groups"]
        if (node.name,) not in memo:
            memo[node.name, ] = _Group(ctx, (node,))
        return memo[node.name, ].seq(ctx, op, 0)

    def state(self, ctx, op, which, d):
        return self.group.state(ctx, op, which, self.d)


def register(table):
    """Add the recurrent converters to ``graphc.ops.to_keras.CONVERTERS``."""
    for t in RECURRENT:
        table[t] = recurrent
    table["Gather"], table["Slice"] = gather, slice_
    table["Squeeze"], table["Reshape"] = _squeeze(table["Squeeze"]), _squeeze(table["Reshape"])
    table["Transpose"] = _sequence_view(table["Transpose"])
    table["Concat"] = _sequence_view(table["Concat"])
