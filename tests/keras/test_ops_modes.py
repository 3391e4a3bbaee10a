"""keras.ops in Keras 3's three modes: eagerly on numpy arrays (compiled graphc code, cached), on
KerasTensors in the functional API (model nodes), and traced inside a layer's call (Lambda, custom
layers). numpy is the oracle; Keras's argument names and defaults are used throughout."""
import numpy as np
import pytest

from graphc import keras
from graphc.errors import UnsupportedOpError
from graphc.keras.ops.dispatch import clear_eager_cache, eager_cache_info
from harness import assert_close

ops = keras.ops
RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((3, 4)).astype(np.float32)
P = RNG.random((3, 4)).astype(np.float32) + 0.5  # positive


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softplus(x):
    return np.log1p(np.exp(x))


# (name, args, kwargs, numpy oracle)
UNARY = [
    ("negative", lambda x: -x), ("exp", np.exp), ("abs", np.abs), ("absolute", np.abs), ("square", np.square),
    ("sign", np.sign), ("relu", lambda x: np.maximum(x, 0)), ("relu6", lambda x: np.clip(x, 0, 6)),
    ("sigmoid", _sigmoid), ("tanh", np.tanh), ("softplus", _softplus), ("softsign", lambda x: x / (1 + np.abs(x))),
    ("silu", lambda x: x * _sigmoid(x)), ("swish", lambda x: x * _sigmoid(x)),
    ("log_sigmoid", lambda x: -_softplus(-x)), ("elu", lambda x: np.where(x > 0, x, np.expm1(x))),
    ("selu", lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x))),
    ("celu", lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(x))),
    ("leaky_relu", lambda x: np.where(x > 0, x, 0.2 * x)),
    ("hard_sigmoid", lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    ("hard_silu", lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
    ("gelu", lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    ("softmax", _softmax), ("log_softmax", lambda x: np.log(_softmax(x))),
]
POSITIVE = [("log", np.log), ("sqrt", np.sqrt), ("rsqrt", lambda x: 1 / np.sqrt(x)), ("reciprocal", lambda x: 1 / x)]
F32_ATTRS = {"selu", "hard_sigmoid", "hard_silu", "leaky_relu"}
BINARY = [("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply), ("divide", np.divide),
          ("true_divide", np.true_divide), ("maximum", np.maximum), ("minimum", np.minimum)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn", UNARY + POSITIVE, ids=[n for n, _ in UNARY + POSITIVE])
def test_unary_eager_matches_numpy(name, fn, dtype):
    x = (P if (name, fn) in POSITIVE else A * 3).astype(dtype)
    got = getattr(ops, name)(x)
    assert isinstance(got, np.ndarray) and got.dtype == dtype and got.shape == x.shape
    # ONNX holds FLOAT attributes (selu's alpha/gamma, hard_sigmoid's 1/6) as float32, so float64 results of
    # those ops are float32-exact in their constants only
    rtol = 1e-5 if dtype == "float32" else 1e-7 if name in F32_ATTRS else 1e-12
    assert_close(got, fn(x.astype(np.float64)).astype(dtype), rtol=rtol, atol=None if rtol != 1e-7 else 1e-7)


@pytest.mark.parametrize("name,fn", BINARY, ids=[n for n, _ in BINARY])
def test_binary_eager_with_broadcasting_and_scalars(name, fn):
    assert_close(getattr(ops, name)(A, B), fn(A, B))
    assert_close(getattr(ops, name)(A, B[:1]), fn(A, B[:1]))
    assert_close(getattr(ops, name)(x1=A, x2=2.5), fn(A, np.float32(2.5)))  # Keras's argument names
    assert_close(getattr(ops, name)(-1.5, P), fn(np.float32(-1.5), P))
    out = getattr(ops, name)(1.5, 2.0)  # Python scalars: a 0-d array
    assert out.shape == () and np.isclose(out, fn(1.5, 2.0))


def test_other_elementwise_and_activation_arguments():
    assert_close(ops.power(P, 1.5), P ** 1.5)
    assert_close(ops.clip(A, -0.5, 0.25), np.clip(A, -0.5, 0.25))
    assert_close(ops.leaky_relu(A, negative_slope=0.1), np.where(A > 0, A, 0.1 * A))
    assert_close(ops.elu(A, alpha=0.5), np.where(A > 0, A, 0.5 * np.expm1(A)))
    assert_close(ops.softmax(A, axis=0), _softmax(A, axis=0))
    assert_close(ops.log_softmax(A, axis=0), np.log(_softmax(A, axis=0)))
    assert_close(ops.celu(A, alpha=2.0), np.maximum(A, 0) + np.minimum(0, 2 * np.expm1(A / 2)))
    # exact gelu(approximate=False) is tested in test_ops_more.py


REDUCTIONS = [("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min), ("var", np.var),
              ("std", np.std)]


@pytest.mark.parametrize("name,fn", REDUCTIONS, ids=[n for n, _ in REDUCTIONS])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, fn, axis, keepdims):
    got = getattr(ops, name)(A, axis=axis, keepdims=keepdims)
    want = fn(A.astype(np.float64), axis=axis, keepdims=keepdims)
    assert np.shape(got) == np.shape(want)
    assert_close(got, want.astype(np.float32))


@pytest.mark.parametrize("axis", [None, 1, -1])
def test_logsumexp_and_initial(axis):
    want = np.log(np.sum(np.exp(A.astype(np.float64)), axis=axis))
    assert_close(ops.logsumexp(A, axis=axis), want.astype(np.float32))
    assert_close(ops.max(A, axis=1, initial=0.5), np.max(A, axis=1, initial=0.5))
    assert_close(ops.min(A, axis=0, initial=-0.1), np.min(A, axis=0, initial=-0.1))


def test_matmul_and_shape_functions():
    m = RNG.standard_normal((4, 5)).astype(np.float32)
    assert_close(ops.matmul(A, m), A @ m)
    x3 = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    assert_close(ops.matmul(x3, m), x3 @ m)
    assert_close(ops.dot(A, m), A.dot(m))
    assert_close(ops.reshape(A, (2, -1)), A.reshape(2, -1))
    assert_close(ops.reshape(A, 12), A.reshape(12))
    assert_close(ops.ravel(A), A.ravel())
    assert_close(ops.transpose(A), A.T)
    assert_close(ops.transpose(x3, axes=(1, 2, 0)), x3.transpose(1, 2, 0))
    assert_close(ops.swapaxes(x3, 0, 2), np.swapaxes(x3, 0, 2))
    assert_close(ops.moveaxis(x3, 0, -1), np.moveaxis(x3, 0, -1))
    assert_close(ops.concatenate([A, B]), np.concatenate([A, B]))  # Keras's default axis=0
    assert_close(ops.concatenate([A, B, A], axis=-1), np.concatenate([A, B, A], axis=-1))
    assert_close(ops.stack([A, B]), np.stack([A, B]))
    assert_close(ops.stack((A, B), axis=-1), np.stack([A, B], axis=-1))
    assert_close(ops.expand_dims(A, 1), np.expand_dims(A, 1))
    assert_close(ops.expand_dims(A, -1), np.expand_dims(A, -1))
    assert_close(ops.squeeze(A[:, :1]), np.squeeze(A[:, :1]))
    assert_close(ops.squeeze(A[None, :, :1], axis=0), A[:, :1])
    assert ops.cast(A, "float64").dtype == np.float64
    assert isinstance(ops.convert_to_tensor([1.0, 2.0]), np.ndarray)


def test_eager_executables_are_cached_by_op_types_and_attributes():
    clear_eager_cache()
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    ops.add(x, 1.0)
    info = eager_cache_info()
    assert info["compiles"] == 1
    for v in (2.0, 3.0, -1.0):  # scalars are inputs, not constants: no recompilation
        assert_close(ops.add(x, v), x + np.float32(v))
    ops.add(x + 1, 0.5)
    assert eager_cache_info()["compiles"] == 1 and eager_cache_info()["hits"] == 4
    ops.add(x.astype(np.float64), 1.0)  # another dtype
    ops.add(x[:2], 1.0)  # another shape
    ops.softmax(x, axis=0)
    ops.softmax(x, axis=1)  # another attribute
    assert eager_cache_info()["compiles"] == 5
    ops.softmax(x, axis=0)
    assert eager_cache_info()["compiles"] == 5


def test_integer_arrays_are_computed_as_floats():
    out = ops.add(np.arange(3), 1)
    assert out.dtype == np.float32
    assert_close(out, np.arange(1, 4, dtype=np.float32))


# --- functional API ------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


def test_ops_on_keras_tensors_build_model_nodes():
    x = keras.Input((4,))
    y = ops.add(x, 1.0)
    z = ops.concatenate([x, y], axis=-1)
    s = ops.softmax(ops.multiply(z, z), axis=-1)
    out = keras.layers.Dense(2)(s)
    model = keras.Model(x, out)
    assert y.shape == (None, 4) and z.shape == (None, 8)
    assert [l.name for l in model.layers] == ["input_layer", "dense"]  # Keras: operations are not layers
    assert [(l.name, type(l).__name__) for l in model.operations] == [
        ("input_layer", "InputLayer"), ("add", "Add"), ("concatenate", "Concatenate"), ("multiply", "Multiply"),
        ("softmax", "Softmax"), ("dense", "Dense")]
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "add (Add)" in text and "concatenate (Concatenate)" in text and "input_layer[0][0], add[0][0]" in text
    kernel, bias = model.get_weights()
    zz = np.concatenate([A, A + 1], axis=-1)
    assert_close(model.predict(A, verbose=0), _softmax(zz * zz) @ kernel + bias)


def test_keras_tensor_operators_and_op_names_count_up():
    x = keras.Input((4,))
    y = 2.0 * x + 1.0
    z = -(y - x) / 3.0 + abs(x) ** 2.0
    model = keras.Model(x, ops.add(z, ops.add(x, x)))
    names = [l.name for l in model.operations]
    assert names[:3] == ["input_layer", "multiply", "add"] and "add_2" in names and "power" in names
    assert_close(model.predict(A, verbose=0), -(2 * A + 1 - A) / 3 + np.abs(A) ** 2 + 2 * A)


def test_functional_ops_with_reductions_shapes_and_several_inputs():
    a, b = keras.Input((3, 4)), keras.Input((3, 4))
    m = ops.mean(ops.stack([a, b], axis=1), axis=1)
    t = ops.transpose(ops.matmul(m, ops.transpose(b, axes=(0, 2, 1))), axes=(0, 2, 1))
    r = ops.reshape(t, (-1, 9))
    e = ops.expand_dims(ops.max(r, axis=-1), -1)
    model = keras.Model([a, b], [r, ops.squeeze(e, axis=-1)])
    xa, xb = RNG.standard_normal((2, 5, 3, 4)).astype(np.float32)
    mm = (xa + xb) / 2
    tt = np.transpose(mm @ np.transpose(xb, (0, 2, 1)), (0, 2, 1)).reshape(5, 9)
    ra, ea = model.predict([xa, xb], verbose=0)
    assert_close(ra, tt)
    assert_close(ea, tt.max(axis=-1))


@pytest.mark.parametrize("fmt", ["h5", "keras"])
def test_models_with_op_nodes_save_and_load_in_keras_layout(tmp_path, fmt):
    """Operation entries as Keras 3 writes them (tests/data/keras/files/ops_model.* are Keras-written files
    loaded in test_model_saving.py; real Keras loads graphc's, tools/make_keras_model_files.py)."""
    from graphc.keras.saving.model_saving import serialize_model_config
    x = keras.Input((4,))
    h = ops.concatenate([ops.relu(x), ops.max(ops.reshape(x, (-1, 2, 2)), axis=1)], axis=-1)
    model = keras.Model(x, keras.layers.Dense(2)(ops.softmax(h * 2.0, axis=0) / 3.0))
    entries = {e["name"]: e for e in serialize_model_config(model)["config"]["layers"]}
    assert entries["concatenate"]["module"] == "keras.src.ops.numpy"
    assert entries["concatenate"]["config"] == {"name": "concatenate", "axis": -1}
    assert entries["relu"]["module"] == "keras.src.ops.nn" and entries["softmax"]["config"]["axis"] == 0
    assert entries["true_divide"]["inbound_nodes"][0]["args"][1] == 3.0
    model.save(str(tmp_path / f"m.{fmt}"))
    loaded = keras.models.load_model(str(tmp_path / f"m.{fmt}"))
    assert [l.name for l in loaded.operations] == [l.name for l in model.operations]
    assert_close(loaded.predict(A, verbose=0), model.predict(A, verbose=0), rtol=0)


def test_unknown_keras_operation_in_a_file_is_named():
    from graphc.errors import SerializationError
    from graphc.keras.saving.model_saving import _resolve_class
    with pytest.raises(SerializationError, match="Svd"):  # keras.ops.svd is out of graphc's scope
        _resolve_class({"module": "keras.src.ops.linalg", "class_name": "Svd"}, None, "m.keras")


# --- traced: Lambda and custom layers ------------------------------------------------------------
def test_lambda_over_ops_in_functional_and_sequential_models():
    x = keras.Input((3, 4))
    y = keras.layers.Lambda(lambda t: ops.log_softmax(ops.sum(ops.square(t), axis=1) * 0.5))(x)
    model = keras.Model(x, y)
    x3 = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    assert_close(model.predict(x3, verbose=0), np.log(_softmax((x3 ** 2).sum(axis=1) * 0.5)))
    seq = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: ops.concatenate(
        [ops.relu(t), ops.silu(t), ops.std(t, axis=-1, keepdims=True)], axis=-1))])
    want = np.concatenate([np.maximum(A, 0), A * _sigmoid(A), A.std(axis=-1, keepdims=True)], axis=-1)
    assert_close(seq.predict(A, verbose=0), want)


@pytest.mark.parametrize("name,fn", UNARY + POSITIVE, ids=[n for n, _ in UNARY + POSITIVE])
def test_each_function_as_functional_node_and_in_a_lambda(name, fn):
    x_in = P if (name, fn) in POSITIVE else A * 3
    op = getattr(ops, name)
    x = keras.Input((4,))
    node = keras.Model(x, op(x))
    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: op(t))])
    want = fn(x_in.astype(np.float64)).astype(np.float32)
    assert_close(node.predict(x_in, verbose=0), want)
    assert_close(lam.predict(x_in, verbose=0), want)
    assert [type(l).__name__ for l in node.operations][1].lower() == name.replace("_", "")


def test_custom_layer_call_is_traced():
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def call(self, x):
            return ops.tanh(ops.multiply(x, self.w)) + ops.mean(x, axis=-1, keepdims=True)

    layer = Scale()
    model = keras.Sequential([keras.Input((4,)), layer])
    w = RNG.standard_normal(4).astype(np.float32)
    layer.set_weights([w])
    assert_close(model.predict(A, verbose=0), np.tanh(A * w) + A.mean(axis=-1, keepdims=True))


@pytest.mark.parametrize("fn,what", [
    (lambda t: np.exp(t), "numpy"),
    (lambda t: t if t > 0 else -t, "Comparing"),
    (lambda t: t * 2 if t else t, "bool"),
    (lambda t: float(ops.sum(t)) * t, "float"),
    (lambda t: np.asarray(t) + 1, "numpy array"),
])
def test_untraceable_lambda_raises_naming_the_layer(fn, what):
    x = keras.Input((4,))
    with pytest.raises(UnsupportedOpError, match=f"Lambda layer 'my_lambda'.*{what}"):
        keras.layers.Lambda(fn, name="my_lambda")(x)


def test_summary_rows_of_op_nodes_match_keras():
    """tests/data/keras/ops_functional.json: real Keras 3's summary of the same builder (its "Connected to"
    cells wrap onto continuation rows, joined here)."""
    import json
    from pathlib import Path

    import keras_models
    meta = json.loads((Path(__file__).resolve().parent.parent / "data" / "keras" / "ops_functional.json")
                      .read_text())

    def rows(text_lines):
        out = []
        for line in text_lines:
            if not line.startswith("│"):
                continue
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            if not cells[0] and out:
                out[-1][-1] += " " + cells[-1]
            else:
                out.append(cells)
        return out

    lines = []
    keras_models.ops_functional(keras).summary(print_fn=lines.append)
    assert rows(lines) == rows(meta["summary"].split("\n"))


def test_fit_through_op_nodes():
    """Gradients flow through keras.ops nodes of a functional model (they lower to ordinary IR ops)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (np.tanh(x[:, :1]) + 0.5 * x[:, 1:2] ** 2).astype(np.float32)
    inp = keras.Input((4,))
    h = keras.layers.Dense(8)(inp)
    h = ops.concatenate([ops.tanh(h), ops.square(h) * 0.5, ops.softmax(h, axis=-1)], axis=-1)
    h = ops.add(h, ops.expand_dims(ops.mean(h, axis=-1), -1))
    model = keras.Model(inp, keras.layers.Dense(1)(h))
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    loss = model.fit(x, y, epochs=20, batch_size=16, verbose=0).history["loss"]
    assert loss[-1] < 0.2 * loss[0], loss


def test_untraceable_custom_layer_raises_naming_the_layer():
    class Branchy(keras.layers.Layer):
        def call(self, x):
            return x if ops.sum(x) > 0 else -x

    with pytest.raises(UnsupportedOpError, match=r"Layer 'branchy' \(Branchy\).*Comparing"):
        Branchy()(keras.Input((4,)))
