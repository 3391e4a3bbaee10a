"""``keras.layers``."""
from .activations.leaky_relu import LeakyReLU
from .convolutional.conv2d import Conv2D
from .core.activation import Activation
from .core.dense import Dense
from .core.input_layer import Input, InputLayer
from .merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                      maximum, minimum, multiply, subtract)
from .normalization.batch_normalization import BatchNormalization
from .pooling.pooling2d import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, GlobalAvgPool2D,
                                GlobalMaxPool2D, GlobalMaxPooling2D, MaxPool2D, MaxPooling2D)
from .regularization.dropout import Dropout
from .reshaping.flatten import Flatten
from .reshaping.reshape import Reshape
from ..engine.layer import Layer
from ..engine.input_spec import InputSpec

Convolution2D = Conv2D

__all__ = [n for n in dir() if not n.startswith("_")]
