"""ONNX export: every fixture model passes onnx.checker (full check) and onnxruntime matches predict."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import keras_models
from graphc import keras
from graphc.errors import UnsupportedOpError
from harness import assert_close


@pytest.mark.parametrize("optimize", [False, True])
@pytest.mark.parametrize("name", sorted(keras_models.MODELS))
def test_export_runs_in_onnxruntime_with_the_same_outputs(name, optimize, tmp_path):
    if name in keras_models.ONNX_EXPORT_SKIP:
        pytest.skip(keras_models.ONNX_EXPORT_SKIP[name])
    if keras_models.missing_recurrent_ops(name, exporting=True):
        pytest.skip(f"needs the recurrent ops {keras_models.missing_recurrent_ops(name, exporting=True)}")
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    builder, shapes = keras_models.MODELS[name]
    model = builder(keras)
    rng = np.random.default_rng(0)
    for w in model.weights:  # non-trivial BN statistics and biases; kernels keep their Glorot init
        if "variance" in w.name:
            w.assign(rng.random(w.shape).astype(w.dtype) + 0.5)
        elif w.name in ("bias", "beta", "gamma", "moving_mean"):
            w.assign(rng.standard_normal(w.shape).astype(w.dtype) * 0.3)
    path = tmp_path / f"{name}.onnx"
    model.export(str(path), optimize=optimize)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    shapes = shapes if isinstance(shapes, list) else [shapes]
    for batch in (1, 7):
        # integer inputs are token ids (Embedding): draw them in range
        xs = [rng.integers(0, 10, (batch,) + tuple(s)).astype(t.dtype) if "int" in t.dtype else
              rng.standard_normal((batch,) + tuple(s)).astype(np.float32) for s, t in zip(shapes, model.inputs)]
        feeds = {i.name: x for i, x in zip(sess.get_inputs(), xs)}
        got = sess.run(None, feeds)
        want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        want = want if isinstance(want, list) else [want]
        for g, w in zip(got, want):
            assert_close(g, w, rtol=1e-5, what=f"{name} batch {batch}")


# Lambda runs arbitrary Python (its export is whatever the function traces to); Layer is the base class
NOT_IN_MODELS = {"Layer", "Lambda"}


def test_every_layer_class_is_exported_by_some_model():
    """The export test above covers every layer type graphc has: each class in keras.layers is used
    by a model of tests/keras_models.py (add a model there when you add a layer)."""
    import inspect
    from graphc.keras.engine.layer import Layer
    exported = {getattr(keras.layers, n) for n in dir(keras.layers)
                if inspect.isclass(getattr(keras.layers, n)) and issubclass(getattr(keras.layers, n), Layer)}
    used = set()

    def walk(layer):
        used.add(type(layer))
        for sub in list(getattr(layer, "layers", None) or []) + [getattr(layer, a, None) for a in
                                                                 ("layer", "cell", "forward_layer", "backward_layer")]:
            if sub is not None:
                walk(sub)
    for name, (builder, _) in keras_models.MODELS.items():
        if keras_models.missing_recurrent_ops(name):  # cannot be built yet (a variable number of timesteps)
            continue
        keras.backend.clear_session()
        walk(builder(keras))
    missing = sorted(c.__name__ for c in exported - used if c.__name__ not in NOT_IN_MODELS)
    assert not missing, f"layer classes no model in tests/keras_models.py uses (so export is untested): {missing}"


def test_export_is_atomic_and_refuses_graphc_domain_ops(tmp_path):
    from graphc.ir import GraphBuilder
    b = GraphBuilder()
    x = b.input("x", "float32", ("N", 3))
    b.output(b.op("ExpandAs", [x, x], domain="graphc"))
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous")
    import graphc.onnx
    with pytest.raises(UnsupportedOpError, match="graphc.ExpandAs"):
        graphc.onnx.export(b.g, str(path))
    assert path.read_bytes() == b"previous"
