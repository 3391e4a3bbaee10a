"""keras.layers.RNN: runs a cell over the time axis (axis 1) of a (batch, time, features) input.

Lowering: a built-in cell (SimpleRNNCell / LSTMCell / GRUCell) becomes ONE recurrent op over the
whole sequence (``layout=0``, time-major, between Transposes): the ONNX ``RNN``/``LSTM``/``GRU`` op, or its graphc
variant ``graphc.RNN``/``graphc.LSTM``/``graphc.GRU`` when a mask or a recurrent-dropout mask is
given (see RNN_INTERFACE in the ops). The time loop and backpropagation through time run in
generated code. Anything else (a user-written cell, an activation the op lacks) runs the cell's
``call`` once per step, which needs a static number of steps.

Keras semantics kept here:
- ``go_backwards`` processes the sequence from the end and returns the outputs in processing
  order (reversed); ``return_state`` appends the final states.
- a mask (Embedding(mask_zero=True), Masking, or ``mask=``) skips steps: the state is carried
  over and the output repeats the previous one (zeros with ``zero_output_for_mask``).
- ``stateful=True`` keeps the final states in non-trainable buffers (``layer.states``, not among
  ``layer.weights``) that the compiled program updates in place: they carry over between
  batches, ``predict`` calls and ``model(x)`` calls until ``reset_states()``.
- ``dropout`` multiplies the inputs by one mask per sequence (shared over time), and
  ``recurrent_dropout`` multiplies ``h`` before the recurrent product, in training only. Keras
  draws one mask per gate when ``recurrent_dropout`` is set; graphc draws one for all gates
  (same distribution per gate, the masks are random either way).
"""
from __future__ import annotations

import numpy as np

from ....errors import ShapeError, UnsupportedOpError
from ... import ops
from ...engine import masking
from ...engine.layer import Layer, add_activity_penalty
from ...engine.trace import SymbolicValue
from ...engine.variable import Variable
from ...ops.core import emit
from ..core.time_distributed import deserialize_layer, serialize_layer
from .cells import RNNCellBase

WHOLE = 2 ** 31 - 1


class RNN(Layer):
    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, activity_regularizer=None, **kwargs):
        if isinstance(cell, (list, tuple)):  # Keras wraps a list of cells in StackedRNNCells
            from .stacked_cells import StackedRNNCells
            cell = StackedRNNCells(cell)
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell}")
        if getattr(cell, "state_size", None) is None:
            raise ValueError("The RNN cell should have a `state_size` attribute (single integer or list of integers, "
                             f"one integer per RNN state). Received: cell={cell}")
        super().__init__(**kwargs)
        from ... import regularizers
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.cell = cell
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.states = None
        sizes = cell.state_size
        self.single_state = isinstance(sizes, int)
        self.state_size = [sizes] if self.single_state else list(sizes)

    # --- building and states ---------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) < 3:
            raise ValueError(f"Layer {self.name!r} expects inputs of shape (batch, timesteps, features), received "
                             f"shape {tuple(sequences_shape)}")
        if isinstance(self.cell, Layer):
            if not self.cell.built:
                self.cell._maybe_build((sequences_shape[0],) + tuple(sequences_shape[2:]))
        if self.stateful and self.states is None:
            if sequences_shape[0] is None:
                raise ValueError("When using `stateful=True` in a RNN, the batch size must be static. Found dynamic "
                                 f"batch size: sequence.shape={tuple(sequences_shape)}")
            self.states = [Variable(np.zeros((sequences_shape[0], s), dtype=self.dtype), trainable=False,
                                    name="rnn_state", path=f"{self.name}/rnn_state_{i}")
                           for i, s in enumerate(self.state_size)]
            for v in self.states:
                v.is_buffer = True  # a graph state, but not a weight: not counted, not saved
        self.built = True

    def reset_states(self, states=None):
        """Zero the stateful buffers (or set them to ``states``)."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if self.states is None:
            return
        values = [None] * len(self.states) if states is None else \
            ([states] if not isinstance(states, (list, tuple)) else list(states))
        for var, v in zip(self.states, values):
            var.assign(np.zeros(var.shape, var.dtype) if v is None else np.asarray(v, var.dtype))

    reset_state = reset_states

    def get_initial_state(self, batch_size):
        return [np.zeros((batch_size, d), dtype=self.dtype) for d in self.state_size]

    # --- shapes and masks ------------------------------------------------------------------
    def _output_size(self):
        size = getattr(self.cell, "output_size", None)
        return self.state_size[0] if size is None else size

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, length = sequences_shape[0], sequences_shape[1]
        out = (batch, length, self._output_size()) if self.return_sequences else (batch, self._output_size())
        if self.return_state:
            return [out] + self._group([(batch, s) for s in self.state_size])
        return out

    def _group(self, states):
        """Final states as Keras returns them: flat, or nested per cell for StackedRNNCells."""
        group = getattr(self.cell, "group_states", None)
        return list(states) if group is None else group(list(states))

    def compute_mask(self, _, mask):
        from ...engine.node import flatten
        mask = flatten(mask)[0] if isinstance(mask, (list, tuple)) else mask
        out = mask if self.return_sequences else None
        return [out] + [None] * len(self.state_size) if self.return_state else out

    # --- calling ---------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=False):
        output, states = self._run(sequences, initial_state, mask, training, keras_order=True)
        output = add_activity_penalty(self, output)
        return [output] + self._group(states) if self.return_state else output

    def _run(self, sequences, initial_state, mask, training, keras_order=True):
        """(output, final states). With ``keras_order=False`` a go_backwards layer returns its
        sequence in the input's time order (what Bidirectional needs, without two flips)."""
        if self.stateful:
            batch = sequences.shape[0]
            expected = self.states[0].shape[0]
            if batch is not None and batch != expected:
                raise ShapeError(f"If an RNN is stateful, the batch size of the input sequences must be the same as "
                                 f"the batch size of the initial state. \n- Expected batch size: {expected}\n"
                                 f"- Received batch size: {batch}")
        states = self._initial_states(initial_state)
        if mask is not None:
            mask = masking.float_mask(mask, sequences.dtype)
            if mask.ndim > 2:  # Keras accepts (batch, time, 1)-like masks: a step counts when any entry does
                mask = ops.max(mask, axis=list(range(2, mask.ndim)))
        attrs = self.cell.onnx_attrs() if isinstance(self.cell, RNNCellBase) else None
        if attrs is not None and self._op_ready(mask is not None or self._recurrent_dropout_on(training), training):
            output, new_states = self._fused(sequences, states, mask, training, attrs, keras_order)
        else:
            output, new_states = self._stepwise(sequences, states, mask, training, keras_order)
        if self.stateful:
            for var, s in zip(self.states, new_states):
                var.assign(s)
        return output, new_states

    def _initial_states(self, initial_state):
        """A list of (batch, size) traced values, or None entries for zeros."""
        if initial_state is None:
            if self.stateful:
                return [ops.convert_to_tensor(v) for v in self.states]
            return [None] * len(self.state_size)
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != len(self.state_size):
            raise ValueError(f"Layer {self.name!r} has {len(self.state_size)} state(s) but was passed "
                             f"{len(states)} initial state(s)")
        out = []
        for s, size in zip(states, self.state_size):
            s = ops.convert_to_tensor(s) if not isinstance(s, SymbolicValue) else s
            if s.ndim != 2 or s.shape[-1] != size:
                raise ShapeError(f"Layer {self.name!r}: an initial state must have shape (batch, {size}), "
                                 f"received {s.shape}")
            out.append(ops.cast(s, self.dtype))
        return out

    def _recurrent_dropout_on(self, training):
        return bool(training) and 0 < getattr(self.cell, "recurrent_dropout", 0.0) < 1

    def _op_ready(self, graphc_variant, training):
        """Whether the registry has the recurrent op (and, to train, its gradient rule); otherwise the
        cell runs step by step."""
        from ....ops import registry
        op, domain = self.cell.onnx_op, "graphc" if graphc_variant else ""
        if not registry.has(op, domain):
            return False
        return not training or registry.get(op, domain).grad is not None

    def _dropout_masks(self, x, training):
        """(x with input dropout, recurrent mask (1, batch, units) or None), in training only."""
        cell = self.cell
        rate, rec_rate = getattr(cell, "dropout", 0.0), getattr(cell, "recurrent_dropout", 0.0)
        if not training or (not 0 < rate < 1 and not 0 < rec_rate < 1):
            return x, None
        tracer = x.tracer
        counter = tracer.step_counter if tracer.step_counter is not None else tracer.const(np.int64(0))
        seed = getattr(cell, "_seed", 0)
        if 0 < rate < 1:  # one mask per sequence, shared over time (Keras's cell draws it once per call)
            x = emit("RandomDropout", [x, counter], n_out=2, domain="graphc", rate=float(rate), seed=seed,
                     noise_shape=[-1, 1, -1])[0]
        rec = None
        if 0 < rec_rate < 1:
            units = self.state_size[0]
            first = emit("Slice", [x, tracer.const([0], "int64"), tracer.const([1], "int64"), tracer.const([1], "int64")])
            like = emit("Gather", [first, tracer.const(np.zeros(units, np.int64))], axis=2)  # (batch, 1, units)
            ones = emit("ExpandAs", [np.ones((1, 1, units), x.dtype), like], domain="graphc")
            rec = emit("RandomDropout", [ones, counter], n_out=2, domain="graphc", rate=float(rec_rate),
                       seed=seed + 1, noise_shape=[-1, 1, -1])[0]
        return x, rec

    def _fused(self, x, states, mask, training, attrs, keras_order):
        cell = self.cell
        x, rec = self._dropout_masks(x, training)
        W, R, B = cell.onnx_weights()
        # layout 0 (time-major), the one onnxruntime runs: the Transposes around the op cancel
        # between stacked recurrent layers (cancel_transposes)
        init = [None if s is None else ops.expand_dims(s, 0) for s in states]  # (num_directions=1, batch, units)
        inputs = [ops.transpose(x, (1, 0, 2)), W, R, B, None] + init + ([None] if cell.onnx_op == "LSTM" else [])
        graphc_variant = mask is not None or rec is not None
        extra = {}
        if graphc_variant:
            if rec is not None:
                rec = ops.transpose(rec, (1, 0, 2))  # (num_directions=1, batch, units)
            inputs += [None if mask is None else ops.transpose(mask, (1, 0)), rec]
            extra["zero_output_for_mask"] = int(self.zero_output_for_mask)
        while inputs[-1] is None:
            inputs.pop()
        n_out = 1 + len(self.state_size)
        outs = emit(cell.onnx_op, inputs, n_out=n_out, domain="graphc" if graphc_variant else "",
                    direction="reverse" if self.go_backwards else "forward", layout=0, **attrs, **extra)
        y = ops.transpose(ops.squeeze(outs[0], axis=1), (1, 0, 2))  # (time, 1, batch, units) -> (batch, time, units)
        final = [ops.squeeze(s, axis=0) for s in outs[1:]]
        if not self.return_sequences:
            return final[0], final
        if self.go_backwards and keras_order:
            y = _reverse_time(y, self.name)
        return y, final

    def _stepwise(self, x, states, mask, training, keras_order):
        """The cell's ``call`` once per step (static number of steps)."""
        steps = x.shape[1]
        if steps is None:
            raise UnsupportedOpError(
                f"Layer {self.name!r}: cell {type(self.cell).__name__} has no recurrent op form (a custom cell or an "
                "activation ONNX's RNN/LSTM/GRU lack), so it runs step by step, which needs a static number of "
                f"timesteps; received input shape {x.shape}")
        x, rec = self._dropout_masks(x, training)
        states = [s if s is not None else z for s, z in zip(states, self._zero_states(x))]
        if rec is not None:
            self.cell._recurrent_dropout_mask = ops.squeeze(rec, axis=1)
        kw = {"training": training} if getattr(self.cell, "_call_accepts", lambda n: False)("training") else {}
        # the output a masked step repeats starts as the first state (of the last cell, when stacked), as Keras
        last = getattr(self.cell, "cells", [None])[-1]
        n_last = (len(last.state_size) if isinstance(last.state_size, (list, tuple)) else 1) if last is not None else 0
        outputs, prev = [], states[len(states) - n_last if last is not None else 0]
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        try:
            for t in order:
                xt = emit("Gather", [x, x.tracer.const(np.int64(t))], axis=1)
                out, new = self.cell(xt, list(states), **kw)  # a list even for one state, as Keras
                new = list(new) if isinstance(new, (list, tuple)) else [new]
                if mask is not None:
                    m = ops.expand_dims(emit("Gather", [mask, x.tracer.const(np.int64(t))], axis=1), 1)
                    new = [_blend(m, n, s) for n, s in zip(new, states)]
                    blended = _blend(m, out, prev)  # the output carried over masked steps
                    out, prev = (ops.multiply(out, m) if self.zero_output_for_mask else blended), blended
                else:
                    prev = out
                states = new
                outputs.append(out)
        finally:
            if rec is not None:
                self.cell._recurrent_dropout_mask = None
        if not self.return_sequences:
            return outputs[-1], states
        if not keras_order and self.go_backwards:
            outputs = outputs[::-1]
        return ops.stack(outputs, axis=1), states

    def _zero_states(self, x):
        """Zero initial states for the step-by-step path: (batch, size) each."""
        return [_zeros_like_rows(x, size) for size in self.state_size]

    # --- config ----------------------------------------------------------------------------
    def _rnn_config(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}

    def get_config(self):
        return {**super().get_config(), **self._rnn_config(), "cell": serialize_layer(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = deserialize_layer(config.pop("cell"), custom_objects)
        return cls(cell, **config)


def _blend(m, new, old):
    """m * new + (1 - m) * old for a (batch, 1) 0/1 mask."""
    return ops.add(ops.multiply(m, new), ops.multiply(ops.subtract(1.0, m), old))


def _zeros_like_rows(x, size):
    """Zeros of shape (batch, size) for x of shape (batch, time, features)."""
    first = emit("Gather", [x, x.tracer.const(np.int64(0))], axis=1)
    like = emit("Gather", [first, x.tracer.const(np.zeros(size, np.int64))], axis=1)
    return emit("ExpandAs", [np.zeros((1, size), x.dtype), like], domain="graphc")


def _reverse_time(y, name):
    steps = y.shape[1]
    if steps is None:
        raise UnsupportedOpError(
            f"Layer {name!r}: go_backwards=True with return_sequences=True returns the reversed sequence, which "
            f"graphc can only build for a static number of timesteps; received shape {y.shape} (Bidirectional "
            "does not need it)")
    t = y.tracer
    return emit("Slice", [y, t.const([-1], "int64"), t.const([-WHOLE], "int64"), t.const([1], "int64"),
                          t.const([-1], "int64")])
