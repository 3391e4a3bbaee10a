from .base_pooling import BaseGlobalPooling, BasePooling


class MaxPooling2D(BasePooling):
    """Max pooling over (height, width); strides default to pool_size."""
    rank, pool_mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(BasePooling):
    """Average pooling; with padding='same' the padded cells are not counted (as TF/Keras)."""
    rank, pool_mode = 2, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):  # required, as Keras 3
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class GlobalMaxPooling2D(BaseGlobalPooling):
    rank, pool_mode = 2, "max"


class GlobalAveragePooling2D(BaseGlobalPooling):
    rank, pool_mode = 2, "average"


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
