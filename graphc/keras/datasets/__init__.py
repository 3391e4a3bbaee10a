"""``keras.datasets``: the loaders of Keras's small datasets, reading the files Keras keeps in its cache
(``~/.keras/datasets``, or ``$KERAS_HOME/datasets``). graphc never downloads: a missing file raises an
error that names where to put it. (Offline, ``graphc.datasets.digits()`` ships with scikit-learn.)"""
from ...datasets import digits, upscale_to_mnist  # noqa: F401  (graphc's offline digits, kept here too)
from . import boston_housing, fashion_mnist, mnist

__all__ = ["mnist", "fashion_mnist", "boston_housing", "digits", "upscale_to_mnist"]
