"""Sign (used by Keras relu's threshold: Relu(Sign(x - t)) is the 0/1 indicator of x > t): kernel
vs onnx.reference and numpy, and its zero gradient vs float64 finite differences."""
import numpy as np

from harness import check_grad, check_op


def test_sign_forward_matches_onnx_reference():
    x = np.array([[-2.5, -1e-30, 0.0, -0.0, 1e-30, 0.5, 3.0, np.inf, -np.inf]], dtype=np.float32)
    (got,), _ = check_op("Sign", [x])
    np.testing.assert_array_equal(got, [[-1, -1, 0, 0, 1, 1, 1, 1, -1]])
    assert np.isnan(check_op("Sign", [np.array([np.nan], np.float32)])[0][0][0])
    rng = np.random.default_rng(0)
    check_op("Sign", [rng.standard_normal((5, 7))], symbolic_batch=True, extra_batches=(1, 9))


def test_sign_gradient_is_zero_by_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (3, 5))
    x[np.abs(x) < 0.05] += 0.2  # away from the jump
    (g,) = check_grad("Sign", [x])
    np.testing.assert_array_equal(g, np.zeros_like(x))
