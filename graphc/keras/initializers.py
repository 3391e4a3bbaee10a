"""``keras.initializers``: the Keras 3 weight initializers, computed with numpy.

An initializer is called as ``init(shape, dtype=None)`` and returns a ``numpy.ndarray`` of
that shape (``dtype`` defaults to ``keras.config.floatx()``). Names, arguments, defaults,
fan computation and configs follow Keras 3.

Seeding follows Keras 3 exactly in its *semantics* (values are not bit-identical to Keras):

* ``seed=<int>``: every call of the instance with the same shape returns the same values,
  and so does every other instance with the same seed.
* ``seed=None``: the instance takes an integer seed from graphc's global generator
  (``keras.utils.set_random_seed``) when it is *constructed* and then behaves as if seeded
  with it. So one instance gives the same values on every call (Keras 3 does the same and
  documents it), distinct instances give distinct values, and calling
  ``keras.utils.set_random_seed(s)`` before the model is built makes it reproducible.
* ``seed=<numpy.random.Generator>``: values are drawn from that generator, which advances
  on every call (the role ``keras.random.SeedGenerator`` plays in Keras).
"""
from __future__ import annotations

from .engine.serialization import deserialize_object, serialize_object

import inspect
import math
import numbers

import numpy as np

from . import config as _config

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "Orthogonal", "Identity", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
    "LecunUniform", "LecunNormal", "OrthogonalInitializer", "IdentityInitializer",
    "zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal", "variance_scaling",
    "orthogonal", "identity", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "compute_fans", "get", "serialize", "deserialize",
]

# stddev of a unit normal truncated to [-2, 2]; VarianceScaling divides by it (as Keras does)
_TRUNCATED_STDDEV_FACTOR = 0.87962566103423978


def _standardize_shape(shape, where):
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"{where}: expected `shape` to be a tuple of non-negative integers, received {shape!r}") from None
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0:
            raise ValueError(f"{where}: expected `shape` to be a tuple of non-negative integers (all dimensions "
                             f"known), received shape={shape!r}")
        out.append(int(d))
    return tuple(out)


def _standardize_dtype(dtype, where, floating=False):
    if dtype is None:
        dtype = _config.floatx()
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"{where}: unknown dtype {dtype!r}") from None
    if floating and dt.kind != "f":
        raise ValueError(f"{where}: can only produce floating-point values; received dtype={dt.name!r}. "
                         f"Use a float dtype such as 'float32'.")
    return dt


def compute_fans(shape, input_axes=None, output_axes=None):
    """``(fan_in, fan_out)`` of a weight shape, as Keras computes them.

    Rank 0: (1, 1); rank 1: (n, n); rank 2: (shape[0], shape[1]); higher ranks are
    convolution kernels ``(*spatial, in, out)``: receptive field = prod(spatial),
    fan_in = in * rf, fan_out = out * rf. Explicit ``input_axes``/``output_axes`` override.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        fan_in = int(np.prod([shape[a] for a in input_axes], dtype=np.int64))
        fan_out = int(np.prod([shape[a] for a in output_axes], dtype=np.int64))
        return fan_in, fan_out
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive_field = 1
    for d in shape[:-2]:
        receptive_field *= int(d)
    return int(shape[-2]) * receptive_field, int(shape[-1]) * receptive_field


class Initializer:
    """Base class of every initializer: ``__call__(shape, dtype=None) -> numpy.ndarray``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# --------------------------------------------------------------------------- constants

class Constant(Initializer):
    """Fill with ``value`` (a scalar, or an array broadcastable to the shape)."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        where = type(self).__name__
        shape = _standardize_shape(shape, where)
        dt = _standardize_dtype(dtype, where)
        value = np.asarray(self.value)
        try:
            return np.array(np.broadcast_to(value.astype(dt), shape))
        except ValueError:
            raise ValueError(f"{where}: value of shape {value.shape} cannot fill a tensor of shape {shape}") from None

    def get_config(self):
        value = self.value
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        return {"value": value}

    @classmethod
    def from_config(cls, config):
        return cls(config.get("value", 0.0))


class Zeros(Initializer):
    """Fill with 0."""

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "Zeros")
        return np.zeros(shape, dtype=_standardize_dtype(dtype, "Zeros"))


class Ones(Initializer):
    """Fill with 1."""

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "Ones")
        return np.ones(shape, dtype=_standardize_dtype(dtype, "Ones"))


class Identity(Initializer):
    """``gain * eye(rows, cols)``; only 2-D shapes."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "Identity")
        if len(shape) != 2:
            raise ValueError(f"Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        dt = _standardize_dtype(dtype, "Identity")
        return (self.gain * np.eye(shape[0], shape[1], dtype=np.float64)).astype(dt)

    def get_config(self):
        # Keras 3 returns {} here and so loses `gain` on a round trip; graphc keeps it (Keras can load it).
        return {"gain": self.gain}


# --------------------------------------------------------------------------- random

class RandomInitializer(Initializer):
    """Base of the random initializers: resolves ``seed`` (int, None, or numpy Generator)."""

    def __init__(self, seed=None):
        self._init_seed = seed
        if isinstance(seed, dict):  # a serialized SeedGenerator: {"class_name": ..., "config": {"seed": n}}
            seed = seed.get("config", {}).get("seed")
            self._init_seed = seed
        if seed is None:
            from .utils import make_default_seed
            seed = make_default_seed()
        elif isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.random.Generator)):
            raise ValueError(f"`seed` argument should be an integer, None or a numpy.random.Generator. "
                             f"Received: seed={seed!r}")
        elif isinstance(seed, numbers.Integral):
            seed = int(seed)
        self.seed = seed

    def _generator(self):
        if isinstance(self.seed, np.random.Generator):
            return self.seed
        return np.random.default_rng(self.seed % 2**64)

    def get_config(self):
        seed = self._init_seed
        if isinstance(seed, np.random.Generator):
            seed = None  # a live generator is not serializable
        elif isinstance(seed, numbers.Integral):
            seed = int(seed)
        return {"seed": seed}


def _truncated_normal(gen, shape, mean, stddev):
    """Normal(mean, stddev) with every value beyond 2 stddev redrawn (Keras/TF truncation)."""
    out = gen.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * stddev + mean


class RandomNormal(RandomInitializer):
    """Samples from N(mean, stddev)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "RandomNormal")
        dt = _standardize_dtype(dtype, "RandomNormal", floating=True)
        values = self._generator().normal(size=shape) * self.stddev + self.mean
        return np.asarray(values, dtype=dt)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Samples from N(mean, stddev) truncated to [mean - 2*stddev, mean + 2*stddev]."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "TruncatedNormal")
        dt = _standardize_dtype(dtype, "TruncatedNormal", floating=True)
        return np.asarray(_truncated_normal(self._generator(), shape, self.mean, self.stddev), dtype=dt)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Samples from U[minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "RandomUniform")
        dt = _standardize_dtype(dtype, "RandomUniform", floating=True)
        return np.asarray(self._generator().uniform(self.minval, self.maxval, size=shape), dtype=dt)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class VarianceScaling(RandomInitializer):
    """Scale-aware initializer: variance ``scale / n`` with n the fan chosen by ``mode``.

    ``truncated_normal``: truncated normal with stddev ``sqrt(scale/n) / 0.8796...`` (so the
    stddev *after* truncation is ``sqrt(scale/n)``); ``untruncated_normal``: normal with stddev
    ``sqrt(scale/n)``; ``uniform``: U[-limit, limit] with ``limit = sqrt(3*scale/n)``.
    ``distribution="normal"`` is accepted as ``"truncated_normal"``. Fans come from
    :func:`compute_fans`, with ``n`` at least 1.
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if not isinstance(scale, numbers.Real) or not scale > 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale!r}")
        if mode not in self._MODES:
            raise ValueError(f"Invalid `mode` argument: {mode!r}. Please use one of {list(self._MODES)}")
        if not isinstance(distribution, str):
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}. "
                             f"Please use one of {list(self._DISTRIBUTIONS)}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}. "
                             f"Please use one of {list(self._DISTRIBUTIONS)}")
        if (input_axes is None) != (output_axes is None):
            raise ValueError("VarianceScaling: pass both `input_axes` and `output_axes`, or neither. "
                             f"Received: input_axes={input_axes!r}, output_axes={output_axes!r}")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)
        super().__init__(seed=seed)

    def _variance(self, shape):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        if self.mode == "fan_in":
            n = fan_in
        elif self.mode == "fan_out":
            n = fan_out
        else:
            n = (fan_in + fan_out) / 2.0
        return self.scale / max(1.0, n)

    def __call__(self, shape, dtype=None):
        where = type(self).__name__
        shape = _standardize_shape(shape, where)
        dt = _standardize_dtype(dtype, where, floating=True)
        variance = self._variance(shape)
        gen = self._generator()
        if self.distribution == "truncated_normal":
            values = _truncated_normal(gen, shape, 0.0, math.sqrt(variance) / _TRUNCATED_STDDEV_FACTOR)
        elif self.distribution == "untruncated_normal":
            values = gen.normal(size=shape) * math.sqrt(variance)
        else:
            limit = math.sqrt(3.0 * variance)
            values = gen.uniform(-limit, limit, size=shape)
        return np.asarray(values, dtype=dt)

    def _axes_config(self):
        # Keras >= 3.9 also writes input_axes/output_axes (always None unless set); they are written
        # here only when set so that configs stay loadable by every Keras 3 release.
        if self.input_axes is None and self.output_axes is None:
            return {}
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, **self._axes_config()}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling with Keras's fixed parameters; its config holds only the seed."""

    _PARAMS = None  # (scale, mode, distribution)

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._PARAMS
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {**RandomInitializer.get_config(self), **self._axes_config()}


class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform: U[-limit, limit], ``limit = sqrt(6 / (fan_in + fan_out))``."""
    _PARAMS = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal: truncated normal, stddev ``sqrt(2 / (fan_in + fan_out))``."""
    _PARAMS = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """He uniform: U[-limit, limit], ``limit = sqrt(6 / fan_in)``."""
    _PARAMS = (2.0, "fan_in", "uniform")


class HeNormal(_FixedVarianceScaling):
    """He normal: truncated normal, stddev ``sqrt(2 / fan_in)``."""
    _PARAMS = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: U[-limit, limit], ``limit = sqrt(3 / fan_in)``."""
    _PARAMS = (1.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal, stddev ``sqrt(1 / fan_in)``."""
    _PARAMS = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix times ``gain``: QR of a normal matrix, signs fixed by diag(R).

    Shapes of rank > 2 are flattened to ``(prod(shape[:-1]), shape[-1])``; the result has
    orthonormal columns when that matrix is tall and orthonormal rows when it is wide.
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape, "Orthogonal")
        dt = _standardize_dtype(dtype, "Orthogonal", floating=True)
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        rows = int(np.prod(shape[:-1], dtype=np.int64))
        cols = shape[-1]
        a = self._generator().normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return np.asarray(self.gain * q.reshape(shape), dtype=dt)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


# Keras 3's lower-case names are the classes themselves (keras.initializers.glorot_uniform is GlorotUniform)
zeros = Zeros
ones = Ones
constant = Constant
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
orthogonal = Orthogonal
identity = Identity
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_uniform = HeUniform
he_normal = HeNormal
lecun_uniform = LecunUniform
lecun_normal = LecunNormal
OrthogonalInitializer = Orthogonal
IdentityInitializer = Identity

_CLASSES = (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, Orthogonal,
            Identity, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal)
_SNAKE = {Zeros: "zeros", Ones: "ones", Constant: "constant", RandomNormal: "random_normal",
          RandomUniform: "random_uniform", TruncatedNormal: "truncated_normal",
          VarianceScaling: "variance_scaling", Orthogonal: "orthogonal", Identity: "identity",
          GlorotUniform: "glorot_uniform", GlorotNormal: "glorot_normal", HeUniform: "he_uniform",
          HeNormal: "he_normal", LecunUniform: "lecun_uniform", LecunNormal: "lecun_normal"}
_BY_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({_SNAKE[cls]: cls for cls in _CLASSES})
_BY_NAME.update({"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
                 "normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros})


def _unknown(identifier):
    return ValueError(f"Could not interpret initializer identifier: {identifier!r}. "
                      f"Expected None, an Initializer, a callable(shape, dtype), a config dict or one of "
                      f"these names: {sorted(_BY_NAME)}")


def serialize(initializer):
    """The Keras 3 serialization dict: ``{"module", "class_name", "config", "registered_name"}``."""
    return serialize_object(initializer, Initializer, "keras.initializers", lambda cls: cls in _SNAKE, "initializer")


def deserialize(config, custom_objects=None):
    """Rebuild a initializer from :func:`serialize`'s dict (``module``/``registered_name`` are ignored)."""
    return deserialize_object(config, _BY_NAME, "initializer", _unknown, custom_objects)


def get(identifier):
    """Resolve ``identifier`` to an initializer, as ``keras.initializers.get`` does.

    Accepts None (returns None), a name (``"glorot_uniform"``, ``"GlorotUniform"``, ...), a
    config dict, an Initializer instance (returned as is), an Initializer class
    (instantiated), a numpy array (its values, for a matching shape) or any
    ``callable(shape, dtype=None)``.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise _unknown(identifier)
        return cls()
    if isinstance(identifier, (np.ndarray, np.generic)):
        values = np.asarray(identifier)

        def initialize_fn(shape, dtype=None):
            shape = _standardize_shape(shape, "initializer from array")
            if shape != values.shape:
                raise ValueError(f"Expected `shape` to be {values.shape} for direct tensor as initializer. "
                                 f"Received shape={shape}")
            return values.astype(_standardize_dtype(dtype, "initializer from array"))

        return initialize_fn
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise _unknown(identifier)
