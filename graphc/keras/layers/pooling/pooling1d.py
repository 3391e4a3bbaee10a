from .base_pooling import BaseGlobalPooling, BasePooling


class MaxPooling1D(BasePooling):
    """Max pooling over steps; strides default to pool_size."""
    rank, pool_mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling1D(BasePooling):
    """Average pooling over steps; with padding='same' the padded cells are not counted (as Keras)."""
    rank, pool_mode = 1, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class GlobalMaxPooling1D(BaseGlobalPooling):
    rank, pool_mode = 1, "max"


class GlobalAveragePooling1D(BaseGlobalPooling):
    rank, pool_mode = 1, "average"


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
