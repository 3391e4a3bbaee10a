"""BatchNormalization in training mode (forward against onnx.reference) and its gradients (finite
differences on compiled float64 code), plus the graphc-domain BatchNormalizationGrad kernel
against its numpy reference."""
import numpy as np
import pytest

import graphc
from graphc.errors import ShapeError, UnsupportedOpError
from graphc.ir import GraphBuilder
from graphc.ops import registry
from graphc.ops.norm import batchnorm_grad_reference
from graphc.passes.autodiff import autodiff
from harness import assert_close, build_op_graph, check_grad, check_op


def _bn_inputs(shape, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    scale, bias, mean = (rng.standard_normal(c).astype(dtype) for _ in range(3))
    var = rng.uniform(0.5, 2.0, c).astype(dtype)
    return [x, scale, bias, mean, var]


KERAS = {"epsilon": 1e-3, "momentum": 0.99}  # Keras's defaults, always explicit when lowered


# --- training-mode forward ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 37), (2, 3, 5, 7), (3, 2, 3, 4, 5), (2, 17, 1, 1)])
def test_batchnorm_training_forward(shape, dtype):
    """Y with the batch statistics and the running-statistics outputs, vs onnx.reference; the
    statistics are params/states, the batch is symbolic and the program reruns at other sizes."""
    check_op("BatchNormalization", _bn_inputs(shape, dtype), dict(KERAS, training_mode=1), n_out=3,
             param_slots=(1, 2, 3, 4), symbolic_batch=True, extra_batches=(1, 7))


def test_batchnorm_training_forward_onnx_defaults_and_y_only():
    check_op("BatchNormalization", _bn_inputs((2, 3, 4, 4), "float32"), dict(training_mode=1), n_out=3)
    check_op("BatchNormalization", _bn_inputs((2, 3, 4, 4), "float32"), dict(training_mode=1), n_out=1)


def test_batchnorm_training_matches_keras_update():
    """moving = moving * momentum + batch * (1 - momentum) with the biased batch variance (Keras 3)."""
    x, scale, bias, mean, var = _bn_inputs((8, 3, 2, 2))
    _, exe = check_op("BatchNormalization", [x, scale, bias, mean, var], dict(KERAS, training_mode=1), n_out=3)
    y, rm, rv = exe.run([x, scale, bias, mean, var])
    bm, bv = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(rm, mean * np.float32(0.99) + bm * (1 - np.float32(0.99)), rtol=1e-12)
    np.testing.assert_allclose(rv, var * np.float32(0.99) + bv * (1 - np.float32(0.99)), rtol=1e-12)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), bias, atol=1e-12)


def test_batchnorm_training_mean_is_accurate_for_large_offsets():
    """Two passes (mean, then centered squares): no cancellation when |mean| >> std."""
    x, scale, bias, mean, var = _bn_inputs((4, 2, 9, 9), "float32")
    x = (x + 1000).astype(np.float32)
    check_op("BatchNormalization", [x, scale, bias, mean, var], dict(KERAS, training_mode=1), n_out=3,
             rtol=2e-4, atol=2e-4)


# --- gradients ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (5, 3), (2, 2, 7), (2, 2, 2, 3, 2)])
def test_batchnorm_training_gradient(shape):
    """w.r.t. X, scale, B through the batch statistics (Y only in the loss)."""
    check_grad("BatchNormalization", _bn_inputs(shape), dict(KERAS, training_mode=1), n_out=3,
               out_weights=[1, 0, 0], wrt=[0, 1, 2])


def test_batchnorm_training_gradient_through_running_statistics():
    """Every output in the loss: the running statistics add their (1 - momentum) terms to dX and
    give input_mean/input_var the momentum."""
    check_grad("BatchNormalization", _bn_inputs((2, 3, 3, 3)), dict(epsilon=1e-2, momentum=0.7, training_mode=1),
               n_out=3)


def test_batchnorm_training_gradient_y_only_output():
    check_grad("BatchNormalization", _bn_inputs((3, 2, 5)), dict(training_mode=1), wrt=[0, 1, 2])


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (5, 3)])
def test_batchnorm_inference_gradient(shape):
    """Inference form (running statistics as inputs, e.g. a frozen layer): all five inputs."""
    check_grad("BatchNormalization", _bn_inputs(shape), dict(KERAS))


def test_batchnorm_gradient_ops():
    """Training mode: one BatchNormalizationGrad; without dX needed it computes only dscale and dB."""
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 3, 4, 4))
    ps = [b.param(n, "float32", (3,)) for n in ("scale", "bias")] + \
         [b.param(n, "float32", (3,), trainable=False) for n in ("mean", "var")]
    y = b.op("BatchNormalization", [x] + ps, n_out=3, training_mode=1)[0]
    loss = b.op("ReduceSum", [y], keepdims=0)
    grads = autodiff(b.g, loss, ps[:2])
    ops = [op for op in b.g.ops() if op.op_type == "BatchNormalizationGrad"]
    assert len(ops) == 1 and ops[0].domain == "graphc" and len(b.g.op_outputs(ops[0])) == 2
    assert [b.type(grads[p]) for p in ps[:2]] == [b.type(p) for p in ps[:2]]


# --- the graphc-domain kernel ---------------------------------------------------------------------

@pytest.mark.parametrize("present", ["all", "dy", "stats", "no_dx"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (4, 5), (3, 2, 37)])
def test_batchnorm_grad_kernel(shape, dtype, present):
    rng = np.random.default_rng(3)
    x, scale = _bn_inputs(shape, dtype)[:2]
    c = shape[1]
    dy = rng.standard_normal(shape).astype(dtype) if present != "stats" else None
    dm, dv = (rng.standard_normal(c).astype(dtype) if present in ("all", "stats") else None for _ in range(2))
    n_out = 2 if present == "no_dx" else 3
    b = GraphBuilder()
    names = [b.input("x", dtype, ("N",) + shape[1:]), b.input("scale", dtype, (c,))]
    names.append(None if dy is None else b.input("dy", dtype, ("N",) + shape[1:]))
    names += [None if v is None else b.input(n, dtype, (c,)) for n, v in (("dm", dm), ("dv", dv))]
    outs = b.op("BatchNormalizationGrad", names, n_out=n_out, domain="graphc", epsilon=1e-3, momentum=0.9)
    b.output(*outs)
    exe = graphc.compile(b.g)
    op = next(iter(exe.graph.ops()))
    for n in (shape[0], 1, 5):
        xn = np.resize(x, (n,) + shape[1:]).astype(dtype)
        dyn = None if dy is None else np.resize(dy, (n,) + shape[1:]).astype(dtype)
        ins = [xn, scale, dyn, dm, dv]
        got = exe.run([a for a in ins if a is not None])
        want = registry.run_reference(op, ins)
        for k in range(n_out):
            assert_close(got[k], want[k], rtol=2e-4 if dtype == "float32" else 1e-9,
                         atol=1e-4 if dtype == "float32" else 1e-9, what=f"BatchNormalizationGrad output {k}")


def test_batchnorm_grad_reference_matches_finite_differences_of_the_forward_reference():
    """The numpy gradient reference against central differences of the numpy training forward."""
    x, scale, bias, mean, var = _bn_inputs((3, 2, 4))
    rng = np.random.default_rng(5)
    ry, rm, rv = rng.standard_normal(x.shape), rng.standard_normal(2), rng.standard_normal(2)
    fwd = registry.get("BatchNormalization")
    op = build_op_graph("BatchNormalization", [x, scale, bias, mean, var], dict(KERAS, training_mode=1), n_out=3)
    bn = next(iter(op.ops()))

    def loss(xv, sv):
        y, m, v = fwd.reference(bn, xv, sv, bias, mean, var)
        return np.sum(y * ry) + np.sum(m * rm) + np.sum(v * rv)

    dscale, _, dx = batchnorm_grad_reference(x, scale, ry, rm, rv, bn.attrs["epsilon"], bn.attrs["momentum"])
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = 1e-6
        num[i] = (loss(x + e, scale) - loss(x - e, scale)) / 2e-6
    np.testing.assert_allclose(dx, num, rtol=1e-5, atol=1e-7)
    num_s = np.array([(loss(x, scale + e) - loss(x, scale - e)) / 2e-6 for e in np.eye(2) * 1e-6])
    np.testing.assert_allclose(dscale, num_s, rtol=1e-5, atol=1e-7)


# --- errors -----------------------------------------------------------------------------------------

def test_batchnorm_mode_errors():
    with pytest.raises(UnsupportedOpError, match="training_mode expected 0 or 1"):
        build_op_graph("BatchNormalization", _bn_inputs((2, 3, 4, 4)), {"training_mode": 2})
    with pytest.raises(UnsupportedOpError, match="expected 1 output in inference mode"):
        build_op_graph("BatchNormalization", _bn_inputs((2, 3, 4, 4)), {}, n_out=3)


def test_batchnorm_grad_shape_errors():
    b = GraphBuilder()
    x, s = b.input("x", "float32", (2, 3, 4)), b.input("s", "float32", (3,))
    dy = b.input("dy", "float32", (2, 3, 5))
    with pytest.raises(ShapeError, match=r"dY expected float32\[2,3,4\]"):
        b.op("BatchNormalizationGrad", [x, s, dy], n_out=3, domain="graphc")
