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
from .core.layer_normalization import LayerNormalization, RMSNormalization
from .core.permute import Permute
from .core.repeat_vector import RepeatVector
from .core.time_distributed import TimeDistributed
from .merging import Dot, dot

Convolution2D = Conv2D

# convolution, pooling and spatial reshaping layers (1-D/3-D, depthwise, separable, padding, cropping, upsampling)
from .convolutional.conv1d import Conv1D, Convolution1D
from .convolutional.conv3d import Conv3D, Convolution3D
from .convolutional.conv_transpose import (Conv1DTranspose, Conv2DTranspose, Conv3DTranspose, Convolution1DTranspose,
                                           Convolution2DTranspose, Convolution3DTranspose)
from .convolutional.depthwise_conv import DepthwiseConv1D, DepthwiseConv2D
from .convolutional.separable_conv import (SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
                                           SeparableConvolution2D)
from .pooling.pooling1d import (AveragePooling1D, AvgPool1D, GlobalAveragePooling1D, GlobalAvgPool1D,
                                GlobalMaxPool1D, GlobalMaxPooling1D, MaxPool1D, MaxPooling1D)
from .pooling.pooling3d import (AveragePooling3D, AvgPool3D, GlobalAveragePooling3D, GlobalAvgPool3D,
                                GlobalMaxPool3D, GlobalMaxPooling3D, MaxPool3D, MaxPooling3D)
from .reshaping.cropping import Cropping1D, Cropping2D, Cropping3D
from .reshaping.up_sampling import UpSampling1D, UpSampling2D, UpSampling3D
from .reshaping.zero_padding import ZeroPadding1D, ZeroPadding2D, ZeroPadding3D

# embeddings and masking (issue 4 item 4)
from .core.embedding import Embedding
from .core.masking import Masking

# recurrent layers (issue 4 item 3)
from .rnn import (GRU, LSTM, RNN, Bidirectional, ConvLSTM2D, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell,
                  StackedRNNCells)

# the other regularization layers (identities at inference) and Identity
from .regularization.noise import (ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise, Identity,
                                   SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)

# image preprocessing and data augmentation (the image tutorials)
from .preprocessing.augmentation import (RandomBrightness, RandomContrast, RandomFlip, RandomRotation,
                                         RandomTranslation, RandomZoom)
from .preprocessing.image import CenterCrop, Rescaling, Resizing
from .preprocessing.normalization import Normalization
from .core.unit_normalization import UnitNormalization

__all__ = [n for n in dir() if not n.startswith("_")]
