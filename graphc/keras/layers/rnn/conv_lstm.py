"""ConvLSTM2D: an LSTM whose input and recurrent transforms are 2-D convolutions (Keras 3's
ConvLSTM2D: kernel (kh, kw, channels, 4*filters), recurrent_kernel (kh, kw, filters, 4*filters),
bias (4*filters), gates i, f, c, o; the recurrent convolution is 'same' with stride 1).

ONNX has no convolutional recurrent op, so the cell runs once per time step (the time axis must
have a static length); each step is two Conv ops and elementwise gates, all differentiable.
"""
from __future__ import annotations

import numpy as np

from ....errors import ShapeError
from ... import activations, config, constraints, initializers, ops, regularizers
from ...engine.input_spec import InputSpec
from ...engine.layer import Layer
from ...engine.trace import SymbolicValue
from ...engine.variable import Variable
from ...ops.core import emit
from ..convolutional.base_conv import check_padding, normalize_tuple
from .cells import _cols, forget_bias_initializer, set_cell_options
from .rnn import RNN


def _conv_length(n, k, s, d, padding):
    eff = (k - 1) * d + 1
    return -(-n // s) if padding == "same" else (n - eff) // s + 1


class ConvLSTM2DCell(Layer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        r = self.rank
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, r, "kernel_size")
        self.strides = normalize_tuple(strides, r, "strides")
        self.dilation_rate = normalize_tuple(dilation_rate, r, "dilation_rate")
        self.padding = check_padding(padding)
        self.data_format = data_format or config.image_data_format()
        self.use_bias, self.unit_forget_bias = use_bias, unit_forget_bias
        set_cell_options(self, activation, recurrent_activation, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed)
        self.state_size = [self.filters, self.filters]
        self.output_size = self.filters
        self._recurrent_dropout_mask = None

    def build(self, input_shape):
        channel_axis = 1 if self.data_format == "channels_first" else -1
        spatial = tuple(input_shape[2:]) if self.data_format == "channels_first" else tuple(input_shape[1:-1])
        if None in spatial:
            raise ValueError("ConvLSTM layers only support static input shapes for the spatial dimension. "
                             f"Received invalid input shape: input_shape={tuple(input_shape)}")
        cin = input_shape[channel_axis]
        if cin is None:
            raise ValueError("The channel dimension of the inputs (last axis) should be defined. Found None. "
                             f"Full input shape received: input_shape={tuple(input_shape)}")
        self.spatial_dims, self.input_dim = spatial, cin
        f = self.filters
        self.kernel = self.add_weight(shape=self.kernel_size + (cin, 4 * f), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=self.kernel_size + (f, 4 * f), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        if self.use_bias:
            init = forget_bias_initializer(self.bias_initializer, f) if self.unit_forget_bias else self.bias_initializer
            self.bias = self.add_weight(shape=(4 * f,), name="bias", initializer=init,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None
        self.built = True

    def state_shape(self):
        """A state's shape without the batch axis."""
        out = tuple(_conv_length(n, k, s, d, self.padding) for n, k, s, d in
                    zip(self.spatial_dims, self.kernel_size, self.strides, self.dilation_rate))
        return (self.filters,) + out if self.data_format == "channels_first" else out + (self.filters,)

    def _channels(self, x, start, stop):
        if self.data_format != "channels_first":
            return _cols(x, start, stop)
        t = x.tracer
        return emit("Slice", [x, t.const([start], "int64"), t.const([stop], "int64"), t.const([1], "int64")])

    def input_conv(self, x):
        y = ops.conv(x, self.kernel, strides=self.strides, padding=self.padding, data_format=self.data_format,
                     dilation_rate=self.dilation_rate)
        if self.use_bias:
            shape = (1, 4 * self.filters) + (1,) * self.rank if self.data_format == "channels_first" else \
                (1,) * (self.rank + 1) + (4 * self.filters,)
            y = ops.add(y, ops.reshape(self.bias, shape))
        return y

    def call(self, inputs, states, training=False):
        h, c = states[0], states[1]
        if self._recurrent_dropout_mask is not None:
            h_in = ops.multiply(h, self._recurrent_dropout_mask)
        else:
            h_in = h
        z = ops.add(self.input_conv(inputs),
                    ops.conv(h_in, self.recurrent_kernel, strides=1, padding="same", data_format=self.data_format))
        f = self.filters
        i = self.recurrent_activation(self._channels(z, 0, f))
        fg = self.recurrent_activation(self._channels(z, f, 2 * f))
        c = ops.add(ops.multiply(fg, c), ops.multiply(i, self.activation(self._channels(z, 2 * f, 3 * f))))
        o = self.recurrent_activation(self._channels(z, 3 * f, 4 * f))
        h = ops.multiply(o, self.activation(c))
        return h, [h, c]


class ConvLSTM2D(RNN):
    """2-D convolutional LSTM over (batch, time, rows, cols, channels) inputs (channels_last) or
    (batch, time, channels, rows, cols) (channels_first)."""
    _CELL_ARGS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
                  "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                  "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer",
                  "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
                  "recurrent_dropout", "seed")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, **kwargs):
        args = dict(locals())
        cell = ConvLSTM2DCell(**{k: args[k] for k in self._CELL_ARGS}, name="conv_lstm_cell",
                              dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.input_spec = InputSpec(ndim=5)

    def build(self, sequences_shape, initial_state_shape=None):
        stateful, self.stateful = self.stateful, False  # the base would make (batch, size) buffers
        super().build(sequences_shape, initial_state_shape)
        self.stateful = stateful
        if stateful and self.states is None:
            if sequences_shape[0] is None:
                raise ValueError("When using `stateful=True` in a RNN, the batch size must be static. Found dynamic "
                                 f"batch size: sequence.shape={tuple(sequences_shape)}")
            shape = (sequences_shape[0],) + self.cell.state_shape()
            self.states = [Variable(np.zeros(shape, self.dtype), trainable=False, name="rnn_state",
                                    path=f"{self.name}/rnn_state_{i}") for i in range(2)]
            for v in self.states:
                v.is_buffer = True

    def _initial_states(self, initial_state):
        if initial_state is None:
            return [ops.convert_to_tensor(v) for v in self.states] if self.stateful else [None, None]
        states = [s if isinstance(s, SymbolicValue) else ops.convert_to_tensor(s) for s in initial_state]
        want = self.cell.state_shape()
        if len(states) != 2 or any(tuple(s.shape[1:]) != want for s in states):
            raise ShapeError(f"Layer {self.name!r}: initial_state must be 2 tensors of shape (batch,) + {want}, "
                             f"received {[tuple(s.shape) for s in states]}")
        return states

    def _zero_states(self, x):
        first = emit("Gather", [x, x.tracer.const(np.int64(0))], axis=1)
        like = self.cell.input_conv(first)  # (batch, *state shape with 4 * filters channels)
        like = self.cell._channels(like, 0, self.cell.filters)
        zeros = np.zeros((1,) * (like.ndim - 1) + (like.shape[-1],) if self.cell.data_format != "channels_first"
                         else (1, like.shape[1]) + (1,) * (like.ndim - 2), x.dtype)
        z = emit("ExpandAs", [zeros, like], domain="graphc")
        return [z, z]

    def _dropout_masks(self, x, training):
        cell = self.cell
        if not training or (not 0 < cell.dropout < 1 and not 0 < cell.recurrent_dropout < 1):
            return x, None
        tracer = x.tracer
        counter = tracer.step_counter if tracer.step_counter is not None else tracer.const(np.int64(0))
        if 0 < cell.dropout < 1:
            x = emit("RandomDropout", [x, counter], n_out=2, domain="graphc", rate=float(cell.dropout),
                     seed=cell._seed, noise_shape=[-1, 1, -1, -1, -1])[0]
        rec = None
        if 0 < cell.recurrent_dropout < 1:
            ones = ops.add(self._zero_states(x)[0], 1.0)
            rec = emit("RandomDropout", [ones, counter], n_out=2, domain="graphc", rate=float(cell.recurrent_dropout),
                       seed=cell._seed + 1)[0]
            rec = ops.expand_dims(rec, 1)  # the base squeezes axis 1 off
        return x, rec

    def _run(self, sequences, initial_state, mask, training, keras_order=True):
        states = self._initial_states(initial_state)
        if mask is not None:
            from ...engine import masking
            mask = masking.float_mask(mask, sequences.dtype)
        output, new_states = self._stepwise_conv(sequences, states, mask, training, keras_order)
        if self.stateful:
            for var, s in zip(self.states, new_states):
                var.assign(s)
        return output, new_states

    def _stepwise_conv(self, x, states, mask, training, keras_order):
        if mask is None:
            return self._stepwise(x, states, None, training, keras_order)
        # masks of (batch, time) broadcast over the state's spatial axes
        mask = ops.reshape(mask, (-1, x.shape[1]) + (1,) * self.cell.rank)  # a step's slice: (batch, 1, 1)
        return self._stepwise(x, states, mask, training, keras_order)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        self._maybe_build(sequences_shape)
        state = tuple(sequences_shape[:1]) + self.cell.state_shape()
        out = (state[0], sequences_shape[1]) + state[1:] if self.return_sequences else state
        return [out, state, state] if self.return_state else out

    def get_config(self):
        cfg = {k: v for k, v in super().get_config().items() if k != "cell"}
        cell = self.cell
        cfg.update({"filters": cell.filters, "kernel_size": cell.kernel_size, "strides": cell.strides,
                    "padding": cell.padding, "data_format": cell.data_format, "dilation_rate": cell.dilation_rate,
                    "activation": activations.serialize(cell.activation),
                    "recurrent_activation": activations.serialize(cell.recurrent_activation),
                    "use_bias": cell.use_bias, "kernel_initializer": initializers.serialize(cell.kernel_initializer),
                    "recurrent_initializer": initializers.serialize(cell.recurrent_initializer),
                    "bias_initializer": initializers.serialize(cell.bias_initializer),
                    "unit_forget_bias": cell.unit_forget_bias,
                    "kernel_regularizer": regularizers.serialize(cell.kernel_regularizer),
                    "recurrent_regularizer": regularizers.serialize(cell.recurrent_regularizer),
                    "bias_regularizer": regularizers.serialize(cell.bias_regularizer),
                    "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                    "kernel_constraint": constraints.serialize(cell.kernel_constraint),
                    "recurrent_constraint": constraints.serialize(cell.recurrent_constraint),
                    "bias_constraint": constraints.serialize(cell.bias_constraint),
                    "dropout": cell.dropout, "recurrent_dropout": cell.recurrent_dropout, "seed": cell.seed})
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


for _name in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
              "recurrent_activation", "use_bias", "unit_forget_bias", "dropout", "recurrent_dropout"):
    setattr(ConvLSTM2D, _name, property(lambda self, n=_name: getattr(self.cell, n)))
