"""More model builders for the every-model tests (ONNX export, save/load, AOT): the regularization
layers that are identities at inference, the image preprocessing / augmentation layers, normalization
layers and a StackedRNNCells RNN. tests/keras_models.py merges MODELS and ONNX_EXPORT_SKIP from here."""


def regularization_layers(keras):
    """SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization, Identity."""
    L = keras.layers
    return keras.Sequential([
        keras.Input((6, 4)), L.SpatialDropout1D(0.3), L.GaussianNoise(0.2), L.GaussianDropout(0.2),
        L.AlphaDropout(0.1), L.ActivityRegularization(l1=0.01), L.Identity(), L.Reshape((6, 4, 1)),
        L.SpatialDropout2D(0.2), L.Reshape((6, 2, 2, 1)), L.SpatialDropout3D(0.2), L.Flatten(), L.Dense(3)])


def image_preprocessing(keras):
    """Augmentation (identities at inference), Rescaling, Resizing, CenterCrop, Normalization with given
    statistics, RMSNormalization, then a small CNN."""
    L = keras.layers
    augment = keras.Sequential([L.RandomFlip(), L.RandomRotation(0.1), L.RandomZoom(0.1), L.RandomTranslation(0.1, 0.1),
                                L.RandomContrast(0.2), L.RandomBrightness(0.1)])
    return keras.Sequential([
        keras.Input((10, 12, 3)), augment, L.Rescaling(1.0 / 255, offset=-0.5), L.Resizing(8, 9),
        L.CenterCrop(6, 6), L.Normalization(mean=[0.1, 0.0, -0.1], variance=[1.0, 2.0, 0.5]), L.RMSNormalization(),
        L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(2)])


def stacked_cells(keras):
    """keras.layers.RNN over a list of cells (StackedRNNCells)."""
    L = keras.layers
    return keras.Sequential([keras.Input((4, 3)), L.RNN([L.LSTMCell(3), L.GRUCell(2)]), L.Dense(2)])


MODELS = {
    "regularization_layers": (regularization_layers, (6, 4)),
    "image_preprocessing": (image_preprocessing, (10, 12, 3)),
    "stacked_cells": (stacked_cells, (4, 3)),
}

ONNX_EXPORT_SKIP = {
    "stacked_cells": "StackedRNNCells runs its cells step by step; the zero initial states use graphc.ExpandAs",
}

