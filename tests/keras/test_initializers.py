"""keras.initializers: distributions, fans, orthogonality, seeding semantics, get/serialize.

Expected values are Keras 3's documented formulas and defaults (checked against Keras 3.15's
source), not Keras itself: statistics are compared with tolerances of several standard errors.
"""
import math

import numpy as np
import pytest

from graphc.keras import config, initializers, utils

TRUNC = 0.87962566103423978  # stddev of a unit normal truncated to [-2, 2]
SHAPE = (400, 300)           # fan_in 400, fan_out 300, fan_avg 350; 120000 samples

ALL_CLASSES = ["Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
               "Orthogonal", "Identity", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
               "LecunNormal"]
SNAKE = {"Zeros": "zeros", "Ones": "ones", "Constant": "constant", "RandomNormal": "random_normal",
         "RandomUniform": "random_uniform", "TruncatedNormal": "truncated_normal",
         "VarianceScaling": "variance_scaling", "Orthogonal": "orthogonal", "Identity": "identity",
         "GlorotUniform": "glorot_uniform", "GlorotNormal": "glorot_normal", "HeUniform": "he_uniform",
         "HeNormal": "he_normal", "LecunUniform": "lecun_uniform", "LecunNormal": "lecun_normal"}
# Keras's fixed VarianceScaling parameters
FIXED = {"GlorotUniform": (1.0, "fan_avg", "uniform"), "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
         "HeUniform": (2.0, "fan_in", "uniform"), "HeNormal": (2.0, "fan_in", "truncated_normal"),
         "LecunUniform": (1.0, "fan_in", "uniform"), "LecunNormal": (1.0, "fan_in", "truncated_normal")}
# Keras 3 get_config keys (input_axes/output_axes only appear when set)
CONFIG_KEYS = {"Zeros": set(), "Ones": set(), "Constant": {"value"}, "RandomNormal": {"seed", "mean", "stddev"},
               "RandomUniform": {"seed", "minval", "maxval"}, "TruncatedNormal": {"seed", "mean", "stddev"},
               "VarianceScaling": {"seed", "scale", "mode", "distribution"}, "Orthogonal": {"seed", "gain"},
               "Identity": {"gain"}, **{name: {"seed"} for name in FIXED}}


def n_of(mode, fan_in, fan_out):
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def check_truncated(x, stddev_before, mean=0.0):
    """Values of N(mean, stddev_before) truncated at 2 stddev_before."""
    assert np.all(np.abs(x - mean) <= 2 * stddev_before * (1 + 1e-6))
    assert abs(x.mean() - mean) < 5 * stddev_before / math.sqrt(x.size) + 1e-7
    assert x.std() == pytest.approx(stddev_before * TRUNC, rel=0.03)


def check_uniform(x, lo, hi):
    assert x.min() >= lo and x.max() <= hi
    assert x.min() < lo + 0.01 * (hi - lo) and x.max() > hi - 0.01 * (hi - lo)
    assert x.mean() == pytest.approx((lo + hi) / 2, abs=5 * (hi - lo) / math.sqrt(12 * x.size))
    assert x.std() == pytest.approx((hi - lo) / math.sqrt(12), rel=0.03)


# --------------------------------------------------------------------------- distributions

def test_random_normal_defaults_and_distribution():
    init = initializers.RandomNormal()
    assert (init.mean, init.stddev, init.get_config()["seed"]) == (0.0, 0.05, None)
    x = initializers.RandomNormal(mean=1.0, stddev=2.0, seed=1)(SHAPE)
    assert x.shape == SHAPE and x.dtype == np.float32
    assert x.mean() == pytest.approx(1.0, abs=5 * 2 / math.sqrt(x.size))
    assert x.std() == pytest.approx(2.0, rel=0.02)
    assert np.mean(np.abs(x - 1.0) > 4.0) == pytest.approx(0.0455, abs=0.005)  # not truncated


def test_random_uniform_defaults_and_distribution():
    init = initializers.RandomUniform()
    assert (init.minval, init.maxval) == (-0.05, 0.05)
    check_uniform(init(SHAPE), -0.05, 0.05)
    check_uniform(initializers.RandomUniform(minval=2.0, maxval=5.0, seed=3)(SHAPE), 2.0, 5.0)


def test_truncated_normal_bounds_and_std():
    init = initializers.TruncatedNormal()
    assert (init.mean, init.stddev) == (0.0, 0.05)
    check_truncated(init(SHAPE), 0.05)
    x = initializers.TruncatedNormal(mean=-3.0, stddev=0.5, seed=2)(SHAPE)
    check_truncated(x, 0.5, mean=-3.0)
    assert np.abs(x + 3.0).max() > 0.99 * 1.0  # the tails reach the 2-stddev bound


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling(mode, distribution):
    scale = 3.0
    x = initializers.VarianceScaling(scale=scale, mode=mode, distribution=distribution, seed=4)(SHAPE)
    std = math.sqrt(scale / n_of(mode, 400, 300))
    if distribution == "truncated_normal":
        check_truncated(x, std / TRUNC)  # the stddev after truncation is sqrt(scale / n)
        assert x.std() == pytest.approx(std, rel=0.03)
    elif distribution == "untruncated_normal":
        assert x.std() == pytest.approx(std, rel=0.02)
        assert np.mean(np.abs(x) > 2 * std) == pytest.approx(0.0455, abs=0.005)
    else:
        limit = math.sqrt(3 * scale / n_of(mode, 400, 300))
        check_uniform(x, -limit, limit)


def test_variance_scaling_defaults_and_validation():
    init = initializers.VarianceScaling()
    assert (init.scale, init.mode, init.distribution) == (1.0, "fan_in", "truncated_normal")
    assert initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    assert initializers.VarianceScaling(distribution="Uniform").distribution == "uniform"
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_sideways")
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="cauchy")


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_variance_scaling_parameters(name):
    cls = getattr(initializers, name)
    init = cls(seed=5)
    assert isinstance(init, initializers.VarianceScaling)
    assert (init.scale, init.mode, init.distribution) == FIXED[name]
    scale, mode, distribution = FIXED[name]
    x = init(SHAPE)
    if distribution == "uniform":
        limit = math.sqrt(3 * scale / n_of(mode, 400, 300))
        check_uniform(x, -limit, limit)
    else:
        check_truncated(x, math.sqrt(scale / n_of(mode, 400, 300)) / TRUNC)


# --------------------------------------------------------------------------- fans

def test_compute_fans():
    assert initializers.compute_fans(()) == (1, 1)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans((5, 9)) == (5, 9)
    assert initializers.compute_fans((3, 3, 16, 32)) == (144, 288)
    assert initializers.compute_fans((5, 8, 4)) == (40, 20)          # Conv1D kernel
    assert initializers.compute_fans((2, 3, 3, 4, 6)) == (72, 108)   # Conv3D kernel
    assert initializers.compute_fans((4, 5, 6), input_axes=[0, 1], output_axes=[2]) == (20, 6)


def test_conv_kernel_fans_in_initializers():
    shape = (3, 3, 16, 32)  # fan_in 144, fan_out 288
    x = initializers.HeNormal(seed=0)(shape)
    check_truncated(x, math.sqrt(2 / 144) / TRUNC)
    x = initializers.GlorotUniform(seed=0)(shape)
    check_uniform(x, -math.sqrt(6 / (144 + 288)), math.sqrt(6 / (144 + 288)))
    x = initializers.VarianceScaling(mode="fan_out", distribution="uniform", seed=0)(shape)
    check_uniform(x, -math.sqrt(3 / 288), math.sqrt(3 / 288))


def test_rank0_and_rank1_shapes():
    x = initializers.GlorotUniform(seed=0)(())  # n = 1: limit sqrt(3)
    assert x.shape == () and abs(float(x)) <= math.sqrt(3)
    x = initializers.LecunUniform(seed=0)((30000,))  # fan_in = fan_out = 30000
    check_uniform(x, -math.sqrt(3 / 30000), math.sqrt(3 / 30000))
    assert initializers.HeNormal(seed=0)((0, 4)).shape == (0, 4)  # n floored at 1, empty result


def test_input_output_axes():
    init = initializers.VarianceScaling(distribution="uniform", input_axes=[0], output_axes=[1, 2], seed=0)
    x = init((300, 20, 20))  # fan_in 300 (default would be 20*300)
    check_uniform(x, -0.1, 0.1)
    assert init.get_config()["input_axes"] == [0] and init.get_config()["output_axes"] == [1, 2]
    with pytest.raises(ValueError, match="input_axes"):
        initializers.VarianceScaling(input_axes=[0])


# --------------------------------------------------------------------------- orthogonal / identity / constants

@pytest.mark.parametrize("shape", [(50, 50), (60, 20), (20, 60), (3, 3, 16, 32), (1, 1, 64, 16), (2, 2, 2, 32)])
def test_orthogonal(shape):
    w = initializers.Orthogonal(seed=1)(shape, dtype="float64")
    assert w.shape == shape
    m = w.reshape(-1, shape[-1])
    rows, cols = m.shape
    gram = m.T @ m if rows >= cols else m @ m.T
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-10)


def test_orthogonal_gain_dtype_and_rank():
    w = initializers.Orthogonal(gain=2.5, seed=0)((40, 40))
    assert w.dtype == np.float32
    np.testing.assert_allclose(w.T @ w, 2.5**2 * np.eye(40), atol=1e-4)
    assert initializers.Orthogonal().gain == 1.0
    with pytest.raises(ValueError, match="at least two-dimensional"):
        initializers.Orthogonal()((5,))


def test_orthogonal_is_not_biased_by_qr_signs():
    # sign correction makes Q Haar-distributed: the diagonal has mean 0, not the positive bias of raw QR
    diag = np.concatenate([np.diag(initializers.Orthogonal(seed=s)((8, 8), dtype="float64")) for s in range(300)])
    assert abs(diag.mean()) < 0.08


def test_identity():
    np.testing.assert_array_equal(initializers.Identity()((3, 3)), np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal(initializers.Identity(gain=2.0)((2, 3)), 2 * np.eye(2, 3))
    assert initializers.Identity()((2, 2)).dtype == np.float32
    with pytest.raises(ValueError, match="2D"):
        initializers.Identity()((3, 3, 3))


def test_constants_and_dtypes():
    assert initializers.Constant().value == 0.0
    x = initializers.Constant(3.5)((2, 3))
    assert x.dtype == np.float32 and np.all(x == 3.5)
    x = initializers.Constant(2)((2, 2), dtype="int32")
    assert x.dtype == np.int32 and np.all(x == 2)
    np.testing.assert_array_equal(initializers.Constant([1.0, 2.0])((3, 2)), [[1, 2]] * 3)
    assert initializers.Zeros()((4,)).dtype == np.float32 and not initializers.Zeros()((4,)).any()
    assert initializers.Ones()((2, 2), dtype="float64").dtype == np.float64
    assert initializers.Ones()(5).shape == (5,)
    assert initializers.RandomNormal(seed=0)((3,), dtype=np.float64).dtype == np.float64


def test_floatx_is_the_default_dtype():
    try:
        config.set_floatx("float64")
        assert initializers.GlorotUniform(seed=0)((3, 3)).dtype == np.float64
        assert initializers.Zeros()((3,)).dtype == np.float64
    finally:
        config.set_floatx("float32")


def test_bad_shape_and_dtype():
    with pytest.raises(ValueError, match="shape"):
        initializers.Zeros()((None, 3))
    with pytest.raises(ValueError, match="shape"):
        initializers.RandomNormal()((-1, 3))
    with pytest.raises(ValueError, match="float"):
        initializers.RandomNormal()((3,), dtype="int32")


# --------------------------------------------------------------------------- seeding (Keras 3 semantics)

@pytest.mark.parametrize("name", [n for n in ALL_CLASSES if "Random" in n or n in FIXED or n in
                                  ("TruncatedNormal", "VarianceScaling", "Orthogonal")])
def test_seeded_instance_is_deterministic(name):
    cls = getattr(initializers, name)
    a = cls(seed=42)
    first = a((6, 5))
    np.testing.assert_array_equal(first, a((6, 5)))          # same instance, called again
    np.testing.assert_array_equal(first, cls(seed=42)((6, 5)))  # another instance, same seed
    assert not np.array_equal(first, cls(seed=43)((6, 5)))


def test_unseeded_instance_repeats_but_instances_differ():
    # Keras 3: an unseeded initializer draws its seed once, at construction
    init = initializers.GlorotUniform()
    np.testing.assert_array_equal(init((5, 5)), init((5, 5)))
    assert not np.array_equal(initializers.GlorotUniform()((5, 5)), initializers.GlorotUniform()((5, 5)))
    assert init.get_config()["seed"] is None


def test_set_random_seed_makes_unseeded_initializers_reproducible():
    def build():
        return [initializers.get(n)((4, 3)) for n in ("glorot_uniform", "he_normal", "orthogonal", "random_normal")]
    utils.set_random_seed(1234)
    a = build()
    utils.set_random_seed(1234)
    b = build()
    utils.set_random_seed(4321)
    c = build()
    for x, y, z in zip(a, b, c):
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)


def test_generator_seed_advances():
    init = initializers.RandomUniform(seed=np.random.default_rng(0))
    assert not np.array_equal(init((4,)), init((4,)))
    assert init.get_config()["seed"] is None
    again = initializers.RandomUniform(seed=np.random.default_rng(0))
    np.testing.assert_array_equal(initializers.RandomUniform(seed=np.random.default_rng(0))((4,)), again((4,)))


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        initializers.RandomNormal(seed="abc")
    assert initializers.RandomNormal(seed=np.int64(3)).get_config()["seed"] == 3


# --------------------------------------------------------------------------- names, get, serialization

def test_lower_case_aliases_are_the_classes():
    for cls_name, snake in SNAKE.items():
        assert getattr(initializers, snake) is getattr(initializers, cls_name)
    assert initializers.OrthogonalInitializer is initializers.Orthogonal
    assert initializers.IdentityInitializer is initializers.Identity
    for cls_name in ALL_CLASSES:
        assert issubclass(getattr(initializers, cls_name), initializers.Initializer)


@pytest.mark.parametrize("cls_name", ALL_CLASSES)
def test_get_by_names(cls_name):
    cls = getattr(initializers, cls_name)
    assert type(initializers.get(cls_name)) is cls
    assert type(initializers.get(SNAKE[cls_name])) is cls
    assert type(initializers.get({"class_name": cls_name, "config": {}})) is cls
    assert type(initializers.get({"class_name": SNAKE[cls_name], "config": {}})) is cls
    assert type(initializers.get(cls)) is cls


@pytest.mark.parametrize("alias,cls_name", [("normal", "RandomNormal"), ("uniform", "RandomUniform"),
                                            ("one", "Ones"), ("zero", "Zeros"), ("IdentityInitializer", "Identity"),
                                            ("OrthogonalInitializer", "Orthogonal")])
def test_get_keras_aliases(alias, cls_name):
    assert type(initializers.get(alias)) is getattr(initializers, cls_name)


def test_get_other_forms():
    assert initializers.get(None) is None
    inst = initializers.HeNormal(seed=1)
    assert initializers.get(inst) is inst

    def fn(shape, dtype=None):
        return np.full(shape, 7.0, dtype=dtype or "float32")
    assert initializers.get(fn) is fn
    full = {"module": "keras.initializers", "class_name": "RandomNormal",
            "config": {"seed": 9, "mean": 1.0, "stddev": 2.0}, "registered_name": None}
    got = initializers.get(full)
    assert isinstance(got, initializers.RandomNormal) and (got.mean, got.stddev) == (1.0, 2.0)
    np.testing.assert_array_equal(got((3,)), initializers.RandomNormal(1.0, 2.0, seed=9)((3,)))
    assert initializers.get({"class_name": "Constant", "config": {"value": 4.0}})((2,)).tolist() == [4.0, 4.0]
    arr = np.arange(6.0).reshape(2, 3)
    from_array = initializers.get(arr)
    np.testing.assert_array_equal(from_array((2, 3)), arr)
    with pytest.raises(ValueError, match="shape"):
        from_array((3, 2))


def test_get_unknown_names_raise_with_the_valid_names():
    with pytest.raises(ValueError, match="glorot_unifrom") as err:
        initializers.get("glorot_unifrom")
    assert "glorot_uniform" in str(err.value) and "HeNormal" in str(err.value)
    with pytest.raises(ValueError, match="Foo"):
        initializers.get({"class_name": "Foo", "config": {}})
    with pytest.raises(ValueError):
        initializers.get(3)
    with pytest.raises(ValueError, match="stdev"):
        initializers.get({"class_name": "RandomNormal", "config": {"stdev": 1.0}})


@pytest.mark.parametrize("cls_name", ALL_CLASSES)
def test_config_keys_and_round_trip(cls_name):
    cls = getattr(initializers, cls_name)
    init = cls()
    cfg = init.get_config()
    assert set(cfg) == CONFIG_KEYS[cls_name]
    clone = cls.from_config(cfg)
    assert type(clone) is cls and clone.get_config() == cfg
    ser = initializers.serialize(init)
    assert ser == {"module": "keras.initializers", "class_name": cls_name, "config": cfg, "registered_name": None}
    back = initializers.deserialize(ser)
    assert type(back) is cls and back.get_config() == cfg


def test_config_values():
    assert initializers.RandomNormal(seed=3).get_config() == {"seed": 3, "mean": 0.0, "stddev": 0.05}
    assert initializers.RandomUniform().get_config() == {"seed": None, "minval": -0.05, "maxval": 0.05}
    assert initializers.VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform", seed=1).get_config() == {
        "seed": 1, "scale": 2.0, "mode": "fan_avg", "distribution": "uniform"}
    assert initializers.GlorotUniform(seed=7).get_config() == {"seed": 7}
    assert initializers.Orthogonal(gain=0.5).get_config() == {"seed": None, "gain": 0.5}
    assert initializers.Constant(np.float32(2.0)).get_config() == {"value": 2.0}
    seeded = initializers.HeUniform(seed=11)
    np.testing.assert_array_equal(seeded.clone()((4, 4)), seeded((4, 4)))
