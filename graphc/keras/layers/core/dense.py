from __future__ import annotations

from ... import activations, constraints, initializers, ops, regularizers
from ...engine.input_spec import InputSpec
from ...engine.layer import Layer, add_activity_penalty


class Dense(Layer):
    """Just your regular densely-connected layer: ``activation(inputs @ kernel + bias)``.

    The kernel has shape (input_dim, units), as in Keras. On rank > 2 inputs it applies to
    the last axis.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        if quantization_config is not None:
            raise NotImplementedError(f"Dense layer {self.name!r}: quantization_config is not supported by graphc")
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError("Received an invalid value for `units`, expected a positive integer. "
                             f"Received: units={units}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Layer {self.name!r}: the last dimension of the inputs to Dense must be defined. "
                             f"Received input shape {tuple(input_shape)}")
        self.kernel = self.add_weight(shape=(in_dim, self.units), initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias",
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint) \
            if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})
        self.built = True

    def call(self, inputs):
        x = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return add_activity_penalty(self, self.activation(x))

    def get_config(self):
        cfg = {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
               "use_bias": self.use_bias,
               "kernel_initializer": initializers.serialize(self.kernel_initializer),
               "bias_initializer": initializers.serialize(self.bias_initializer),
               "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
               "bias_regularizer": regularizers.serialize(self.bias_regularizer),
               "kernel_constraint": constraints.serialize(self.kernel_constraint),
               "bias_constraint": constraints.serialize(self.bias_constraint), "quantization_config": None}
        if self.activity_regularizer is not None:  # Keras 3's base config lists it only when set
            cfg["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return cfg
