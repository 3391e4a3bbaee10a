import numpy as np
import pytest

from harness import check_op

UNARY = {
    "Relu": {}, "LeakyRelu": {"alpha": 0.3}, "Elu": {"alpha": 1.0}, "Selu": {},
    "Sigmoid": {}, "HardSigmoid": {"alpha": 1 / 6, "beta": 0.5}, "Tanh": {}, "Softplus": {},
    "Softsign": {}, "Exp": {}, "Neg": {}, "Abs": {}, "Identity": {},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op_type", sorted(UNARY))
@pytest.mark.parametrize("shape", [(1,), (3, 7), (13, 31), (2, 3, 5, 7)])
def test_unary(op_type, shape, dtype):
    rng = np.random.default_rng(hash((op_type, shape)) % 2**32)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    check_op(op_type, [x], UNARY[op_type])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op_type", ["Exp", "Tanh", "Sigmoid", "Softplus", "Elu", "Log", "Sqrt"])
def test_transcendental_accuracy_over_wide_range(op_type, dtype):
    """The polynomial exp/log/tanh hold ~1 ulp over the whole float range, incl. extremes."""
    if op_type in ("Log", "Sqrt"):
        x = np.concatenate([np.geomspace(1e-30, 1e30, 997), [0.0, np.inf, 1.0, 2.0, 0.5]]).astype(dtype)
    else:
        x = np.concatenate([np.linspace(-90, 90, 1001), [0.0, -1e-7, 1e-7, 1e-3, -1e-3, 88.7, -87.3,
                                                          np.inf, -np.inf]]).astype(dtype)
    check_op(op_type, [x], {}, rtol=2e-6 if dtype == "float32" else 1e-13)


def test_nan_propagates():
    x = np.array([np.nan, 1.0, -1.0], np.float32)
    for op in ("Exp", "Tanh", "Sigmoid", "Log", "Relu"):
        out, _ = check_op(op, [x], {})
        assert np.isnan(out[0][0])


@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("shapes", [((3, 7), (3, 7)), ((13, 31), (31,)), ((1,), (7, 1)),
                                    ((2, 3, 5), (3, 1)), ((2, 1, 5), (1, 3, 1)), ((), (4,))])
def test_binary_broadcast(op_type, shapes):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shapes[0]).astype(np.float32)
    b = (rng.standard_normal(shapes[1]) + (3 if op_type == "Div" else 0)).astype(np.float32)
    check_op(op_type, [a, b], {})


@pytest.mark.parametrize("op_type", ["Sum", "Max", "Min", "Mean"])
def test_variadic(op_type):
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (1, 4)]]
    check_op(op_type, xs, {})


def test_clip_optional_bounds():
    x = np.linspace(-3, 3, 13).astype(np.float32)
    check_op("Clip", [x, np.float32(-1), np.float32(2)], {}, const_slots=(1, 2))
    check_op("Clip", [x, None, np.float32(0.5)], {}, const_slots=(2,))


def test_symbolic_batch_serves_every_batch_size():
    x = np.random.default_rng(3).standard_normal((5, 3)).astype(np.float32)
    check_op("Tanh", [x], {}, symbolic_batch=True, extra_batches=(1, 7, 256))
