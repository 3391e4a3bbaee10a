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

# activation / core / merging layers of issue 4 item 5
from .activations.elu import ELU
from .activations.prelu import PReLU
from .activations.relu import ReLU
from .activations.softmax import Softmax
from .core.lambda_layer import Lambda
from .core.layer_normalization import LayerNormalization
from .core.permute import Permute
from .core.repeat_vector import RepeatVector
from .core.time_distributed import TimeDistributed
from .merging import Dot, dot

Convolution2D = Conv2D

__all__ = [n for n in dir() if not n.startswith("_")]
