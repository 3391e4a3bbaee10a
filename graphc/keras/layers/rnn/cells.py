"""SimpleRNNCell, LSTMCell, GRUCell: Keras 3's weights, defaults and configs.

A cell owns ``kernel`` (input_dim, gates*units), ``recurrent_kernel`` (units, gates*units) and
``bias`` in Keras's gate order. Inside ``keras.layers.RNN`` (and SimpleRNN/LSTM/GRU) a built-in
cell lowers the whole sequence to ONE ONNX ``RNN``/``LSTM``/``GRU`` op (``onnx_op``): the op's
W/R/B are built from the Keras variables with graph ops (Gather for the gate order, Transpose,
Concat), so gradients flow back to the Keras variables. ``call`` is the one-step formula in
``keras.ops``; the RNN layer uses it, step by step, only where the op cannot express the cell (an
activation ONNX's recurrent ops do not have, a user-written cell).
"""
from __future__ import annotations

import numpy as np

from ... import activations, constraints, initializers, ops, regularizers
from ...engine.layer import Layer
from ...ops.core import emit

# Keras activation -> (ONNX recurrent activation, alpha, beta); None where the op has no such function
_ONNX_ACTIVATIONS = {
    "tanh": ("Tanh", None, None), "sigmoid": ("Sigmoid", None, None), "relu": ("Relu", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5), "linear": ("Affine", 1.0, 0.0),
    "softsign": ("Softsign", None, None), "softplus": ("Softplus", None, None), "elu": ("Elu", 1.0, None),
    "leaky_relu": ("LeakyRelu", 0.2, None),
}


def onnx_activations(fns):
    """ONNX ``activations`` / ``activation_alpha`` / ``activation_beta`` attributes for Keras activation
    functions, or None when one of them has no ONNX counterpart. alpha/beta list only the functions
    that take them, in order (onnxruntime's reading of the spec)."""
    names, alphas, betas = [], [], []
    for fn in fns:
        try:
            key = activations.serialize(fn)
        except ValueError:
            return None
        if key not in _ONNX_ACTIVATIONS or activations.get(key) is not fn:
            return None
        name, alpha, beta = _ONNX_ACTIVATIONS[key]
        names.append(name)
        if alpha is not None:
            alphas.append(float(alpha))
        if beta is not None:
            betas.append(float(beta))
    attrs = {"activations": names}
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs


def _cols(x, start, stop):
    """x[..., start:stop] (a static slice of the last axis)."""
    t = x.tracer
    return emit("Slice", [x, t.const([start], "int64"), t.const([stop], "int64"), t.const([-1], "int64")])


def _gather(x, index, axis):
    return emit("Gather", [x, x.tracer.const(np.asarray(index, dtype=np.int64))], axis=axis)


def set_cell_options(cell, activation, recurrent_activation, kernel_initializer, recurrent_initializer,
                     bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                     recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed):
    """The options every recurrent cell (SimpleRNN/LSTM/GRU and ConvLSTM cells) shares, resolved as Keras
    does: activations, initializers, regularizers and constraints by name, dropouts clipped to [0, 1],
    and the dropout seed (a fresh one from graphc's generator when ``seed`` is None)."""
    cell.activation = activations.get(activation)
    cell.recurrent_activation = activations.get(recurrent_activation)
    cell.kernel_initializer = initializers.get(kernel_initializer)
    cell.recurrent_initializer = initializers.get(recurrent_initializer)
    cell.bias_initializer = initializers.get(bias_initializer)
    cell.kernel_regularizer = regularizers.get(kernel_regularizer)
    cell.recurrent_regularizer = regularizers.get(recurrent_regularizer)
    cell.bias_regularizer = regularizers.get(bias_regularizer)
    cell.kernel_constraint = constraints.get(kernel_constraint)
    cell.recurrent_constraint = constraints.get(recurrent_constraint)
    cell.bias_constraint = constraints.get(bias_constraint)
    cell.dropout = min(1.0, max(0.0, float(dropout)))
    cell.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
    cell.seed = seed
    from ... import utils
    cell._seed = int(seed) if seed is not None else utils.make_default_seed()


def forget_bias_initializer(base, units):
    """Keras's ``unit_forget_bias``: the LSTM bias (gates i, f, c, o) from ``base``, with ones for f."""
    def bias_init(shape, dtype=None):
        return np.concatenate([np.asarray(base((units,), dtype=dtype)), np.ones((units,), dtype=dtype),
                               np.asarray(base((2 * units,), dtype=dtype))])
    return bias_init


class RNNCellBase(Layer):
    """Weights and config shared by the three cells; ``gates`` blocks of ``units`` columns."""
    gates = 1
    onnx_op = "RNN"
    _has_recurrent_activation = True

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        self.implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a positive integer, "
                             f"got {units}.")
        self.units = units
        self.use_bias = use_bias
        set_cell_options(self, activation, recurrent_activation, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed)
        self.state_size = units
        self.output_size = units
        self._recurrent_dropout_mask = None  # set by the RNN layer around step-by-step calls

    # --- weights ---------------------------------------------------------------------------
    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Layer {self.name!r}: the last dimension of the inputs must be defined, "
                             f"received input shape {tuple(input_shape)}")
        n = self.gates * self.units
        self.kernel = self.add_weight(shape=(input_dim, n), name="kernel", initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, n), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight(shape=self._bias_shape(), name="bias", initializer=self._bias_initializer(),
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None
        self.built = True

    # --- the ONNX op ---------------------------------------------------------------------------
    def _gate_order(self):
        """Column permutation from Keras's gate order to ONNX's (identity unless overridden)."""
        return None

    def _to_onnx(self, w):
        """(rows, gates*units) Keras matrix -> ONNX (1, gates*units, rows)."""
        w = ops.convert_to_tensor(w)
        perm = self._gate_order()
        if perm is not None:
            w = _gather(w, perm, axis=1)
        return ops.expand_dims(ops.transpose(w, (1, 0)), 0)

    def _onnx_bias(self):
        """ONNX B (1, 2*gates*units): [Wb, Rb]; Keras has one input bias unless overridden."""
        b = ops.convert_to_tensor(self.bias)
        perm = self._gate_order()
        if perm is not None:
            b = _gather(b, perm, axis=0)
        zeros = np.zeros((self.gates * self.units,), dtype=self.bias.dtype)
        return ops.expand_dims(ops.concatenate([b, zeros], axis=0), 0)

    def onnx_attrs(self):
        """The op's attributes, or None when the cell's activations have no ONNX form."""
        fns = [self.recurrent_activation, self.activation, self.activation][:self._n_activations()]
        acts = onnx_activations(fns)
        return None if acts is None else {"hidden_size": self.units, **acts}

    def _n_activations(self):
        return 1

    def onnx_weights(self):
        """(W, R, B or None) as traced values."""
        return (self._to_onnx(self.kernel), self._to_onnx(self.recurrent_kernel),
                self._onnx_bias() if self.use_bias else None)

    # --- one step (keras.ops) --------------------------------------------------------------
    def _recurrent_input(self, h):
        m = self._recurrent_dropout_mask
        return h if m is None else ops.multiply(h, m)

    def get_initial_state(self, batch_size=None):
        return [np.zeros((batch_size, d), dtype=self.dtype) for d in np.atleast_1d(self.state_size)]

    def get_config(self):
        cfg = {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation)}
        if self._has_recurrent_activation:
            cfg["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        cfg.update({
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed})
        return cfg


class SimpleRNNCell(RNNCellBase):
    """``h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)`` (ONNX RNN)."""
    _has_recurrent_activation = False

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation="sigmoid", use_bias=use_bias,
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, **kwargs)

    def onnx_attrs(self):
        acts = onnx_activations([self.activation])
        return None if acts is None else {"hidden_size": self.units, **acts}

    def call(self, inputs, states, training=False):
        h = states[0] if isinstance(states, (list, tuple)) else states
        y = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(self._recurrent_input(h), self.recurrent_kernel))
        if self.use_bias:
            y = ops.add(y, self.bias)
        y = self.activation(y)
        return y, [y]


class LSTMCell(RNNCellBase):
    """Keras gates i, f, c, o (ONNX LSTM's are i, o, f, c); ``unit_forget_bias`` starts the forget
    gate's bias at 1."""
    gates = 4
    onnx_op = "LSTM"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, **kwargs)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def _bias_initializer(self):
        return forget_bias_initializer(self.bias_initializer, self.units) if self.unit_forget_bias \
            else self.bias_initializer

    def _gate_order(self):
        u = self.units
        return np.concatenate([np.arange(0, u), np.arange(3 * u, 4 * u), np.arange(u, 2 * u), np.arange(2 * u, 3 * u)])

    def _n_activations(self):
        return 3

    def onnx_attrs(self):
        attrs = super().onnx_attrs()
        return None if attrs is None else {**attrs, "input_forget": 0}

    def call(self, inputs, states, training=False):
        h, c = states[0], states[1]
        u = self.units
        z = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(self._recurrent_input(h), self.recurrent_kernel))
        if self.use_bias:
            z = ops.add(z, self.bias)
        i, f = self.recurrent_activation(_cols(z, 0, u)), self.recurrent_activation(_cols(z, u, 2 * u))
        c = ops.add(ops.multiply(f, c), ops.multiply(i, self.activation(_cols(z, 2 * u, 3 * u))))
        o = self.recurrent_activation(_cols(z, 3 * u, 4 * u))
        h = ops.multiply(o, self.activation(c))
        return h, [h, c]

    def get_config(self):
        cfg = super().get_config()
        out = {}
        for k, v in cfg.items():  # Keras's key order: unit_forget_bias after use_bias
            out[k] = v
            if k == "use_bias":
                out["unit_forget_bias"] = self.unit_forget_bias
        return out


class GRUCell(RNNCellBase):
    """Keras gates z, r, h (as ONNX GRU). ``reset_after=True`` (Keras 3's default, ONNX
    linear_before_reset=1) has a bias of shape (2, 3*units): input and recurrent biases."""
    gates = 3
    onnx_op = "GRU"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, **kwargs)
        self.reset_after = reset_after

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _onnx_bias(self):
        if not self.reset_after:
            return super()._onnx_bias()
        return ops.reshape(self.bias, (1, 6 * self.units))

    def _n_activations(self):
        return 2

    def onnx_attrs(self):
        attrs = super().onnx_attrs()
        return None if attrs is None else {**attrs, "linear_before_reset": int(bool(self.reset_after))}

    def call(self, inputs, states, training=False):
        h = states[0] if isinstance(states, (list, tuple)) else states
        u = self.units
        x = ops.matmul(inputs, self.kernel)
        hr = self._recurrent_input(h)
        if self.use_bias:
            in_bias = _gather(ops.convert_to_tensor(self.bias), 0, axis=0) if self.reset_after else self.bias
            x = ops.add(x, in_bias)
        if self.reset_after:
            inner = ops.matmul(hr, self.recurrent_kernel)
            if self.use_bias:
                inner = ops.add(inner, _gather(ops.convert_to_tensor(self.bias), 1, axis=0))
        else:
            inner = ops.matmul(hr, _cols(ops.convert_to_tensor(self.recurrent_kernel), 0, 2 * u))
        z = self.recurrent_activation(ops.add(_cols(x, 0, u), _cols(inner, 0, u)))
        r = self.recurrent_activation(ops.add(_cols(x, u, 2 * u), _cols(inner, u, 2 * u)))
        if self.reset_after:
            rh = ops.multiply(r, _cols(inner, 2 * u, 3 * u))
        else:
            rh = ops.matmul(ops.multiply(r, hr), _cols(ops.convert_to_tensor(self.recurrent_kernel), 2 * u, 3 * u))
        hh = self.activation(ops.add(_cols(x, 2 * u, 3 * u), rh))
        h = ops.add(ops.multiply(z, h), ops.multiply(ops.subtract(1.0, z), hh))
        return h, [h]

    def get_config(self):
        cfg = super().get_config()
        seed = cfg.pop("seed")
        return {**cfg, "reset_after": self.reset_after, "seed": seed}
