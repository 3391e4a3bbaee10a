from .base_pooling import BaseGlobalPooling, BasePooling


class MaxPooling3D(BasePooling):
    """Max pooling over (depth, height, width); strides default to pool_size."""
    rank, pool_mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling3D(BasePooling):
    """Average pooling; with padding='same' the padded cells are not counted (as Keras)."""
    rank, pool_mode = 3, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class GlobalMaxPooling3D(BaseGlobalPooling):
    rank, pool_mode = 3, "max"


class GlobalAveragePooling3D(BaseGlobalPooling):
    rank, pool_mode = 3, "average"


MaxPool3D = MaxPooling3D
AvgPool3D = AveragePooling3D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool3D = GlobalAveragePooling3D
