"""SimpleRNN, LSTM, GRU: keras.layers.RNN around the matching built-in cell (Keras 3 signatures,
defaults and configs; the weights live in the cell: ``<layer>/<cell>/kernel`` ...)."""
from __future__ import annotations

from ... import regularizers
from ...engine.input_spec import InputSpec
from .cells import GRUCell, LSTMCell, SimpleRNNCell
from .rnn import RNN

_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")


class _CellRNN(RNN):
    """Shared by SimpleRNN/LSTM/GRU: splits the arguments between the cell and the RNN."""
    cell_class = None
    cell_name = None
    config_keys = ()  # the cell's attributes in Keras's config order

    def __init__(self, units, cell_kwargs, rnn_kwargs, kwargs):
        use_cudnn = kwargs.pop("use_cudnn", "auto")
        if use_cudnn not in ("auto", True, False):
            raise ValueError("Invalid valid received for argument `use_cudnn`. Expected one of {'auto', True, False}. "
                             f"Received: use_cudnn={use_cudnn}")
        cell = self.cell_class(units, **cell_kwargs, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                               name=self.cell_name, implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, **rnn_kwargs, **kwargs)
        self.input_spec = InputSpec(ndim=3)
        self.use_cudnn = use_cudnn

    def get_config(self):
        cfg = {**super().get_config()}
        del cfg["cell"]
        cell = self.cell.get_config()
        for key in self.config_keys:
            if key == "activity_regularizer":
                cfg[key] = regularizers.serialize(self.activity_regularizer)
            else:
                cfg[key] = cell[key]
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def _forward(name):
    return property(lambda self: getattr(self.cell, name))


for _name in ("units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
              "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
              "recurrent_dropout", "reset_after", "seed"):
    setattr(_CellRNN, _name, _forward(_name))

_COMMON = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
           "bias_initializer")
_REGS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
         "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout")


class SimpleRNN(_CellRNN):
    """Fully-connected RNN where the output is fed back: ``h_t = activation(x_t W + h_{t-1} U + b)``
    (u*(f+u)+u parameters)."""
    cell_class, cell_name = SimpleRNNCell, "simple_rnn_cell"
    config_keys = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                   "bias_initializer") + _REGS

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, **kwargs):
        cell_kwargs = dict(activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                           recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                           dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed)
        rnn_kwargs = dict(return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                          stateful=stateful, unroll=unroll, activity_regularizer=activity_regularizer)
        super().__init__(units, cell_kwargs, rnn_kwargs, kwargs)


class LSTM(_CellRNN):
    """Long Short-Term Memory (Hochreiter 1997), Keras 3's LSTM: gates i, f, c, o; 4*(u*(f+u)+u)
    parameters; lowered to one ONNX LSTM op (gates reordered to i, o, f, c)."""
    cell_class, cell_name = LSTMCell, "lstm_cell"
    config_keys = _COMMON + ("unit_forget_bias",) + _REGS + ("seed",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        cell_kwargs = dict(activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                           kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                           bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                           kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                           dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed)
        rnn_kwargs = dict(return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                          stateful=stateful, unroll=unroll, activity_regularizer=activity_regularizer)
        super().__init__(units, cell_kwargs, rnn_kwargs, {**kwargs, "use_cudnn": use_cudnn})


class GRU(_CellRNN):
    """Gated Recurrent Unit (Cho 2014), Keras 3's GRU: gates z, r, h, reset_after=True by default
    (bias (2, 3u), ONNX linear_before_reset=1); 3*(u*(f+u)+2u) parameters."""
    cell_class, cell_name = GRUCell, "gru_cell"
    config_keys = _COMMON + _REGS + ("reset_after", "seed")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        cell_kwargs = dict(activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                           kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                           bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                           reset_after=reset_after, seed=seed)
        rnn_kwargs = dict(return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                          stateful=stateful, unroll=unroll, activity_regularizer=activity_regularizer)
        super().__init__(units, cell_kwargs, rnn_kwargs, {**kwargs, "use_cudnn": use_cudnn})

