"""keras.regularizers and keras.constraints: Keras 3 formulas against hand-computed numpy, names, configs."""
import math

import numpy as np
import pytest

from graphc.keras import config, constraints, regularizers

EPS = 1e-7  # keras.config.epsilon()
W = np.array([[1.0, -2.0, 0.5], [-3.0, 0.0, 4.0]], dtype=np.float32)


# --------------------------------------------------------------------------- regularizer formulas

def test_l1_l2_formulas():
    assert regularizers.L1()(W) == pytest.approx(0.01 * 10.5)
    assert regularizers.L1(0.3)(W) == pytest.approx(0.3 * 10.5)
    assert regularizers.L2()(W) == pytest.approx(0.01 * 30.25)
    assert regularizers.L2(l2=0.5)(W) == pytest.approx(0.5 * 30.25)
    assert regularizers.L1L2(l1=0.1, l2=0.2)(W) == pytest.approx(0.1 * 10.5 + 0.2 * 30.25)
    assert regularizers.L1L2()(W) == 0.0
    assert regularizers.L1L2(l2=0.1)(W) == pytest.approx(0.1 * 30.25)  # l1 stays 0
    assert isinstance(regularizers.L1()(W), float)
    assert regularizers.L2(1.0)([[1, 2], [3, 4]]) == pytest.approx(30.0)  # lists / ints are fine
    assert regularizers.Regularizer()(W) == 0.0


def test_regularizer_computes_in_the_weight_dtype():
    x = np.full((1000,), 0.1, np.float32)
    expected32 = float(np.float32(0.01) * np.sum(np.abs(x)))
    assert regularizers.L1()(x) == expected32
    assert regularizers.L1()(np.full((1000,), 0.1)) == pytest.approx(1.0, rel=1e-12)


def test_orthogonal_regularizer():
    x = np.array([[2.0, 0.0], [3.0, 3.0], [0.0, -1.0]])
    rows = x / np.linalg.norm(x, axis=1, keepdims=True)
    p = rows @ rows.T
    off = np.abs(p - np.diag(np.diag(p))).sum()
    assert regularizers.OrthogonalRegularizer(factor=0.5)(x) == pytest.approx(0.5 * 0.5 * off / 3)
    cols = x / np.linalg.norm(x, axis=0, keepdims=True)
    q = cols.T @ cols
    assert regularizers.OrthogonalRegularizer(0.2, mode="columns")(x) == pytest.approx(0.2 * 0.5 * 2 * q[0, 1] / 1)
    assert regularizers.OrthogonalRegularizer(1.0)(np.eye(4)) == pytest.approx(0.0)
    assert regularizers.OrthogonalRegularizer(1.0)(np.zeros((3, 3))) == 0.0  # zero rows: no nan
    r = regularizers.OrthogonalRegularizer()
    assert (r.factor, r.mode) == (0.01, "rows")
    with pytest.raises(ValueError, match="rank 2"):
        r(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.1"])
def test_regularizer_factor_validation(bad):
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L1(bad)
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L1L2(l2=bad)


def test_regularizer_none_means_default():
    assert regularizers.L1(None).l1 == 0.01 and regularizers.L2(None).l2 == 0.01
    assert regularizers.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


# --------------------------------------------------------------------------- regularizer names and configs

def test_regularizer_aliases_are_the_classes():
    assert regularizers.l1 is regularizers.L1
    assert regularizers.l2 is regularizers.L2
    assert regularizers.l1_l2 is regularizers.L1L2
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer


@pytest.mark.parametrize("name,cls_name,config", [
    ("l1", "L1", {"l1": 0.01}), ("L1", "L1", {"l1": 0.01}), ("l2", "L2", {"l2": 0.01}), ("L2", "L2", {"l2": 0.01}),
    ("L1L2", "L1L2", {"l1": 0.0, "l2": 0.0}), ("l1l2", "L1L2", {"l1": 0.0, "l2": 0.0}),
    ("l1_l2", "L1L2", {"l1": 0.01, "l2": 0.01}),
    ("orthogonal_regularizer", "OrthogonalRegularizer", {"factor": 0.01, "mode": "rows"}),
    ("OrthogonalRegularizer", "OrthogonalRegularizer", {"factor": 0.01, "mode": "rows"}),
])
def test_regularizer_get_by_name(name, cls_name, config):
    r = regularizers.get(name)
    assert type(r) is getattr(regularizers, cls_name)
    assert r.get_config() == config


def test_regularizer_get_other_forms():
    assert regularizers.get(None) is None
    r = regularizers.L2(0.3)
    assert regularizers.get(r) is r
    assert type(regularizers.get(regularizers.L1)) is regularizers.L1

    def fn(x):
        return 0.5 * float(np.sum(x))
    assert regularizers.get(fn) is fn
    for d in ({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}},
              {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2},
               "registered_name": None}):
        got = regularizers.get(d)
        assert type(got) is regularizers.L1L2 and got.get_config() == {"l1": 0.1, "l2": 0.2}
    with pytest.raises(ValueError, match="l3") as err:
        regularizers.get("l3")
    assert "l1_l2" in str(err.value) and "L2" in str(err.value)
    with pytest.raises(ValueError, match="Foo"):
        regularizers.get({"class_name": "Foo", "config": {}})
    with pytest.raises(ValueError):
        regularizers.get(0.01)


@pytest.mark.parametrize("reg,config", [
    (regularizers.L1(0.2), {"l1": 0.2}), (regularizers.L2(0.3), {"l2": 0.3}),
    (regularizers.L1L2(0.1, 0.4), {"l1": 0.1, "l2": 0.4}),
    (regularizers.OrthogonalRegularizer(0.5, "columns"), {"factor": 0.5, "mode": "columns"}),
])
def test_regularizer_config_round_trip(reg, config):
    assert reg.get_config() == config
    cls = type(reg)
    assert cls.from_config(config).get_config() == config
    ser = regularizers.serialize(reg)
    assert ser == {"module": "keras.regularizers", "class_name": cls.__name__, "config": config,
                   "registered_name": None}
    back = regularizers.deserialize(ser)
    assert type(back) is cls and back.get_config() == config
    assert back(W[:, :2]) == pytest.approx(reg(W[:, :2]))


def test_regularizer_base_get_config_is_abstract():
    with pytest.raises(NotImplementedError):
        regularizers.Regularizer().get_config()


# --------------------------------------------------------------------------- constraint formulas

def test_max_norm():
    w = np.array([[3.0, 0.3], [4.0, 0.4]], np.float32)  # column norms 5 and 0.5
    out = constraints.MaxNorm()(w)  # max_value 2, axis 0
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0], w[:, 0] * 2 / (EPS + 5), rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], w[:, 1] * 0.5 / (EPS + 0.5), rtol=1e-6)
    out = constraints.MaxNorm(max_value=1.0, axis=1)(w)  # row norms sqrt(9.09), sqrt(16.16)
    norms = np.sqrt((w.astype(np.float64) ** 2).sum(1, keepdims=True))
    np.testing.assert_allclose(out, w * 1.0 / (EPS + norms), rtol=1e-6)


def test_max_norm_conv_kernel_axes():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3, 4, 5)).astype(np.float32)
    out = constraints.MaxNorm(max_value=1.5, axis=[0, 1, 2])(w)
    norms = np.sqrt((w.astype(np.float64) ** 2).sum(axis=(0, 1, 2)))
    new_norms = np.sqrt((out.astype(np.float64) ** 2).sum(axis=(0, 1, 2)))
    np.testing.assert_allclose(new_norms, np.minimum(norms, 1.5) * norms / (norms + EPS), rtol=1e-5)
    assert out.shape == w.shape


def test_non_neg():
    np.testing.assert_array_equal(constraints.NonNeg()(W), np.maximum(W, 0))
    assert constraints.NonNeg()(W).dtype == np.float32
    assert constraints.NonNeg().get_config() == {}


def test_unit_norm():
    w = np.array([[3.0, 1.0], [4.0, 0.0]])
    np.testing.assert_allclose(constraints.UnitNorm()(w), [[3 / (5 + EPS), 1 / (1 + EPS)], [4 / (5 + EPS), 0.0]])
    np.testing.assert_allclose(constraints.UnitNorm(axis=1)(w),
                               w / (EPS + np.sqrt((w**2).sum(1, keepdims=True))))
    np.testing.assert_array_equal(constraints.UnitNorm()(np.zeros((2, 2))), np.zeros((2, 2)))  # eps: no nan


def test_min_max_norm():
    w = np.array([[0.3, 3.0, 0.6], [0.4, 4.0, 0.8]])  # column norms 0.5, 5, 1
    out = constraints.MinMaxNorm(min_value=0.8, max_value=2.0, rate=1.0)(w)
    desired = np.array([0.8, 2.0, 1.0])
    np.testing.assert_allclose(out, w * desired / (EPS + np.array([0.5, 5.0, 1.0])))
    out = constraints.MinMaxNorm(min_value=0.8, max_value=2.0, rate=0.25)(w)
    desired = 0.25 * np.array([0.8, 2.0, 1.0]) + 0.75 * np.array([0.5, 5.0, 1.0])
    np.testing.assert_allclose(out, w * desired / (EPS + np.array([0.5, 5.0, 1.0])))
    c = constraints.MinMaxNorm()
    assert (c.min_value, c.max_value, c.rate, c.axis) == (0.0, 1.0, 1.0, 0)


def test_constraints_follow_epsilon():
    try:
        config.set_epsilon(0.5)
        np.testing.assert_allclose(constraints.UnitNorm()(np.array([[3.0], [4.0]])), [[3 / 5.5], [4 / 5.5]])
    finally:
        config.set_epsilon(EPS)


def test_constraint_on_int_weights_and_base():
    out = constraints.MaxNorm(1.0)(np.array([[3], [4]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6], [0.8]], rtol=1e-6)
    assert constraints.Constraint()(W) is W


# --------------------------------------------------------------------------- constraint names and configs

def test_constraint_aliases_are_the_classes():
    assert constraints.max_norm is constraints.MaxNorm
    assert constraints.non_neg is constraints.NonNeg
    assert constraints.unit_norm is constraints.UnitNorm
    assert constraints.min_max_norm is constraints.MinMaxNorm


@pytest.mark.parametrize("name,cls_name,config", [
    ("max_norm", "MaxNorm", {"max_value": 2, "axis": 0}), ("MaxNorm", "MaxNorm", {"max_value": 2, "axis": 0}),
    ("non_neg", "NonNeg", {}), ("NonNeg", "NonNeg", {}),
    ("unit_norm", "UnitNorm", {"axis": 0}), ("UnitNorm", "UnitNorm", {"axis": 0}),
    ("min_max_norm", "MinMaxNorm", {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
    ("MinMaxNorm", "MinMaxNorm", {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
])
def test_constraint_get_by_name(name, cls_name, config):
    c = constraints.get(name)
    assert type(c) is getattr(constraints, cls_name)
    assert c.get_config() == config
    ser = constraints.serialize(c)
    assert ser == {"module": "keras.constraints", "class_name": cls_name, "config": config, "registered_name": None}
    back = constraints.get(ser)
    assert type(back) is type(c) and back.get_config() == config
    assert type(c).from_config(config).get_config() == config


def test_constraint_get_other_forms():
    assert constraints.get(None) is None
    c = constraints.MaxNorm(3, axis=[0, 1, 2])
    assert constraints.get(c) is c
    assert type(constraints.get(constraints.NonNeg)) is constraints.NonNeg

    def fn(w):
        return np.clip(w, -1, 1)
    assert constraints.get(fn) is fn
    got = constraints.get({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": [0, 1, 2]}})
    assert got.get_config() == {"max_value": 3, "axis": [0, 1, 2]}
    with pytest.raises(ValueError, match="maxnorm") as err:
        constraints.get("maxnorm")
    assert "max_norm" in str(err.value)
    with pytest.raises(ValueError, match="Foo"):
        constraints.get({"class_name": "Foo", "config": {}})
    with pytest.raises(ValueError):
        constraints.get(2)


def test_math_sanity():
    # hand values used above
    assert float(np.abs(W).sum()) == 10.5 and float((W.astype(np.float64) ** 2).sum()) == 30.25
    assert math.isclose(float(np.linalg.norm([3.0, 4.0])), 5.0)
