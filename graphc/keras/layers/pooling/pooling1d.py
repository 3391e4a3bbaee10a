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
    """Mean over steps; with a mask (Embedding(mask_zero=True), Masking) only unmasked steps count,
    sum(x * mask) / sum(mask) as in Keras (a sample with every step masked gives NaN there too)."""
    rank, pool_mode = 1, "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        from ... import ops
        from ...engine.masking import float_mask
        steps = 1 if self.data_format == "channels_last" else 2
        m = ops.expand_dims(float_mask(mask, inputs.dtype), 2 if steps == 1 else 1)
        total = ops.sum(ops.multiply(inputs, m), axis=steps, keepdims=self.keepdims)
        return ops.divide(total, ops.sum(m, axis=steps, keepdims=self.keepdims))

    def compute_mask(self, inputs, mask=None):
        return None


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
